package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/client-go/rest"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/test/dbserver"
)

// Figures 1 and 4 are measured apart. The start figure starts each fresh cluster alone on the
// machine and stops it once usable; repeat r runs every backend, vkube then bare (bare first on
// odd repeats).
//
// The write figure pairs its sides: this machine's speed drifts by more than the target's margin
// between runs a minute apart (the CPU time of one identical write run varied by 60%), so each
// repeat starts a vkube and a bare cluster side by side, lets both settle, and writes to them in
// turns, vkube-bare-bare-vkube (bare first on odd repeats): a drift within the repeat weighs on
// both sides alike. A side's sample is the mean of its rounds, and the ratio is the median over
// repeats of vkube's sample over bare's of the same repeat.

// datastoreFor is how one backend is reached by each side of one run.
type datastoreFor struct {
	vkubeArgs []string
	vkubeEnv  []string
	bare      datastoreSpec // Kind "" with externalEtcd set: no datastore child
	external  string        // external etcd URL (both sides)
	cleanup   func()
}

// sideRun is one running cluster of one side on one backend.
type sideRun struct {
	side string
	took time.Duration // from start to usable
	cfg  *rest.Config
	stop func() error
	pids func() []int // the processes serving the API, for their CPU time
	done []func()     // after stop: the datastore's cleanup, the scratch dir's removal
}

// close stops the cluster (if it got as far as starting) and removes what it left.
func (s *sideRun) close() {
	if s.stop != nil {
		if err := s.stop(); err != nil {
			progress("stopping %s: %v", s.side, err)
		}
	}
	for i := len(s.done) - 1; i >= 0; i-- {
		s.done[i]()
	}
}

// sidesOf is the order of the sides in repeat r.
func (e *env) sidesOf(r int) []string {
	switch {
	case !e.bare:
		return []string{"vkube"}
	case r%2 == 1:
		return []string{"bare", "vkube"}
	default:
		return []string{"vkube", "bare"}
	}
}

func runStartWrite(ctx context.Context, e *env) error {
	if e.parts["start"] {
		if err := runStarts(ctx, e); err != nil {
			return err
		}
	}
	if e.parts["write"] {
		return runWrites(ctx, e)
	}
	return nil
}

func runStarts(ctx context.Context, e *env) error {
	for r := 0; r < e.repeats; r++ {
		for _, be := range e.backends {
			for _, side := range e.sidesOf(r) {
				if err := ctx.Err(); err != nil {
					return err
				}
				s := sample{Backend: be, Side: side, Repeat: r}
				run, err := e.startSide(ctx, be, side, "start", r, false)
				if err != nil {
					progress("start %s %s repeat %d: %v", be, side, r+1, err)
					s.Error = errString(err, "no start time")
				} else {
					s.Seconds = seconds(run.took)
					run.close()
				}
				e.results.add(&e.results.Start, s)
			}
		}
	}
	return nil
}

func runWrites(ctx context.Context, e *env) error {
	for r := 0; r < e.repeats; r++ {
		for _, be := range e.backends {
			if err := ctx.Err(); err != nil {
				return err
			}
			for _, s := range e.writeRepeat(ctx, be, r) {
				e.results.add(&e.results.Write, s)
			}
		}
	}
	return nil
}

// writeRepeat is one repeat of the write figure on one backend: a sample per side.
func (e *env) writeRepeat(ctx context.Context, be string, r int) []sample {
	order := e.sidesOf(r)
	runs := map[string]*sideRun{}
	failed := map[string]error{}
	defer func() {
		for _, run := range runs {
			run.close()
		}
	}()
	for _, side := range order {
		run, err := e.startSide(ctx, be, side, "write", r, true)
		if err != nil {
			progress("write %s %s repeat %d: start: %v", be, side, r+1, err)
			failed[side] = err
			continue
		}
		runs[side] = run
	}
	if err := sleepCtx(ctx, e.settle); err != nil {
		return nil
	}
	back := slices.Clone(order)
	slices.Reverse(back)
	rounds := append(slices.Clone(order), back...)
	// The rounds of each side, summed.
	type sum struct {
		w      writeResult
		rounds int
	}
	total := map[string]sum{}
	for i, side := range rounds {
		run := runs[side]
		if run == nil || failed[side] != nil {
			continue
		}
		cpu := cpuSeconds(run.pids()...)
		w, err := benchWrites(ctx, run.cfg, fmt.Sprintf("bench-%d", i), e.creates)
		if err != nil {
			failed[side] = fmt.Errorf("writes: %w", err)
			progress("write %s %s repeat %d: %v", be, side, r+1, err)
			continue
		}
		w.CPU = cpuSeconds(run.pids()...) - cpu
		progress("write %s on %s (repeat %d, round %d): %d creates %.2fs, LIST %.1fms, %.2f CPU-s", side, be, r+1, i+1, e.creates, w.Creates.Seconds(), float64(w.List.Microseconds())/1000, w.CPU)
		t := total[side]
		t.w.Creates += w.Creates
		t.w.List += w.List
		t.w.CPU += w.CPU
		t.rounds++
		total[side] = t
	}
	var out []sample
	for _, side := range order {
		s := sample{Backend: be, Side: side, Repeat: r}
		t := total[side]
		if err := failed[side]; err != nil || t.rounds == 0 {
			s.Error = errString(err, "no write time")
			out = append(out, s)
			continue
		}
		n := time.Duration(t.rounds)
		s.Seconds = seconds((t.w.Creates + t.w.List) / n)
		s.Detail = map[string]float64{"createsSeconds": seconds(t.w.Creates / n), "listMs": float64((t.w.List / n).Microseconds()) / 1000,
			"cpuSeconds": t.w.CPU / float64(t.rounds), "rounds": float64(t.rounds)}
		out = append(out, s)
	}
	return out
}

// startSide starts a fresh cluster of one side on one backend and waits until it is usable. The
// bare side's controller manager starts after the clock stops when withKCM, as vkube's does: its
// informers then see every ConfigMap of the write figure on both sides.
func (e *env) startSide(ctx context.Context, be, side, figure string, r int, withKCM bool) (*sideRun, error) {
	name := fmt.Sprintf("%s-%s-%s-r%d", figure, side, be, r)
	dir := filepath.Join(e.work, "startwrite", name)
	run := &sideRun{side: side}
	if !e.keep {
		run.done = append(run.done, func() { _ = os.RemoveAll(dir) })
	}
	fail := func(err error) (*sideRun, error) {
		run.close()
		return nil, err
	}
	ds, err := e.datastore(be, name)
	if err != nil {
		return fail(err)
	}
	run.done = append(run.done, ds.cleanup)
	switch side {
	case "vkube":
		began := time.Now()
		v, err := startVkube(e, fmt.Sprintf("vk-%s-%s-r%d", figure, be, r), dir, ds.vkubeArgs, ds.vkubeEnv)
		if err != nil {
			return fail(err)
		}
		run.stop = v.stop
		run.pids = func() []int { return []int{v.proc.pid()} }
		if run.took, err = v.waitUsable(ctx, began, 3*time.Minute); err != nil {
			return fail(err)
		}
		run.cfg = v.cfg
	default:
		b, err := prepareBare(ctx, e, "bare-"+be, dir)
		if err != nil {
			return fail(err)
		}
		run.stop = b.stop
		run.pids = func() []int {
			var out []int
			for _, p := range b.pids() {
				out = append(out, p)
			}
			return out
		}
		if run.took, err = b.start(ctx, e, ds.bare, ds.external, withKCM); err != nil {
			return fail(err)
		}
		if run.cfg, err = restConfig(b.admin); err != nil {
			return fail(err)
		}
	}
	progress("start %s on %s (%s, repeat %d): usable in %.2fs", side, be, figure, r+1, run.took.Seconds())
	return run, nil
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
		ds.bare = datastoreSpec{Kind: backend.Postgres, DSN: e.pg.DSNFor(db)}
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
		ds.bare = datastoreSpec{Kind: backend.MySQL, DSN: e.my.DSNFor(db)}
	case "etcd":
		ds.vkubeArgs = []string{"--backend", "etcd"}
		ds.bare = datastoreSpec{Kind: backend.EtcdEmbedded}
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
