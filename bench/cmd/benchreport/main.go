// Command benchreport measures keyedcache, the OpenAI adapter and their
// peers, and prints the results as Markdown.
//
// It runs the benchmark functions of package bench in-process with
// testing.Benchmark: every measurement -reps times, the implementations
// interleaved, and reports medians; a ratio between two implementations is
// the median of their ratios within each repetition, where they ran one
// after the other. It prints the machine it ran on, the hit-path table
// (ns/op and allocs/op per implementation, workload and GOMAXPROCS, each
// with its ratio to sync.Map), the churn of the mixed workload (with ratios
// to golang-lru and otter), the thundering-herd table, the cost of a miss
// as the cache grows, the bytes per entry, the hit ratios of the trace
// comparison (run once: replays are deterministic) and the OpenAI
// connections table.
// Progress goes to standard error.
//
// Usage:
//
//	go run ./bench/cmd/benchreport [-benchtime 200ms] [-reps 5] [-cpu 1,2] [-svg FILE] [-short] [-traces DIR|none]
//
// With -svg, it also writes a bar chart of the hit path to FILE as a
// self-contained SVG. It exits with status 1 if a measurement failed in
// every run.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func main() {
	if err := runReport(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	benchtime string
	reps      int
	procs     []int
	svg       string
	short     bool
	traces    string // the trace directory; "none" skips the trace comparison
}

func parseArgs(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{}
	cpu := ""
	fs.StringVar(&o.benchtime, "benchtime", "200ms", "time (or `N`x iterations) of each measurement, as go test -benchtime")
	fs.IntVar(&o.reps, "reps", 5, "runs of each measurement; the report shows medians")
	fs.StringVar(&cpu, "cpu", "", "comma-separated GOMAXPROCS `values` for the hit path and mixed workload (default 1 and the number of CPUs)")
	fs.StringVar(&o.svg, "svg", "", "write a bar chart of the hit path to `file` as SVG")
	fs.BoolVar(&o.short, "short", false, "measure misses and memory at 1e3 entries only, and replay only the short traces")
	fs.StringVar(&o.traces, "traces", "", "`dir`ectory of the trace files, or none to skip the trace comparison (default: keyedcache/testdata/traces, looked for from the current directory up)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: benchreport [flags]\n\nMeasures keyedcache and its peers and prints a Markdown report.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.reps < 1 {
		return o, fmt.Errorf("-reps %d: want at least 1", o.reps)
	}
	procs, err := parseProcs(cpu)
	if err != nil {
		return o, err
	}
	o.procs = procs
	return o, nil
}

// parseProcs parses -cpu; "" means 1 and runtime.NumCPU().
func parseProcs(s string) ([]int, error) {
	if s == "" {
		return slices.Compact([]int{1, runtime.NumCPU()}), nil
	}
	var procs []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-cpu %q: want positive integers separated by commas", s)
		}
		if !slices.Contains(procs, n) {
			procs = append(procs, n)
		}
	}
	return procs, nil
}

// runReport is the whole program: it parses args, measures, and writes the
// report to stdout and progress to stderr.
func runReport(args []string, stdout, stderr io.Writer) error {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if flag.Lookup("test.benchtime") == nil {
		testing.Init()
	}
	if err := flag.Set("test.benchtime", o.benchtime); err != nil {
		return fmt.Errorf("-benchtime %q: %w", o.benchtime, err)
	}

	traceDir, err := findTraceDir(o.traces)
	if err != nil {
		return err
	}
	r := measure(config{benchtime: o.benchtime, reps: o.reps, procs: o.procs, short: o.short, traceDir: traceDir, progress: stderr})
	if err := writeMarkdown(stdout, r, command(o)); err != nil {
		return err
	}
	if o.svg != "" {
		if err := writeSVGFile(o.svg, r); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", o.svg)
	}
	if n := r.allFailed(); n > 0 {
		return fmt.Errorf("%d measurements failed in every run", n)
	}
	if r.traceErr != nil {
		return r.traceErr
	}
	return nil
}

// traceSubdir is where the trace files are in the repository.
const traceSubdir = "keyedcache/testdata/traces"

// findTraceDir returns the trace directory that -traces names: "" if it is
// "none"; the directory itself if set; else the first traceSubdir found in
// the current directory or one of its parents.
func findTraceDir(flagValue string) (string, error) {
	switch flagValue {
	case "none":
		return "", nil
	case "":
	default:
		return flagValue, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(dir, traceSubdir)
		if fi, err := os.Stat(candidate); err == nil && fi.IsDir() {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s in the current directory or above: run from the repository, or give -traces", traceSubdir)
		}
		dir = parent
	}
}

// command returns the command line that reproduces the report.
func command(o options) string {
	cmd := fmt.Sprintf("go run ./bench/cmd/benchreport -benchtime %s -reps %d -cpu %s",
		o.benchtime, o.reps, joinInts(o.procs, ","))
	if o.short {
		cmd += " -short"
	}
	if o.traces == "none" {
		cmd += " -traces none"
	}
	return cmd
}

func writeSVGFile(path string, r *report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeSVG(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// allFailed returns the number of measurements without a successful run.
func (r *report) allFailed() int {
	n := 0
	for _, s := range r.results {
		if !ok(s) {
			n++
		}
	}
	return n
}
