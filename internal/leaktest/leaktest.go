// Package leaktest finds goroutines that a test leaves running.
//
// It is a small standard-library replacement for go.uber.org/goleak:
// [Check] checks one test, [VerifyTestMain] a whole test binary. Both wait
// a while for goroutines to end before they call one leaked, so a goroutine
// that is merely finishing (a connection being closed, a timer firing) is
// not reported. Goroutines of the runtime, of the testing package (the
// goroutines that run tests, and those blocked in t.Run or t.Parallel) and
// the standard library's own background goroutines (os/signal, runtime/trace,
// cgo callbacks) are never reported.
//
// A goroutine is identified by its ID in the runtime's stack dump, so Check
// cannot tell the goroutines of the test that called it from those of tests
// running in parallel with it: call it only in tests that do not run in
// parallel with others that start goroutines, or use VerifyTestMain.
package leaktest

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Timeout is how long [Check] and [VerifyTestMain] wait for goroutines to
// end before they report the ones still running.
const Timeout = 5 * time.Second

// Check records the goroutines running now and registers a t.Cleanup that
// waits up to [Timeout] for every goroutine started since to end, and fails
// t, listing their stacks, if some are still running. Cleanups run last
// registered first, so call Check at the start of the test: its check then
// runs after the cleanups registered later (closing servers, caches) have
// run.
func Check(t testing.TB) {
	t.Helper()
	check(t, Timeout)
}

func check(t testing.TB, timeout time.Duration) {
	before := map[uint64]bool{}
	for _, g := range goroutines() {
		before[g.id] = true
	}
	t.Cleanup(func() {
		leaked := wait(timeout, func(g goroutine) bool { return !before[g.id] })
		if len(leaked) > 0 {
			t.Errorf("leaktest: %s", report(leaked, timeout))
		}
	})
}

// TestingM is the part of *testing.M that [VerifyTestMain] uses.
type TestingM interface {
	Run() int
}

// VerifyTestMain runs the tests of m and exits the process with their exit
// code. If they passed, it first waits up to [Timeout] for every goroutine
// other than its caller's to end; if some are still running, it prints
// their stacks to standard error and exits with status 1. Call it from
// TestMain:
//
//	func TestMain(m *testing.M) {
//		leaktest.VerifyTestMain(m)
//	}
func VerifyTestMain(m TestingM) {
	os.Exit(verifyTestMain(m, Timeout, os.Stderr))
}

// verifyTestMain runs m and returns the exit code VerifyTestMain exits with.
func verifyTestMain(m TestingM, timeout time.Duration, stderr io.Writer) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	if leaked := wait(timeout, func(goroutine) bool { return true }); len(leaked) > 0 {
		fmt.Fprintf(stderr, "leaktest: tests passed, but %s", report(leaked, timeout))
		return 1
	}
	return code
}

// wait polls the goroutines other than the caller's and those ignored,
// until none for which suspect returns true is left or timeout has passed,
// and returns those left.
func wait(timeout time.Duration, suspect func(goroutine) bool) []goroutine {
	deadline := time.Now().Add(timeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		var left []goroutine
		all := goroutines()
		self := all[0].id // runtime.Stack lists the calling goroutine first
		for _, g := range all {
			if g.id != self && !g.ignored() && suspect(g) {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(delay)
	}
}

// report describes leaked goroutines: a count, then each one's stack.
func report(leaked []goroutine, waited time.Duration) string {
	var b strings.Builder
	if len(leaked) == 1 {
		fmt.Fprintf(&b, "1 goroutine still running after %v:\n", waited)
	} else {
		fmt.Fprintf(&b, "%d goroutines still running after %v:\n", len(leaked), waited)
	}
	for _, g := range leaked {
		b.WriteString("\n" + g.stack + "\n")
	}
	return b.String()
}

// A goroutine is one entry of the runtime's stack dump.
type goroutine struct {
	id    uint64
	state string   // such as "chan receive" or "select, 2 minutes"
	funcs []string // the functions on its stack, innermost first, then "created by" ones
	stack string   // the whole entry, as the runtime printed it
}

// goroutines returns every goroutine's stack, the caller's first.
func goroutines() []goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return parse(string(buf[:n]))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// parse parses the output of runtime.Stack(buf, true). Entries it cannot
// parse are kept with ID 0, so that they are reported rather than lost.
func parse(dump string) []goroutine {
	var gs []goroutine
	for entry := range strings.SplitSeq(strings.TrimSpace(dump), "\n\n") {
		lines := strings.Split(entry, "\n")
		g := goroutine{stack: entry}
		header, ok := strings.CutPrefix(lines[0], "goroutine ")
		if ok {
			id, rest, _ := strings.Cut(header, " ")
			g.id, _ = strconv.ParseUint(id, 10, 64)
			g.state = strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]:")
		}
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "\t") || l == "" {
				continue // a file:line
			}
			l = strings.TrimPrefix(l, "created by ")
			if i := strings.Index(l, " in goroutine "); i >= 0 {
				l = l[:i]
			}
			if i := strings.LastIndex(l, "("); i > 0 && strings.HasSuffix(l, ")") {
				l = l[:i] // the arguments
			}
			g.funcs = append(g.funcs, l)
		}
		gs = append(gs, g)
	}
	return gs
}

// ignored reports whether g belongs to the runtime, the testing package or
// a standard library's background work, never to the code under test.
func (g goroutine) ignored() bool {
	if len(g.funcs) == 0 {
		return false
	}
	top := g.funcs[0]
	switch {
	case slices.Contains(g.funcs, "testing.tRunner"):
		return true // a test's own goroutine
	case testWaits[top] && strings.HasPrefix(g.state, "chan receive"):
		return true
	case strings.HasPrefix(g.state, "syscall") && slices.Contains(g.funcs, "runtime.goexit"):
		return true // cgo callbacks
	case top == "os/signal.signal_recv" || top == "os/signal.loop" || slices.Contains(g.funcs, "runtime.ensureSigM"):
		return true
	case slices.Contains(g.funcs, "runtime.ReadTrace") || slices.Contains(g.funcs, "runtime/trace.Start.func1"):
		return true
	}
	return false
}

// testWaits are the functions in which the testing package waits for tests.
var testWaits = map[string]bool{
	"testing.RunTests":        true,
	"testing.(*T).Run":        true,
	"testing.(*T).Parallel":   true,
	"testing.runFuzzing":      true,
	"testing.runFuzzTests":    true,
	"testing.(*F).Fuzz":       true,
	"testing.(*F).Fuzz.func1": true,
}
