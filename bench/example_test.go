package bench_test

import (
	"fmt"

	"github.com/reuse-go/reuse/bench"
)

// The implementations under test, as named in benchmark paths and reports.
func ExampleImpls() {
	for _, impl := range bench.Impls() {
		fmt.Printf("cache=%s\t%s\tbounded=%v\n", impl.Name, impl.Label, impl.Bounded)
	}
	// Output:
	// cache=syncmap	sync.Map	bounded=false
	// cache=lru	golang-lru/v2	bounded=true
	// cache=otter	otter v2	bounded=true
	// cache=ristretto	ristretto v2	bounded=true
	// cache=keyedcache	keyedcache	bounded=false
	// cache=keyedcache-bounded	keyedcache (bounded)	bounded=true
	// cache=keyedcache-tinylfu	keyedcache (TinyLFU)	bounded=true
}

// The hit-path workloads: their keys, and the first reads of their traces.
func ExampleWorkloads() {
	for _, w := range bench.Workloads() {
		fmt.Printf("workload=%s: %d keys, %d reads, first %q\n", w.Name, len(w.Keys), len(w.Trace), w.Trace[0])
	}
	// Output:
	// workload=hot16: 16 keys, 65536 reads, first "tenant-0000004/model=gpt-4o-mini/eu-west"
	// workload=zipf8192: 8192 keys, 65536 reads, first "tenant-0000002/model=gpt-4o-mini/eu-west"
}

func ExampleKey() {
	k := bench.Key(42)
	fmt.Println(k, len(k))
	// Output: tenant-0000042/model=gpt-4o-mini/eu-west 40
}

// The ways of getting an OpenAI client that the OpenAI benchmark compares.
func ExampleOpenAIClients() {
	for _, c := range bench.OpenAIClients() {
		fmt.Printf("client=%s\t%s\n", c.Name, c.Label)
	}
	// Output:
	// client=per-call	new SDK client per call
	// client=shared-default	one default SDK client
	// client=clients	reuse Clients
}
