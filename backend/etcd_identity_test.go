package backend

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// memoryRecord is a ClusterRecord kept in memory: the host's ConfigMap in the e2e tests.
type memoryRecord struct {
	mu           sync.Mutex
	id           string
	acknowledged string
	lost         []string
}

func (r *memoryRecord) Cluster(context.Context) (string, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id, r.acknowledged, nil
}

func (r *memoryRecord) RecordCluster(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.id, r.acknowledged, r.lost = id, "", nil
	return nil
}

func (r *memoryRecord) acknowledge(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acknowledged = id
}

func (r *memoryRecord) RecordLoss(_ context.Context, lost *ClusterLostError) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lost = append(r.lost, lost.ID)
	return nil
}

func (r *memoryRecord) state() (string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id, append([]string(nil), r.lost...)
}

func (h *etcdHarness) restartAllEmpty() {
	h.t.Helper()
	for i := range h.peers {
		h.kill(i)
		if err := os.RemoveAll(h.dirs[i]); err != nil {
			h.t.Fatal(err)
		}
	}
	for i := range h.peers {
		h.start(i, h.peers)
	}
}

func TestEtcdRecordedClusterIsNeverRefoundedSilently(t *testing.T) {
	t.Parallel()
	h := newEtcdHarness(t)
	rec := &memoryRecord{}
	h.record = rec
	h.found()
	founded, _ := rec.state()
	if founded == "" {
		t.Fatal("the founder reported ready without recording its cluster on the host")
	}
	h.putN(h.client(0), "f", 10)

	h.restartAllEmpty()
	h.wantLoss(rec)
	if _, lost := rec.state(); lost[0] != founded {
		t.Errorf("recorded the loss of cluster %s, want %s", lost[0], founded)
	}
	for i := range h.peers {
		select {
		case <-h.run[i].Ready():
			t.Fatalf("%s serves although the recorded cluster's data is gone: it came back empty", h.peers[i].Name)
		default:
		}
	}

	// Acknowledged in the record, as `vkube create --upgrade` writes it: the members waiting
	// unready found a new cluster without a restart.
	rec.acknowledge(founded)
	h.waitReady(0, 1, 2)
	refounded := h.wantRefounded(rec, founded)
	if got := h.keys(1, "f"); len(got) != 0 {
		t.Errorf("the new cluster holds %d keys of the lost one", len(got))
	}

	// The acknowledgement names the lost cluster only: losing the new one is refused again...
	h.restartAllEmpty()
	h.wantLoss(rec)
	// ...until acknowledged in the configuration, on a restart.
	for i := range h.peers {
		h.stop(i)
	}
	h.acknowledgeDataLoss = refounded
	for i := range h.peers {
		h.start(i, h.peers)
	}
	h.waitReady(0, 1, 2)
	h.wantRefounded(rec, refounded)
}

func (h *etcdHarness) wantLoss(rec *memoryRecord) {
	h.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, lost := rec.state()
		return len(lost) > 0, nil
	})
	if err != nil {
		h.t.Fatal("every member restarted empty and no loss was recorded")
	}
}

func (h *etcdHarness) wantRefounded(rec *memoryRecord, lostID string) string {
	h.t.Helper()
	id, lost := rec.state()
	if id == "" || id == lostID || len(lost) != 0 {
		h.t.Fatalf("after the acknowledged loss the record holds cluster %q (losses %v), want a new cluster instead of %s and no loss", id, lost, lostID)
	}
	return id
}

func TestEtcdClusterFoundedBeforeRecordsIsRecordedOnRestart(t *testing.T) {
	t.Parallel()
	h := newEtcdHarness(t)
	h.found()
	rec := &memoryRecord{}
	h.record = rec
	for i := range h.peers {
		h.stop(i)
	}
	for i := range h.peers {
		h.start(i, h.peers)
	}
	h.waitReady(0, 1, 2)
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		id, _ := rec.state()
		return id != "", nil
	})
	if err != nil {
		t.Fatal("members restarting with their data never recorded their cluster")
	}
}
