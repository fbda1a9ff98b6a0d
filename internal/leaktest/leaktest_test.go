package leaktest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	VerifyTestMain(m)
}

// fakeT records what check does with a testing.TB.
type fakeT struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (f *fakeT) Helper() {}

func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

func (f *fakeT) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, format)
	for _, a := range args {
		if s, ok := a.(string); ok {
			f.errors = append(f.errors, s)
		}
	}
}

// finish runs the cleanups, last registered first, and returns the errors.
func (f *fakeT) finish() string {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	return strings.Join(f.errors, "\n")
}

// blockedHere blocks on stop; a leaked goroutine's stack names it.
func blockedHere(stop <-chan struct{}) { <-stop }

func TestCheckReportsLeak(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	f := &fakeT{TB: t}
	check(f, 50*time.Millisecond)
	go blockedHere(stop)
	got := f.finish()
	for _, want := range []string{"1 goroutine still running after 50ms", "leaktest.blockedHere", "[chan receive]"} {
		if !strings.Contains(got, want) {
			t.Errorf("error %q lacks %q", got, want)
		}
	}
}

func TestCheckWaitsForGoroutinesToEnd(t *testing.T) {
	f := &fakeT{TB: t}
	check(f, 10*time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(30 * time.Millisecond)
	}()
	if got := f.finish(); got != "" {
		t.Errorf("a goroutine that ends within the timeout was reported: %s", got)
	}
	select {
	case <-done:
	default:
		t.Errorf("check returned before the goroutine ended")
	}
}

func TestCheckIgnoresGoroutinesStartedBefore(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	go blockedHere(stop)
	f := &fakeT{TB: t}
	check(f, 10*time.Millisecond)
	if got := f.finish(); got != "" {
		t.Errorf("a goroutine started before check was reported: %s", got)
	}
}

func TestCheckIgnoresSubtests(t *testing.T) {
	f := &fakeT{TB: t}
	check(f, time.Second)
	t.Run("parallel", func(t *testing.T) {
		t.Run("a", func(t *testing.T) { t.Parallel(); time.Sleep(time.Millisecond) })
		t.Run("b", func(t *testing.T) { t.Parallel() })
	})
	if got := f.finish(); got != "" {
		t.Errorf("subtests were reported: %s", got)
	}
}

func TestCheckPasses(t *testing.T) {
	Check(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done() }()
	wg.Wait()
}

// fakeM is a testing.M whose Run returns code after starting leaks
// goroutines that block until stop is closed.
type fakeM struct {
	code  int
	leaks int
	stop  chan struct{}
}

func (m fakeM) Run() int {
	for range m.leaks {
		go blockedHere(m.stop)
	}
	return m.code
}

func TestVerifyTestMain(t *testing.T) {
	for _, tc := range []struct {
		name       string
		code       int
		leaks      int
		want       int
		wantStderr string
	}{
		{"passed", 0, 0, 0, ""},
		{"failed", 3, 0, 3, ""},
		{"failed and leaked", 3, 1, 3, ""},
		{"passed and leaked", 0, 2, 1, "leaktest: tests passed, but 2 goroutines still running after 20ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stop := make(chan struct{})
			defer close(stop)
			var stderr bytes.Buffer
			got := verifyTestMain(fakeM{tc.code, tc.leaks, stop}, 20*time.Millisecond, &stderr)
			if got != tc.want {
				t.Errorf("exit code %d, want %d", got, tc.want)
			}
			if !strings.HasPrefix(stderr.String(), tc.wantStderr) || (tc.wantStderr == "") != (stderr.Len() == 0) {
				t.Errorf("stderr = %q, want it to start with %q", stderr.String(), tc.wantStderr)
			}
			if tc.wantStderr != "" && strings.Count(stderr.String(), "leaktest.blockedHere") != tc.leaks {
				t.Errorf("stderr does not list the %d leaked stacks:\n%s", tc.leaks, stderr.String())
			}
		})
	}
}

const dump = `goroutine 7 [running]:
main.main()
	/tmp/st.go:15 +0xa5

goroutine 19 [sleep, 2 minutes]:
time.Sleep(0x34630b8a000)
	/usr/local/go/src/runtime/time.go:363 +0x165
main.main.func1()
	/tmp/st.go:10 +0x1d
created by main.main in goroutine 1
	/tmp/st.go:10 +0x1e

goroutine 1 [chan receive]:
testing.(*T).Run(0xc000003340, {0x5c1a4e, 0x8}, 0x5d3f28)
	/usr/local/go/src/testing/testing.go:2005 +0x485
testing.runTests.func1(0xc000003340)
	/usr/local/go/src/testing/testing.go:2477 +0x37

goroutine 21 [select]:
testing.tRunner(0xc000003500, 0x5d3f28)
	/usr/local/go/src/testing/testing.go:1934 +0xea
created by testing.(*T).Run in goroutine 1
	/usr/local/go/src/testing/testing.go:1997 +0x465

goroutine 22 [syscall]:
os/signal.signal_recv()
	/usr/local/go/src/runtime/sigqueue.go:152 +0x29
os/signal.loop()
	/usr/local/go/src/os/signal/signal_unix.go:23 +0x13
created by os/signal.Notify.func1.1 in goroutine 1
	/usr/local/go/src/os/signal/signal.go:152 +0x1f
`

func TestParse(t *testing.T) {
	gs := parse(dump)
	type want struct {
		id      uint64
		state   string
		funcs   string
		ignored bool
	}
	wants := []want{
		{7, "running", "main.main", false},
		{19, "sleep, 2 minutes", "time.Sleep main.main.func1 main.main", false},
		{1, "chan receive", "testing.(*T).Run testing.runTests.func1", true},
		{21, "select", "testing.tRunner testing.(*T).Run", true},
		{22, "syscall", "os/signal.signal_recv os/signal.loop os/signal.Notify.func1.1", true},
	}
	if len(gs) != len(wants) {
		t.Fatalf("parsed %d goroutines, want %d: %+v", len(gs), len(wants), gs)
	}
	for i, w := range wants {
		g := gs[i]
		got := want{g.id, g.state, strings.Join(g.funcs, " "), g.ignored()}
		if got != w {
			t.Errorf("goroutine %d: got %+v, want %+v", i, got, w)
		}
	}
	if !strings.HasPrefix(gs[1].stack, "goroutine 19 [sleep, 2 minutes]:\ntime.Sleep") {
		t.Errorf("stack of goroutine 19 = %q", gs[1].stack)
	}
}

func TestGoroutinesListsCallerFirst(t *testing.T) {
	gs := goroutines()
	if len(gs) == 0 || !strings.Contains(gs[0].stack, "TestGoroutinesListsCallerFirst") {
		t.Errorf("first goroutine is not the caller: %+v", gs)
	}
}
