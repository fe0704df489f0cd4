//go:build !race

package ripe

const raceEnabled = false
