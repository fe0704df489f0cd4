module github.com/tocsin/tocsin

go 1.26
