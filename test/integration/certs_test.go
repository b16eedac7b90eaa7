package integration

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/test/framework"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCertRenewal runs with 90 s leaf certificates checked every 3 s: the serving certificate
// is replaced before it expires while the API keeps answering, the CA stays, and the rewritten
// admin kubeconfig works.
func TestCertRenewal(t *testing.T) {
	requireKube(t, kubeVersion)
	v := framework.New(t, vkubeBin, "vc-renew", "--cert-validity", "90s", "--cert-check-interval", "3s")
	v.Start()
	v.WaitReady(2 * time.Minute)
	ca := framework.ReadFile(t, filepath.Join(v.DataDir, "pki", "ca.crt"))
	first := servingNotAfter(t, v.Port)
	kubeconfig := framework.ReadFile(t, v.Kubeconfig())

	var worstGap, gap time.Duration
	last := time.Now()
	deadline := time.Now().Add(2 * time.Minute)
	for servingNotAfter(t, v.Port).Equal(first) {
		if time.Now().After(deadline) {
			t.Fatal("serving certificate not renewed within 2 minutes")
		}
		if v.Readyz() == nil {
			last = time.Now()
		} else if gap = time.Since(last); gap > worstGap {
			worstGap = gap
		}
		time.Sleep(200 * time.Millisecond)
	}
	if worstGap > 2*time.Second {
		t.Errorf("API not ready for %s during renewal", worstGap)
	}
	if !bytes.Equal(ca, framework.ReadFile(t, filepath.Join(v.DataDir, "pki", "ca.crt"))) {
		t.Fatal("renewal replaced the CA")
	}
	// `vkube certs check` shows the renewed date.
	out, err := exec.Command(vkubeBin, "certs", "check", "--data-dir", v.DataDir, "-o", "json").Output()
	var infos []certs.Info
	if err == nil {
		err = json.Unmarshal(out, &infos)
	}
	if i := slices.IndexFunc(infos, func(c certs.Info) bool { return c.File == certs.APIServerCert }); err != nil || i < 0 || !infos[i].NotAfter.After(first) {
		t.Errorf("vkube certs check --data-dir after renewal (serving certificate first expired %s): %v\n%s", first, err, out)
	}
	pollT(t, 30*time.Second, "the admin kubeconfig to be rewritten", func() bool {
		b, _ := os.ReadFile(v.Kubeconfig())
		return len(b) > 0 && !bytes.Equal(b, kubeconfig)
	})
	if _, err := v.Client().CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{}); err != nil {
		t.Fatalf("renewed admin kubeconfig: %v", err)
	}
	pollT(t, 30*time.Second, "the controller-manager to run with its renewed certificate", func() bool {
		return len(v.ChildPIDs("kube-controller-manager")) == 1
	})
}

func servingNotAfter(t *testing.T, port int) time.Time {
	t.Helper()
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return time.Time{}
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].NotAfter
}
