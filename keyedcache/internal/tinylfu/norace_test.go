//go:build !race

package tinylfu

const raceEnabled = false
