//go:build !race

package keyedcache

const raceEnabled = false
