package main

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"time"
)

// machine describes where the report was measured.
type machine struct {
	cpu     string // CPU model, or "unknown"
	cores   int    // runtime.NumCPU
	goVer   string // runtime.Version
	goos    string
	goarch  string
	started time.Time
}

func readMachine() machine {
	return machine{
		cpu:     cpuModel("/proc/cpuinfo"),
		cores:   runtime.NumCPU(),
		goVer:   runtime.Version(),
		goos:    runtime.GOOS,
		goarch:  runtime.GOARCH,
		started: time.Now().UTC(),
	}
}

// cpuModel returns the first "model name" of a /proc/cpuinfo file, or
// "unknown".
func cpuModel(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, value, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(name) == "model name" {
			if v := strings.TrimSpace(value); v != "" {
				return v
			}
		}
	}
	return "unknown"
}
