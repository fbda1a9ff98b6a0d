package tinylfu

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// traceDir holds the ARC and LIRS traces (see its README for their source).
const traceDir = "../../testdata/traces"

var traces sync.Map // file name -> []uint64

// readTrace returns the keys of a trace: ARC .lis lines "start count ignored
// reqno" stand for the keys start, ..., start+count-1; LIRS lines hold one
// key, and blank lines and lines holding "*" are skipped.
func readTrace(tb testing.TB, name string) []uint64 {
	tb.Helper()
	if keys, ok := traces.Load(name); ok {
		return keys.([]uint64)
	}
	f, err := os.Open(traceDir + "/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	arc := name == "oltp.gz" || name == "p3.gz"
	var keys []uint64
	sc := bufio.NewScanner(z)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if arc {
			fields := strings.Fields(text)
			if len(fields) < 2 {
				tb.Fatalf("%s:%d: want at least 2 fields, got %q", name, line, text)
			}
			start, err1 := strconv.ParseUint(fields[0], 10, 64)
			count, err2 := strconv.ParseUint(fields[1], 10, 64)
			if err1 != nil || err2 != nil {
				tb.Fatalf("%s:%d: %q", name, line, text)
			}
			for k := start; k < start+count; k++ {
				keys = append(keys, k)
			}
			continue
		}
		if text == "" || strings.Contains(text, "*") {
			continue
		}
		k, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			tb.Fatalf("%s:%d: %v", name, line, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	traces.Store(name, keys)
	return keys
}

// hashKey is the hash an owner would compute for a key.
func hashKey(k uint64) uint64 {
	k += 0x9e3779b97f4a7c15
	k = (k ^ k>>30) * 0xbf58476d1ce4e5b9
	k = (k ^ k>>27) * 0x94d049bb133111eb
	return k ^ k>>31
}

type traceEntry struct {
	Node[uint64]
}

// replay runs keys through a policy of the given capacity, cold, with one
// goroutine: a miss adds the key, a hit accesses it. It returns the hit ratio
// in percent, rounded to two decimals.
func replay(tb testing.TB, keys []uint64, capacity int) string {
	p := New[uint64](capacity)
	m := make(map[uint64]*traceEntry, capacity+1)
	hits := 0
	for _, k := range keys {
		if e, ok := m[k]; ok {
			hits++
			p.Access(&e.Node)
			continue
		}
		e := &traceEntry{}
		e.Owner = k
		m[k] = e
		if ev := p.Add(&e.Node, hashKey(k)); ev != nil {
			delete(m, ev.Owner)
		}
		if p.Len() > capacity {
			tb.Fatalf("Len() = %d > %d", p.Len(), capacity)
		}
	}
	if len(m) != p.Len() {
		tb.Fatalf("the policy holds %d nodes, the map %d", p.Len(), len(m))
	}
	return strconv.FormatFloat(float64(hits)*100/float64(len(keys)), 'f', 2, 64)
}

type traceRow struct {
	file     string
	capacity int
	otter    float64 // W-TinyLFU as otter v2 implements it
	best     float64 // the best of LRU, 2Q and ARC from golang-lru
	want     string  // this package's figure
}

var traceRows = []traceRow{
	{"oltp.gz", 1000, 40.23, 39.24, ""},
	{"oltp.gz", 2000, 45.61, 46.15, ""},
	{"oltp.gz", 5000, 52.70, 55.12, ""},
	{"oltp.gz", 15000, 60.45, 65.96, ""},
	{"p3.gz", 8192, 4.36, 4.17, ""},
	{"p3.gz", 32768, 15.82, 16.90, ""},
	{"p3.gz", 131072, 43.69, 50.17, ""},
	{"loop.gz", 512, 77.00, 0.05, ""},
	{"loop.gz", 1000, 99.50, 78.34, ""},
	{"gli.gz", 500, 20.63, 9.46, ""},
	{"gli.gz", 1000, 32.37, 30.86, ""},
}

func TestTraceExplore(t *testing.T) {
	if os.Getenv("TINYLFU_EXPLORE") == "" {
		t.Skip("set TINYLFU_EXPLORE")
	}
	var wg sync.WaitGroup
	res := make([]string, len(traceRows))
	for _, r := range traceRows {
		readTrace(t, r.file)
	}
	only := os.Getenv("TINYLFU_ONLY")
	for i, r := range traceRows {
		if only != "" && !strings.Contains(only, fmt.Sprintf("%s%d", r.file[:2], r.capacity)) {
			res[i] = "0"
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = replay(t, readTrace(t, r.file), r.capacity)
		}()
	}
	wg.Wait()
	sum := 0.0
	out := ""
	for i, r := range traceRows {
		got, _ := strconv.ParseFloat(res[i], 64)
		sum += got
		need := max(r.otter-0.5, r.best-1.0)
		mark := ""
		if got < need {
			mark = " MISS"
		} else if got < max(r.otter, r.best) {
			mark = " (below lead)"
		}
		out += fmt.Sprintf("%s %d: %s need %.2f%s\n", r.file, r.capacity, res[i], need, mark)
	}
	t.Logf("\n%smean %.2f", out, sum/float64(len(traceRows)))
}
