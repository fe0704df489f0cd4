//go:build !linux

package iptable

// hugeSlice returns a slice of n Ts: huge pages are asked for on Linux
// only (huge_linux.go).
func hugeSlice[T any](owner *Table, n int) []T { return make([]T, n) }
