package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/test/framework"
)

// TestHALocalReplicas is the fast HA variant without a host: three replicas on 127.0.0.2–4, one
// embedded etcd cluster across them. A writer records every acknowledged write while each
// replica in turn is killed (SIGKILL: no goodbye) and restarted with its data; none is lost and
// the surviving replicas keep answering.
func TestHALocalReplicas(t *testing.T) {
	requireKube(t, kubeVersion)
	values := writeTemp(t, "ha.yaml", framework.HAValues)
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	var peers []string
	for i, ip := range ips {
		peers = append(peers, "--peer", fmt.Sprintf("ha-%d=%s", i, ip))
	}
	replicas := make([]*framework.VCluster, len(ips))
	for i, ip := range ips {
		args := append([]string{"-f", values, "--kubernetes-version", kubeVersion, "--bind-address", ip, "--member-name", fmt.Sprintf("ha-%d", i)}, peers...)
		for _, san := range ips {
			args = append(args, "--tls-san", san)
		}
		v := framework.New(t, vkubeBin, "ha", args...)
		v.Health = fmt.Sprintf("%s:%d", ip, framework.FreePort(t))
		replicas[i] = v
	}
	// One PKI for all: the first replica writes it before its datastore waits for a quorum.
	replicas[0].Start()
	pollT(t, time.Minute, "the first replica's PKI", func() bool {
		_, err := os.Stat(filepath.Join(replicas[0].DataDir, "pki", "ca.crt"))
		return err == nil
	})
	time.Sleep(time.Second)
	for _, v := range replicas[1:] {
		copyDir(t, filepath.Join(replicas[0].DataDir, "pki"), filepath.Join(v.DataDir, "pki"))
		v.Start()
	}
	for _, v := range replicas {
		v.WaitReady(3 * time.Minute)
	}
	clients := make([]kubernetes.Interface, len(replicas))
	for i, v := range replicas {
		clients[i] = v.Client()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if _, err := clients[0].CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "writes"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for round, victim := range []int{0, 1, 2} {
		// Write through a replica that stays up, as a client behind a load balancer would.
		through := (victim + 1) % len(replicas)
		w := framework.StartWriter(clients[through], "writes", 20*time.Millisecond)
		pollT(t, 30*time.Second, "writes acknowledged before the kill", func() bool { return w.Acked() >= 20 })
		replicas[victim].Kill9()
		start := time.Now()
		pollT(t, 30*time.Second, "writes acknowledged while a replica is down", func() bool { return w.Acked() >= 60 })
		restarted := framework.New(t, vkubeBin, "ha", replicas[victim].Args...)
		restarted.DataDir, restarted.Health, restarted.Port = replicas[victim].DataDir, replicas[victim].Health, replicas[victim].Port
		restarted.Start()
		restarted.WaitReady(3 * time.Minute)
		replicas[victim] = restarted
		clients[victim] = restarted.Client()
		t.Logf("round %d: replica %d back in %.1fs", round, victim, time.Since(start).Seconds())
		w.Stop()
		for i, c := range clients {
			lost, err := w.Lost(ctx, c)
			if err != nil {
				t.Fatalf("listing through replica %d: %v", i, err)
			}
			if len(lost) > 0 {
				t.Fatalf("round %d: %d acknowledged writes missing through replica %d: %v", round, len(lost), i, lost[:min(5, len(lost))])
			}
		}
		outages := w.Outages()
		sort.Slice(outages, func(i, j int) bool { return outages[i] > outages[j] })
		t.Logf("round %d: %d writes acknowledged, none lost; longest pause through replica %d: %v", round, w.Acked(), through, append(outages, 0)[0])
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := e.Info()
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}
