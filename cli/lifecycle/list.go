package lifecycle

import (
	"context"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/hostside"
	"vkube.io/vkube/names"

	"vkube.io/vkube/cli/hostflags"
)

// Info is one virtual cluster as `vkube list` shows it.
type Info struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Status    string    `json:"status"`
	Replicas  int32     `json:"replicas"`
	Ready     int32     `json:"readyReplicas"`
	Created   time.Time `json:"created"`
	// Context is the host kubeconfig context it was found through.
	Context string `json:"context"`
	// Connected: the current kubeconfig context is this virtual cluster's.
	Connected bool `json:"connected"`
	// Message says why a virtual cluster is not running, when vkube knows.
	Message string `json:"message,omitempty"`
}

// Statuses of a virtual cluster.
const (
	StatusRunning = "Running"
	StatusPaused  = "Paused"
	StatusPending = "Pending"
	// StatusDataLost: every etcd member restarted without data; the replicas stay down until the
	// operator restores or acknowledges the loss (Message says how).
	StatusDataLost = "DataLost"
)

// List finds the virtual clusters in namespace ns, or in all namespaces when ns is "" (falling
// back to the kubeconfig's namespace when the user may not list cluster-wide).
func List(ctx context.Context, host *hostflags.Flags, ns string) ([]Info, error) {
	_, c, err := host.Client()
	if err != nil {
		return nil, err
	}
	hostContext, err := host.CurrentContext()
	if err != nil {
		return nil, err
	}
	sel := metav1.ListOptions{LabelSelector: labelName + "=vkube"}
	sets, err := c.AppsV1().StatefulSets(ns).List(ctx, sel)
	if apierrors.IsForbidden(err) && ns == "" {
		own, _, nerr := host.Getter.ToRawKubeConfigLoader().Namespace()
		if nerr == nil {
			sets, err = c.AppsV1().StatefulSets(own).List(ctx, sel)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("listing virtual clusters: %w", err)
	}
	out := make([]Info, 0, len(sets.Items))
	for i := range sets.Items {
		in := infoOf(&sets.Items[i], hostContext)
		if lost := lostEtcdCluster(ctx, c, in.Namespace, in.Name); lost != "" && in.Status != StatusRunning {
			in.Status, in.Message = StatusDataLost, lost
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// lostEtcdCluster is the loss of the etcd cluster the replicas recorded (hostside.EtcdRecord) and
// the operator has not acknowledged yet; "" when none, or when the record cannot be read (a user
// may list StatefulSets without reading ConfigMaps).
func lostEtcdCluster(ctx context.Context, c kubernetes.Interface, ns, name string) string {
	cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, names.EtcdRecord(name), metav1.GetOptions{})
	if err != nil || cm.Data[hostside.EtcdRecordAcknowledgedKey] != "" {
		return ""
	}
	return cm.Data[hostside.EtcdRecordLostKey]
}

func infoOf(s *appsv1.StatefulSet, hostContext string) Info {
	in := Info{
		Name: s.Name, Namespace: s.Namespace, Replicas: ptr.Deref(s.Spec.Replicas, 1), Ready: s.Status.ReadyReplicas,
		Created: s.CreationTimestamp.Time, Context: hostContext, Status: StatusPending,
	}
	switch _, paused := s.Annotations[annotationPausedReplicas]; {
	case paused:
		in.Status = StatusPaused
	case in.Replicas > 0 && in.Ready == in.Replicas:
		in.Status = StatusRunning
	}
	return in
}
