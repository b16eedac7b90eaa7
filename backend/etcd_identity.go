package backend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"k8s.io/apimachinery/pkg/util/wait"
)

// identityKey holds a cluster's identity in the cluster itself, outside the API server's prefix.
// etcd's own cluster ID cannot serve: it derives from the member IDs, which derive from the peer
// URLs and the fixed cluster token, so a cluster founded anew from the same Peers gets the old ID.
const identityKey = "/vkube/cluster-identity"

// ClusterRecord remembers, outside the members' data (on the host, next to the PKI), which etcd
// cluster the members run. A founder that finds no member with data cannot otherwise tell a
// cluster that never existed from one whose every member restarted empty (emptyDir volumes,
// replicas killed faster than they rejoin): founding then would serve an empty datastore as
// the old one, with every acknowledged write gone and nothing said.
type ClusterRecord interface {
	// Cluster returns the recorded cluster identity ("" when none was recorded) and the identity
	// of a lost cluster whose loss the operator acknowledged in the record, if any.
	Cluster(ctx context.Context) (recorded, acknowledged string, err error)
	// RecordCluster records the cluster the members now run, clearing a recorded loss.
	RecordCluster(ctx context.Context, id string) error
	// RecordLoss says, where the operator looks (an event, `vkube list`), that the recorded
	// cluster is lost and why the virtual cluster stays down.
	RecordLoss(ctx context.Context, lost *ClusterLostError) error
}

// ClusterLostError is why a founder refuses to found: the recorded cluster existed and no
// member holds its data.
type ClusterLostError struct {
	// ID is the lost cluster's identity, the value that acknowledges its loss.
	ID string
}

func (e *ClusterLostError) Error() string {
	return fmt.Sprintf("etcd cluster %s existed and no member holds its data any more (every member restarted empty): "+
		"the virtual cluster stays down rather than come back empty; bring back a member's data volume, or accept the loss "+
		"and start an empty cluster: vkube create <name> --upgrade --set controlPlane.backingStore.etcd.embedded.acknowledgeDataLoss=%s", e.ID, e.ID)
}

// mayFound tells whether the founder may found a new cluster: nothing was recorded, or the
// operator acknowledged the loss of the recorded cluster. A record that cannot be read is no
// answer, so the caller waits rather than found.
func (m *etcdMember) mayFound(ctx context.Context) error {
	if m.ec.Record == nil {
		return nil
	}
	id, acknowledged, err := m.ec.Record.Cluster(ctx)
	if err != nil {
		return fmt.Errorf("reading the etcd cluster record: %w", err)
	}
	switch {
	case id == "":
		return nil
	case m.acknowledged(id, acknowledged):
		m.log.Warn("founding a new, empty etcd cluster in place of the lost one, as acknowledged", "lostCluster", id)
		return nil
	}
	return &ClusterLostError{ID: id}
}

// acknowledged tells whether the operator accepted the loss of cluster id, in the configuration
// or in the record (where `vkube create --upgrade` writes it too, so that replicas waiting
// unready need no restart: a StatefulSet does not roll pods that never become ready).
func (m *etcdMember) acknowledged(id, inRecord string) bool {
	return id != "" && (id == m.ec.AcknowledgeDataLoss || id == inRecord)
}

// reportLoss records a loss once per wait, and logs it at most every 30 s.
func (m *etcdMember) reportLoss(ctx context.Context, err error, reported *time.Time) {
	if time.Since(*reported) < 30*time.Second {
		return
	}
	*reported = time.Now()
	var lost *ClusterLostError
	if !errors.As(err, &lost) {
		m.log.Warn("not founding an etcd cluster: the record of an earlier one cannot be read; waiting", "err", err)
		return
	}
	m.log.Error("not founding an etcd cluster", "err", err)
	if rerr := m.ec.Record.RecordLoss(ctx, lost); rerr != nil {
		m.log.Warn("recording the etcd cluster's loss on the host", "err", rerr)
	}
}

// recordCluster records the identity of the cluster e serves when the record names none or the
// loss the operator acknowledged; a member serving another cluster than the recorded one only
// warns. After a founding it retries until it succeeds (the caller waits: no write may be
// acknowledged before the record exists); otherwise one attempt is enough, the record being
// there already.
func (m *etcdMember) recordCluster(ctx context.Context, e *embed.Etcd, mustSucceed bool) error {
	if m.ec.Record == nil {
		return nil
	}
	cli := v3client.New(e.Server)
	defer cli.Close()
	attempt := func(ctx context.Context) (bool, error) {
		id, err := clusterIdentity(ctx, cli)
		var recorded, acknowledged string
		if err == nil {
			recorded, acknowledged, err = m.ec.Record.Cluster(ctx)
		}
		if err == nil {
			switch {
			case recorded == id:
				return true, nil
			case recorded == "" || m.acknowledged(recorded, acknowledged):
				if err = m.ec.Record.RecordCluster(ctx, id); err == nil {
					m.log.Info("recorded the etcd cluster on the host", "cluster", id)
					return true, nil
				}
			default:
				m.log.Warn("this etcd member serves another cluster than the host records", "cluster", id, "recorded", recorded)
				return true, nil
			}
		}
		m.log.Warn("recording the etcd cluster on the host failed", "err", err, "retry", mustSucceed)
		return !mustSucceed, nil
	}
	return wait.PollUntilContextCancel(ctx, 2*time.Second, true, attempt)
}

// clusterIdentity reads the cluster's identity, giving it one first if it has none (a new
// cluster, or one an older vkube founded).
func clusterIdentity(ctx context.Context, cli *clientv3.Client) (string, error) {
	nonce := make([]byte, 8)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(identityKey), "=", 0)).
		Then(clientv3.OpPut(identityKey, hex.EncodeToString(nonce))).
		Commit()
	if err != nil {
		return "", fmt.Errorf("giving the etcd cluster its identity: %w", err)
	}
	if resp.Succeeded {
		return hex.EncodeToString(nonce), nil
	}
	got, err := cli.Get(ctx, identityKey)
	if err != nil || len(got.Kvs) == 0 {
		return "", fmt.Errorf("reading the etcd cluster's identity: %v", err)
	}
	return string(got.Kvs[0].Value), nil
}
