package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vkube.io/vkube/test/framework"
)

// TestBadInput: each refused start exits non-zero with one clear line naming the problem and
// the fix, and leaves no data dir behind.
func TestBadInput(t *testing.T) {
	requireKube(t, kubeVersion)
	twoStores := writeTemp(t, "two-stores.yaml", `controlPlane:
  backingStore:
    database:
      external:
        enabled: true
        dataSource: postgres://u:hunter2@db:5432/x
    etcd:
      embedded:
        enabled: true
`)
	sqliteHA := writeTemp(t, "ha.yaml", "controlPlane:\n  statefulSet:\n    highAvailability:\n      replicas: 3\n")
	typo := writeTemp(t, "typo.yaml", "controlPlane:\n  distro:\n    k8s:\n      apiServr: {}\n")
	cases := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"unknown distro", []string{"--distro", "k9s"}, nil, []string{"distro", "k9s", "k8s"}},
		{"unknown backend", []string{"--backend", "mongodb"}, nil, []string{"--backend", "mongodb", "sqlite"}},
		{"two backends at once", []string{"-f", twoStores}, nil, []string{"controlPlane.backingStore", "etcd.embedded"}},
		{"sqlite with replicas", []string{"-f", sqliteHA}, nil, []string{"replicas", "embedded etcd"}},
		{"dsn without scheme", []string{"--backend", "postgres", "--datastore-endpoint", "u:hunter2@db:5432/x"}, nil, []string{"scheme"}},
		{"dsn without host", []string{"--backend", "postgres", "--datastore-endpoint", "postgres://u:hunter2@/x"}, nil, []string{"host"}},
		{"mysql dsn without host", []string{"--backend", "mysql"}, []string{"VKUBE_DATASTORE_ENDPOINT=mysql://u:hunter2@tcp()/x"}, []string{"host"}},
		{"backend conflicts with dsn", []string{"--backend", "mysql", "--datastore-endpoint", "postgres://u:hunter2@db:5432/x"}, nil, []string{"conflicts", "use a mysql:// DSN"}},
		{"sqlite with endpoint", []string{"--backend", "sqlite", "--datastore-endpoint", "postgres://u:hunter2@db/x"}, nil, []string{"sqlite", "drop one"}},
		{"endpoint twice", []string{"--datastore-endpoint", "postgres://a@b/c", "--datastore-endpoint-file", "/dev/null"}, nil, []string{"both set"}},
		{"name not a DNS label", []string{"--name", "Bad_Name"}, nil, []string{"name", "DNS"}},
		{"name too long", []string{"--name", strings.Repeat("a", 53)}, nil, []string{"name", "52"}},
		{"missing kube binaries", []string{"--kubernetes-version", "v1.29.99"}, nil, []string{"v1.29.99", "make kube-binaries KUBE_VERSION=v1.29.99"}},
		{"bad version", []string{"--kubernetes-version", "latest"}, nil, []string{"version"}},
		{"unknown key names nearest", []string{"-f", typo}, nil, []string{"apiServr", `did you mean "apiServer"`}},
		{"k3s with replicas", []string{"--distro", "k3s", "-f", sqliteHA}, nil, []string{"replicas"}},
		{"bad log format", []string{"--log-format", "xml"}, nil, []string{"--log-format"}},
		// Each used to get past the checks: a panic once ready, a 10 s wait and a .lock left
		// behind, a vkube-state.json written before the refusal.
		{"negative cert check interval", []string{"--cert-check-interval", "-1s"}, nil, []string{"--cert-check-interval", "-1s", "positive"}},
		{"port out of range", []string{"--port", "99999"}, nil, []string{"--port 99999", "65535"}},
		{"dns port out of range", []string{"--dns-port", "70000"}, nil, []string{"--dns-port 70000", "65535"}},
		{"kubelet port out of range", []string{"--kubelet-port", "-1"}, nil, []string{"--kubelet-port -1", "65535"}},
		{"health address without port", []string{"--health-address", "localhost"}, nil, []string{"--health-address", "HOST:PORT"}},
		{"health address port out of range", []string{"--health-address", "127.0.0.1:99999"}, nil, []string{"--health-address", "0 to 65535"}},
		{"health address not of this machine", []string{"--health-address", "192.0.2.1:0"}, nil, []string{"--health-address", "192.0.2.1:0", "address of this machine"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"start", "--data-dir", dataDir}, tc.args...)
			if !containsArg(tc.args, "--name") {
				args = append(args, "--name", "bad")
			}
			out, code := runVkube(t, tc.env, args...)
			if code == 0 {
				t.Fatalf("exit 0, want failure; output:\n%s", out)
			}
			msg := strings.TrimSpace(out)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not mention %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("error shows the password:\n%s", msg)
			}
			if strings.Contains(msg, "panic") || strings.Count(msg, "error:") != 1 {
				t.Errorf("want one error line:\n%s", msg)
			}
			if _, err := os.Stat(dataDir); err == nil {
				t.Errorf("data dir %s was created by a refused start", dataDir)
			}
		})
	}
}

// TestCreateWithoutKubeconfig: with no kubeconfig anywhere, vkube create says so instead of
// dialing client-go's default server (localhost:8080), and makes nothing.
func TestCreateWithoutKubeconfig(t *testing.T) {
	home := t.TempDir()
	out, code := runVkube(t, []string{"HOME=" + home, "KUBECONFIG="}, "create", "bad", "--connect=false", "--timeout", "10s")
	msg := strings.TrimSpace(out)
	if code == 0 || !strings.Contains(msg, "kubeconfig") || !strings.Contains(msg, "--kubeconfig") || strings.Contains(msg, "localhost:8080") ||
		strings.Count(msg, "\n") != 0 {
		t.Errorf("exit %d, want one line naming the missing kubeconfig and --kubeconfig:\n%s", code, msg)
	}
	if entries, err := os.ReadDir(home); err != nil || len(entries) != 0 {
		t.Errorf("create without a kubeconfig wrote into $HOME: %v %v", entries, err)
	}
}

// TestChangedDistroOrBackendRefused: an existing data dir keeps its distro and backend.
func TestChangedDistroOrBackendRefused(t *testing.T) {
	requireKube(t, kubeVersion)
	v := framework.New(t, vkubeBin, "vc-change")
	v.Start()
	v.WaitReady(2 * time.Minute)
	v.Stop()
	state := framework.ReadFile(t, filepath.Join(v.DataDir, "vkube-state.json"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--backend", "etcd"}, "backend sqlite"},
		{[]string{"--distro", "eks"}, "distro k8s"},
	} {
		out, code := runVkube(t, nil, append([]string{"start", "--name", v.Name, "--data-dir", v.DataDir}, tc.args...)...)
		if code == 0 || !strings.Contains(out, tc.want) || !strings.Contains(out, "not supported") {
			t.Errorf("%v: exit %d, want a refusal mentioning %q:\n%s", tc.args, code, tc.want, out)
		}
	}
	if string(state) != string(framework.ReadFile(t, filepath.Join(v.DataDir, "vkube-state.json"))) {
		t.Error("a refused start rewrote the data dir's state")
	}
}

func runVkube(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(vkubeBin, args...)
	cmd.Env = append(os.Environ(), env...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("vkube %v did not exit within 30s:\n%s", args, out)
	}
	if exit, ok := err.(*exec.ExitError); ok {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func containsArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}
