package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/test/dbserver"
)

// Figures 1 and 4 share their runs: each run starts a fresh cluster (timed: figure 1), lets it
// settle, creates ConfigMaps one by one and LISTs them (timed: figure 4), and stops it. Repeats
// are interleaved: repeat r runs every backend, vkube then bare (bare first on odd repeats).

// datastoreFor is how one backend is reached by each side of one run.
type datastoreFor struct {
	vkubeArgs []string
	vkubeEnv  []string
	bare      datastoreSpec // Kind "" with externalEtcd set: no datastore child
	external  string        // external etcd URL (both sides)
	cleanup   func()
}

func runStartWrite(ctx context.Context, e *env) error {
	for r := 0; r < e.repeats; r++ {
		for _, be := range e.backends {
			sides := []string{"vkube", "bare"}
			if r%2 == 1 {
				sides = []string{"bare", "vkube"}
			}
			for _, side := range sides {
				if side == "bare" && !e.bare {
					continue
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				startS, w, err := e.startWriteRun(ctx, be, side, r)
				if err != nil {
					progress("start/write %s %s repeat %d: %v", be, side, r+1, err)
				}
				if e.parts["start"] {
					s := sample{Backend: be, Side: side, Repeat: r, Seconds: seconds(startS)}
					if startS == 0 {
						s.Error = errString(err, "no start time")
					}
					e.results.add(&e.results.Start, s)
				}
				if e.parts["write"] {
					s := sample{Backend: be, Side: side, Repeat: r, Seconds: seconds(w.Creates + w.List),
						Detail: map[string]float64{"createsSeconds": seconds(w.Creates), "listMs": float64(w.List.Microseconds()) / 1000, "cpuSeconds": w.CPU}}
					if err != nil || w.Creates == 0 {
						s = sample{Backend: be, Side: side, Repeat: r, Error: errString(err, "no write time")}
					}
					e.results.add(&e.results.Write, s)
				}
			}
		}
	}
	return nil
}

// startWriteRun is one fresh cluster of one side on one backend.
func (e *env) startWriteRun(ctx context.Context, be, side string, r int) (time.Duration, writeResult, error) {
	var w writeResult
	name := fmt.Sprintf("%s-%s-r%d", side, be, r)
	dir := filepath.Join(e.work, "startwrite", name)
	if !e.keep {
		defer os.RemoveAll(dir)
	}
	ds, err := e.datastore(be, name)
	if err != nil {
		return 0, w, err
	}
	defer ds.cleanup()

	var took time.Duration
	var cfg *rest.Config
	var stop func() error
	var pids func() []int // the processes serving the API, for their CPU time
	switch side {
	case "vkube":
		began := time.Now()
		v, err := startVkube(e, "vk-"+be+"-r"+fmt.Sprint(r), dir, ds.vkubeArgs, ds.vkubeEnv)
		if err != nil {
			return 0, w, err
		}
		stop = v.stop
		pids = func() []int { return []int{v.proc.pid()} }
		if took, err = v.waitUsable(ctx, began, 3*time.Minute); err != nil {
			_ = stop()
			return 0, w, err
		}
		cfg = v.cfg
	default:
		b, err := prepareBare(ctx, e, "bare-"+be, dir)
		if err != nil {
			return 0, w, err
		}
		stop = b.stop
		pids = func() []int {
			var out []int
			for _, p := range b.pids() {
				out = append(out, p)
			}
			return out
		}
		// The controller manager starts after the clock stops, as vkube's does; writing, it
		// runs as under vkube: its informers see every ConfigMap on both sides.
		if took, err = b.start(ctx, e, ds.bare, ds.external, e.parts["write"]); err != nil {
			_ = stop()
			return 0, w, err
		}
		if cfg, err = restConfig(b.admin); err != nil {
			_ = stop()
			return 0, w, err
		}
	}
	progress("start %s on %s (repeat %d): usable in %.2fs", side, be, r+1, took.Seconds())
	if e.parts["write"] {
		if err := sleepCtx(ctx, e.settle); err != nil {
			_ = stop()
			return took, w, err
		}
		cpu := cpuSeconds(pids()...)
		w, err = benchWrites(ctx, cfg, e.creates)
		if err != nil {
			_ = stop()
			return took, w, fmt.Errorf("writes: %w", err)
		}
		w.CPU = cpuSeconds(pids()...) - cpu
		progress("write %s on %s (repeat %d): %d creates %.2fs, LIST %.1fms, %.2f CPU-s", side, be, r+1, e.creates, w.Creates.Seconds(), float64(w.List.Microseconds())/1000, w.CPU)
	}
	if err := stop(); err != nil {
		progress("stopping %s: %v", name, err)
	}
	return took, w, nil
}

// datastore prepares the datastore of one run: database servers are started once and shared
// (each run gets a database of its own), an external etcd is started per run (a fresh keyspace).
func (e *env) datastore(be, name string) (*datastoreFor, error) {
	ds := &datastoreFor{cleanup: func() {}}
	db := "bench_" + sanitize(name)
	switch be {
	case "sqlite":
		ds.bare = datastoreSpec{Kind: backend.SQLite}
	case "postgres":
		if e.pg == nil {
			s, err := dbserver.LaunchPostgres(e.dbs)
			if err != nil {
				return nil, err
			}
			e.pg = s
		}
		ds.vkubeArgs = []string{"--backend", "postgres"}
		ds.vkubeEnv = []string{"VKUBE_DATASTORE_ENDPOINT=" + e.pg.DSN()}
		ds.bare = datastoreSpec{Kind: backend.Postgres, DSN: e.pg.DSN(), DatabaseName: db}
	case "mariadb":
		if e.my == nil {
			s, err := dbserver.LaunchMariaDB(e.dbs)
			if err != nil {
				return nil, err
			}
			e.my = s
		}
		ds.vkubeArgs = []string{"--backend", "mariadb"}
		ds.vkubeEnv = []string{"VKUBE_DATASTORE_ENDPOINT=" + e.my.DSN()}
		ds.bare = datastoreSpec{Kind: backend.MySQL, DSN: e.my.DSN(), DatabaseName: db}
	case "etcd":
		ds.vkubeArgs = []string{"--backend", "etcd"}
		ds.bare = datastoreSpec{Kind: backend.EtcdEmbedded} // certs filled in by the bare side
	case "etcd-external":
		o := &owner{}
		s, err := dbserver.LaunchEtcd(o)
		if err != nil {
			o.run()
			return nil, err
		}
		ds.cleanup = o.run
		ds.external = s.DSN()
		ds.vkubeArgs = []string{"--backend", "etcd", "--datastore-endpoint", s.DSN()}
	default:
		return nil, fmt.Errorf("unknown backend %q", be)
	}
	return ds, nil
}

func sanitize(s string) string {
	out := []byte(s)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			out[i] = '_'
		}
	}
	return string(out)
}

func errString(err error, def string) string {
	if err != nil {
		return firstLine(err.Error())
	}
	return def
}
