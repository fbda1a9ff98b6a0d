package bench

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// TraceDir is where the trace files are, relative to this package's
// directory (where go test runs its tests and benchmarks).
const TraceDir = "../keyedcache/testdata/traces"

// A Trace is a recorded sequence of requests for keys, as published with
// the ARC and LIRS papers (see the README in [TraceDir]).
type Trace struct {
	Name     string   // the file name without ".gz", such as "oltp"
	Keys     []string // the distinct keys, in the order of their first request
	Requests []uint32 // the requests, in order: each an index into Keys
}

// traceFormats maps each known trace to its format: ARC ".lis" lines
// "start count ignored reqno" standing for count consecutive keys, or LIRS
// lines of one key each.
var traceFormats = map[string]string{"oltp": "arc", "p3": "arc", "loop": "lirs", "gli": "lirs"}

// LoadTrace returns the trace name ("oltp", "p3", "loop" or "gli") read
// from dir. Each file is read and parsed once per process, and the result
// shared: a trace must not be modified. It is safe for concurrent use.
func LoadTrace(dir, name string) (*Trace, error) {
	path := filepath.Join(dir, name+".gz")
	v, _ := traceCache.LoadOrStore(path, &traceOnce{})
	once := v.(*traceOnce)
	once.Do(func() { once.t, once.err = readTrace(path, name) })
	return once.t, once.err
}

// traceCache holds a *traceOnce per trace file path.
var traceCache sync.Map

type traceOnce struct {
	sync.Once
	t   *Trace // set once by Do
	err error  // set once by Do
}

func readTrace(path, name string) (*Trace, error) {
	format, ok := traceFormats[name]
	if !ok {
		return nil, fmt.Errorf("bench: unknown trace %q", name)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	t, err := parseTrace(z, name, format)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	return t, nil
}

// parseTrace parses a trace in format "arc" or "lirs".
func parseTrace(r io.Reader, name, format string) (*Trace, error) {
	t := &Trace{Name: name}
	index := map[int64]uint32{}
	request := func(k int64) {
		i, ok := index[k]
		if !ok {
			i = uint32(len(t.Keys))
			index[k] = i
			t.Keys = append(t.Keys, strconv.FormatInt(k, 10))
		}
		t.Requests = append(t.Requests, i)
	}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if format == "lirs" {
			if text == "" || strings.Contains(text, "*") {
				continue
			}
			k, err := strconv.ParseInt(text, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			request(k)
			continue
		}
		fields := strings.Fields(text)
		if len(fields) < 2 {
			return nil, fmt.Errorf("line %d: want at least 2 fields, got %q", line, text)
		}
		start, err1 := strconv.ParseInt(fields[0], 10, 64)
		count, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		for k := start; k < start+count; k++ {
			request(k)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.Requests) == 0 {
		return nil, errors.New("no requests")
	}
	return t, nil
}

// ReplayTrace replays t with one goroutine through a new cache of impl
// holding at most size entries, calling [Cache.GetOrLoad] for each request,
// and returns the hit ratio: the share of requests that did not load.
func ReplayTrace(impl Impl, t *Trace, size int) (float64, error) {
	var loads atomic.Int64
	c, err := impl.New(size, countLoads(&loads, build))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	ctx := context.Background()
	for _, i := range t.Requests {
		key := t.Keys[i]
		v, err := c.GetOrLoad(ctx, key)
		if err := checkValue(key, v, err); err != nil {
			return 0, err
		}
	}
	return 1 - float64(loads.Load())/float64(len(t.Requests)), nil
}

// A TraceRow is one trace replayed at one cache size.
type TraceRow struct {
	Trace string // the trace's name, for LoadTrace
	Size  int    // the most entries the cache may hold
	Long  bool   // whether the trace has more than 100,000 requests
}

// TraceRows returns the rows of the trace comparison: OLTP at 1000, 2000,
// 5000 and 15000 entries, P3 at 8192, 32768 and 131072, loop at 512 and
// 1000, gli at 500 and 1000.
func TraceRows() []TraceRow {
	var rows []TraceRow
	for _, tr := range []struct {
		name  string
		long  bool
		sizes []int
	}{
		{"oltp", true, []int{1000, 2000, 5000, 15000}},
		{"p3", true, []int{8192, 32768, 131072}},
		{"loop", true, []int{512, 1000}},
		{"gli", false, []int{500, 1000}},
	} {
		for _, s := range tr.sizes {
			rows = append(rows, TraceRow{tr.name, s, tr.long})
		}
	}
	return rows
}

// ShortTraceRows returns the rows of TraceRows that are not Long.
func ShortTraceRows() []TraceRow {
	var rows []TraceRow
	for _, r := range TraceRows() {
		if !r.Long {
			rows = append(rows, r)
		}
	}
	return rows
}

// TraceSeeds is how many caches of a Seeded policy [CompareTraces] replays
// each row through.
const TraceSeeds = 5

// A TraceTable holds the hit ratios of policies over trace rows.
type TraceTable struct {
	Policies []Impl      // the columns
	Rows     []TraceRow  // the rows
	Ratios   [][]float64 // Ratios[row][policy], a hit ratio in [0, 1] (for a Seeded policy, the median of its caches); NaN where a replay failed
	// Seeds[row][policy] holds, for a Seeded policy, the hit ratios of its
	// TraceSeeds caches in increasing order; nil for the others.
	Seeds    [][][]float64
	Means    []float64 // Means[policy], the mean of its column over the rows; NaN if a replay failed
	Errors   []error   // Errors[policy], the first error of the policy's replays, or nil
	Requests int64     // the requests replayed, summed over rows and policies
}

// CompareTraces replays every row through every policy, reading the
// traces from dir: once, or for a Seeded policy through TraceSeeds caches,
// whose median it reports. Each replay runs in one goroutine; up to
// GOMAXPROCS replays run at once. It returns an error only if a trace
// cannot be read; a policy whose cache fails (or cannot be built) has NaN
// ratios and its first error in Errors.
func CompareTraces(dir string, rows []TraceRow, policies []Impl) (*TraceTable, error) {
	tt := &TraceTable{
		Policies: policies,
		Rows:     rows,
		Ratios:   make([][]float64, len(rows)),
		Seeds:    make([][][]float64, len(rows)),
		Means:    make([]float64, len(policies)),
		Errors:   make([]error, len(policies)),
	}
	traces := make([]*Trace, len(rows))
	for r, row := range rows {
		t, err := LoadTrace(dir, row.Trace)
		if err != nil {
			return nil, err
		}
		traces[r] = t
		tt.Ratios[r] = make([]float64, len(policies))
		tt.Seeds[r] = make([][]float64, len(policies))
	}

	errs := make([][]error, len(rows)) // errs[row][policy]
	jobs := make(chan [2]int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for job := range jobs {
				r, p := job[0], job[1]
				runs := make([]float64, 0, replays(policies[p]))
				var err error
				for range cap(runs) {
					var hr float64
					if hr, err = ReplayTrace(policies[p], traces[r], rows[r].Size); err != nil {
						break
					}
					runs = append(runs, hr)
				}
				if err != nil {
					tt.Ratios[r][p], errs[r][p] = math.NaN(), err
					continue
				}
				slices.Sort(runs)
				tt.Ratios[r][p] = runs[len(runs)/2]
				if policies[p].Seeded {
					tt.Seeds[r][p] = runs
				}
			}
		})
	}
	for r := range rows {
		errs[r] = make([]error, len(policies))
		for p := range policies {
			jobs <- [2]int{r, p}
		}
	}
	close(jobs)
	wg.Wait()

	for p := range policies {
		sum := 0.0
		for r, row := range rows {
			sum += tt.Ratios[r][p]
			if err := errs[r][p]; err != nil && tt.Errors[p] == nil {
				tt.Errors[p] = fmt.Errorf("%s at %d entries: %w", row.Trace, row.Size, err)
			}
			if errs[r][p] == nil {
				tt.Requests += int64(replays(policies[p]) * len(traces[r].Requests))
			}
		}
		tt.Means[p] = sum / float64(len(rows))
	}
	return tt, nil
}

// replays returns how many caches of impl CompareTraces replays a row
// through.
func replays(impl Impl) int {
	if impl.Seeded {
		return TraceSeeds
	}
	return 1
}

// Column returns the index of the policy named name in tt.Policies, or -1.
func (tt *TraceTable) Column(name string) int {
	for p, impl := range tt.Policies {
		if impl.Name == name {
			return p
		}
	}
	return -1
}
