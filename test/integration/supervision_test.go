package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"vkube.io/vkube/test/framework"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestChildKilledRestarts kills the apiserver child with SIGKILL 20 times; each time it must come
// back and serve, with nothing lost.
func TestChildKilledRestarts(t *testing.T) {
	requireKube(t, kubeVersion)
	v := framework.New(t, vkubeBin, "vc-kill")
	v.Start()
	v.WaitReady(2 * time.Minute)
	cs := v.Client()
	ctx := context.Background()
	const kills = 20
	var recoveries []time.Duration
	for i := 0; i < kills; i++ {
		name := fmt.Sprintf("before-kill-%d", i)
		if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("kill %d: create %s: %v", i, name, err)
		}
		pids := v.ChildPIDs("kube-apiserver")
		if len(pids) != 1 {
			t.Fatalf("kill %d: want one kube-apiserver child, found %v", i, pids)
		}
		if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		pollT(t, 60*time.Second, fmt.Sprintf("the apiserver to serve again after kill %d", i), func() bool {
			if v.Readyz() != nil {
				return false
			}
			_, err := cs.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{})
			return err == nil
		})
		recoveries = append(recoveries, time.Since(killed))
	}
	list, err := cs.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, cm := range list.Items {
		if len(cm.Name) > 12 && cm.Name[:12] == "before-kill-" {
			found++
		}
	}
	if found != kills {
		t.Fatalf("found %d of %d configmaps written before the kills", found, kills)
	}
	metrics := scrape(t, "http://"+v.Health+"/metrics")
	if !strings.Contains(metrics, fmt.Sprintf(`vkube_child_restarts_total{component="kube-apiserver"} %d`, kills)) {
		t.Errorf("/metrics does not count %d apiserver restarts:\n%s", kills, grepLines(metrics, "vkube_child"))
	}
	// The supervisor and the controller manager have run for over a minute: their start-up code
	// has been paged out and their resident sets shrank by it.
	pollT(t, 2*time.Minute, "start-up code of vkube and the controller manager paged out", func() bool {
		m := scrape(t, "http://"+v.Health+"/metrics")
		return pagedOut(m, "vkube") > 0 && pagedOut(m, "kube-controller-manager") > 0
	})
	sort.Slice(recoveries, func(i, j int) bool { return recoveries[i] < recoveries[j] })
	t.Logf("apiserver recovery after SIGKILL over %d kills: median %s, max %s", kills, recoveries[kills/2].Round(10*time.Millisecond), recoveries[kills-1].Round(10*time.Millisecond))
}

// TestSupervisorKilledLeavesNoChildren kills vkube itself with SIGKILL: no child may survive
// holding ports, and a new vkube on the same data dir starts cleanly with the same objects.
func TestSupervisorKilledLeavesNoChildren(t *testing.T) {
	requireKube(t, kubeVersion)
	v := framework.New(t, vkubeBin, "vc-orphans")
	v.Start()
	v.WaitReady(2 * time.Minute)
	ctx := context.Background()
	if _, err := v.Client().CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "survivor"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := len(v.ChildPIDs("")); n < 2 {
		t.Fatalf("expected apiserver and controller-manager children, found %d", n)
	}
	v.Kill9()
	pollT(t, 10*time.Second, "every child to exit after vkube was killed", func() bool { return len(v.ChildPIDs("")) == 0 })
	v.Start()
	v.WaitReady(2 * time.Minute)
	if _, err := v.Client().CoreV1().ConfigMaps("default").Get(ctx, "survivor", metav1.GetOptions{}); err != nil {
		t.Fatalf("object written before the kill: %v", err)
	}
}

func pollT(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pagedOut is the vkube_paged_out_bytes_total of a component in a /metrics page (0 if absent).
func pagedOut(metrics, component string) float64 {
	prefix := `vkube_paged_out_bytes_total{component="` + component + `"} `
	for _, line := range strings.Split(metrics, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			f, _ := strconv.ParseFloat(rest, 64)
			return f
		}
	}
	return 0
}
