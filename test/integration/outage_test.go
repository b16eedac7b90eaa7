package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"vkube.io/vkube/test/framework"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/test/dbserver"
)

// TestDatabaseOutage stops the database for 20 s in the middle of writes: the API must recover
// by itself (same vkube process, no restart) and every acknowledged write must still be there.
func TestDatabaseOutage(t *testing.T) {
	requireKube(t, kubeVersion)
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *dbserver.Server
		flag  string
	}{
		{"postgres", dbserver.StartPostgres, "postgres"},
		{"mariadb", dbserver.StartMariaDB, "mariadb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.start(t)
			v := framework.New(t, vkubeBin, "vc-outage-"+tc.name, "--backend", tc.flag)
			v.Env = append(v.Env, "VKUBE_DATASTORE_ENDPOINT="+db.DSN())
			v.Start()
			v.WaitReady(2 * time.Minute)
			cs := v.Client()

			ctx, cancel := context.WithCancel(context.Background())
			var mu sync.Mutex
			var acked []string
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					name := fmt.Sprintf("w-%05d", i)
					rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
					_, err := cs.CoreV1().ConfigMaps("default").Create(rctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
					rcancel()
					if err == nil {
						mu.Lock()
						acked = append(acked, name)
						mu.Unlock()
					} else {
						time.Sleep(100 * time.Millisecond)
					}
				}
			}()
			time.Sleep(3 * time.Second)
			if err := db.Stop(); err != nil {
				t.Fatalf("stopping %s: %v", tc.name, err)
			}
			mu.Lock()
			beforeOutage := len(acked)
			mu.Unlock()
			time.Sleep(20 * time.Second)
			if err := db.Start(); err != nil {
				t.Fatalf("starting %s again: %v", tc.name, err)
			}
			pollT(t, 2*time.Minute, "writes to succeed again after the outage", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(acked) > beforeOutage+20
			})
			cancel()
			wg.Wait()
			select {
			case <-v.Exited:
				t.Fatal("vkube exited during the outage")
			default:
			}
			list, err := cs.CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, cm := range list.Items {
				have[cm.Name] = true
			}
			var lost []string
			for _, n := range acked {
				if !have[n] {
					lost = append(lost, n)
				}
			}
			if len(lost) > 0 {
				t.Fatalf("%d of %d acknowledged writes missing from a LIST: %s", len(lost), len(acked), describeLost(cs, lost))
			}
			t.Logf("%s outage: %d acknowledged writes (%d before the outage), none lost", tc.name, len(acked), beforeOutage)
		})
	}
}

// describeLost says, for each ConfigMap a LIST lacks, whether a GET (read from the datastore,
// not the watch cache) finds it: found means the apiserver's watch missed the write.
func describeLost(cs kubernetes.Interface, names []string) string {
	var out []string
	for _, n := range names {
		cm, err := cs.CoreV1().ConfigMaps("default").Get(context.Background(), n, metav1.GetOptions{})
		if err != nil {
			out = append(out, n+" (GET: "+err.Error()+")")
		} else {
			out = append(out, n+" (GET finds it at resourceVersion "+cm.ResourceVersion+")")
		}
	}
	return strings.Join(out, ", ")
}

// TestUnreachableDatabase starts against a database that is down: vkube stays up, says in its
// log that it retries and why, is live but not ready, and becomes ready once the database is.
func TestUnreachableDatabase(t *testing.T) {
	requireKube(t, kubeVersion)
	db := dbserver.StartPostgres(t)
	if err := db.Stop(); err != nil {
		t.Fatal(err)
	}
	v := framework.New(t, vkubeBin, "vc-unreachable", "--backend", "postgres")
	v.Env = append(v.Env, "VKUBE_DATASTORE_ENDPOINT="+db.DSN())
	v.Start()
	pollT(t, 30*time.Second, "a retry message naming the database server", func() bool {
		out := v.Output()
		return strings.Contains(out, "datastore not available yet; retrying") && strings.Contains(out, fmt.Sprintf("127.0.0.1:%d", db.Port))
	})
	if err := v.Readyz(); err == nil {
		t.Fatal("readyz ok while the database is down")
	}
	resp, err := http.Get("http://" + v.Health + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz while the database is down: %v %v", resp, err)
	}
	resp.Body.Close()
	if strings.Contains(v.Output(), db.Password()) {
		t.Fatal("the log shows the database password")
	}
	if err := db.Start(); err != nil {
		t.Fatal(err)
	}
	v.WaitReady(2 * time.Minute)
}
