//go:build race

package ripe

const raceEnabled = true
