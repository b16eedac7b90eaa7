package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/test/dbserver"
)

// The bare control plane's datastore runs in a child process of its own (this program again, with
// datastoreArg first), so that its memory is measured apart from the bench, as a kine or etcd
// started by hand would be. It runs vkube's backend package: the same kine configuration and the
// same embedded etcd vkube runs in-process.
const datastoreArg = "__bench-datastore"

// datastoreSpec is what the datastore child starts (JSON in its second argument).
type datastoreSpec struct {
	Kind         backend.Kind
	DataDir      string
	DSN          string `json:",omitempty"`
	DatabaseName string `json:",omitempty"`
	Etcd         backend.EmbeddedEtcdConfig
}

// serveDatastore is the datastore child: start the backend, print its Endpoint as one JSON line on
// stdout once it serves, and run until SIGTERM.
func serveDatastore(arg string) int {
	var spec datastoreSpec
	if err := json.Unmarshal([]byte(arg), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "datastore spec:", err)
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := backend.Start(ctx, backend.Config{Kind: spec.Kind, DataDir: spec.DataDir, DSN: spec.DSN,
		DatabaseName: spec.DatabaseName, Etcd: spec.Etcd, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "datastore:", err)
		return 1
	}
	select {
	case <-b.Ready():
	case err := <-b.Err():
		fmt.Fprintln(os.Stderr, "datastore:", err)
		return 1
	case <-ctx.Done():
		return 1
	}
	line, _ := json.Marshal(b.Endpoint())
	fmt.Println(string(line))
	// The bench reads only that line: anything printed later goes to the log, not a closed pipe.
	_ = syscall.Dup2(2, 1)
	select {
	case <-ctx.Done():
	case err := <-b.Err():
		fmt.Fprintln(os.Stderr, "datastore:", err)
	}
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer stopCancel()
	if err := b.Stop(stopCtx); err != nil {
		fmt.Fprintln(os.Stderr, "datastore stop:", err)
		return 1
	}
	return 0
}

// startDatastore starts the datastore child and waits until it serves.
func startDatastore(spec datastoreSpec, logPath string) (*proc, backend.Endpoint, error) {
	var ep backend.Endpoint
	self, err := os.Executable()
	if err != nil {
		return nil, ep, err
	}
	arg, _ := json.Marshal(spec)
	// Stdout is a pipe carrying the endpoint line; stderr goes to the log.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, ep, err
	}
	defer r.Close()
	p, err := startProc(procSpec{name: string(spec.Kind) + "-datastore", path: self, args: []string{datastoreArg, string(arg)},
		dir: spec.DataDir, log: logPath, stdout: w})
	w.Close()
	if err != nil {
		return nil, ep, err
	}
	lineCh := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		lineCh <- strings.TrimSpace(line)
	}()
	select {
	case line := <-lineCh:
		if err := json.Unmarshal([]byte(line), &ep); err != nil || len(ep.Servers) == 0 {
			_ = p.stop(10 * time.Second)
			return nil, ep, fmt.Errorf("datastore child gave no endpoint (%q); log tail:\n%s", line, tailFile(logPath, 20))
		}
	case <-time.After(2 * time.Minute):
		_ = p.stop(10 * time.Second)
		return nil, ep, fmt.Errorf("datastore not serving within 2m; log tail:\n%s", tailFile(logPath, 20))
	}
	return p, ep, nil
}

// owner is a dbserver.Owner for a program: cleanups run LIFO when run is called.
type owner struct {
	mu  sync.Mutex
	fns []func()
}

var _ dbserver.Owner = (*owner)(nil)

func (o *owner) Cleanup(f func()) {
	o.mu.Lock()
	o.fns = append(o.fns, f)
	o.mu.Unlock()
}

func (o *owner) Logf(format string, args ...any) { progress(format, args...) }

func (o *owner) run() {
	o.mu.Lock()
	fns := o.fns
	o.fns = nil
	o.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}
