package keyedcache

import (
	"runtime"
	"strconv"
)

// goid returns the calling goroutine's id, parsed from its stack trace's
// header ("goroutine 42 [running]:"), or 0 if that fails. Only Close uses
// it, to tell a Close nested in its own OnEvict callbacks from a concurrent
// one; it costs about a microsecond.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return 0
	}
	b = b[len(prefix):]
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	id, err := strconv.ParseUint(string(b[:i]), 10, 64)
	if err != nil {
		return 0
	}
	return id
}
