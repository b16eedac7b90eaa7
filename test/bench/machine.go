package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadSummary is the machine's 1-minute load average over the run: a figure measured while
// something else loaded the machine is not the same figure.
type loadSummary struct {
	Before  float64
	Mean    float64
	Max     float64
	Samples int
}

// loadSampler reads /proc/loadavg every interval until stopped.
type loadSampler struct {
	mu     sync.Mutex
	sum    loadSummary
	total  float64
	stopCh chan struct{}
	done   chan struct{}
}

func startLoadSampler(interval time.Duration) *loadSampler {
	l := &loadSampler{stopCh: make(chan struct{}), done: make(chan struct{})}
	l.sum.Before = loadAverage()
	go func() {
		defer close(l.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-l.stopCh:
				return
			case <-t.C:
				v := loadAverage()
				l.mu.Lock()
				l.total += v
				l.sum.Samples++
				l.sum.Mean = l.total / float64(l.sum.Samples)
				l.sum.Max = max(l.sum.Max, v)
				l.mu.Unlock()
			}
		}
	}()
	return l
}

// stop ends the sampling and returns the summary.
func (l *loadSampler) stop() *loadSummary {
	close(l.stopCh)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sum
	return &s
}

// loadAverage is the 1-minute load average (0 when unreadable).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// binaryVersion is what `vkube version` says of the binary under test: the commit it was built
// from (make build marks a dirty tree), so that every figure is tied to the code it measured.
func binaryVersion(bin string) string {
	out, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		return fmt.Sprintf("unknown (%v)", err)
	}
	var v struct {
		Version   string `json:"version"`
		GitCommit string `json:"gitCommit"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return "unknown"
	}
	if v.Version == v.GitCommit {
		return v.Version
	}
	return v.Version + " (commit " + v.GitCommit + ")"
}
