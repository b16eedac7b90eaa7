package dbserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"vkube.io/vkube/binaries"
)

// EtcdVersion is the etcd server `make test-deps` builds from the Go module proxy (the version
// vkube embeds); Kubernetes supports etcd 3.5+, Debian ships 3.4.
const EtcdVersion = "v3.7.3"

// etcdBinary prefers $VKUBE_ETCD_BIN, then the etcd built by `make test-deps`, then Debian's.
func etcdBinary() (map[string]string, error) {
	if p := os.Getenv("VKUBE_ETCD_BIN"); p != "" {
		return map[string]string{"etcd": p}, nil
	}
	if p := filepath.Join(binaries.CacheDir(), "etcd", EtcdVersion, "etcd"); fileExists(p) {
		return map[string]string{"etcd": p}, nil
	}
	return lookPath("etcd")
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// StartEtcd starts a one-member etcd (the etcd server built by make test-deps, else Debian's 3.4) with plain-HTTP client
// URL http://127.0.0.1:Port and its peer URL on another free port, no authentication. It returns
// once /health reports healthy.
func StartEtcd(t testing.TB) *Server {
	t.Helper()
	s, err := LaunchEtcd(t)
	return must(t, s, err)
}

// StartEtcdOn is StartEtcd with its client and peer URLs on host, an IPv4 address of this
// machine, instead of 127.0.0.1: for clients that do not share the machine's loopback, such as
// pods of the host cluster (host: its node IP).
func StartEtcdOn(t testing.TB, host string) *Server {
	t.Helper()
	s, err := LaunchEtcdOn(t, host)
	return must(t, s, err)
}

// LaunchEtcd is StartEtcd for any Owner: the server runs until o's cleanups run. An error wrapping
// ErrUnavailable means no etcd binary was found.
func LaunchEtcd(o Owner) (*Server, error) { return LaunchEtcdOn(o, loopback) }

// LaunchEtcdOn is StartEtcdOn for any Owner.
func LaunchEtcdOn(o Owner, host string) (*Server, error) {
	bins, err := etcdBinary()
	if err != nil {
		return nil, unavailable(KindEtcd, err)
	}

	s, err := newServer(o, KindEtcd, "vketcd-", host)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(s.dir, "data")
	var peerPort int
	s.command = func() *exec.Cmd {
		client := "http://" + s.Host + ":" + strconv.Itoa(s.Port)
		peer := "http://" + s.Host + ":" + strconv.Itoa(peerPort)
		cmd := exec.Command(bins["etcd"],
			"--name", "vkube-test",
			"--data-dir", data,
			"--listen-client-urls", client,
			"--advertise-client-urls", client,
			"--listen-peer-urls", peer,
			"--initial-advertise-peer-urls", peer,
			"--initial-cluster", "vkube-test="+peer,
			"--initial-cluster-state", "new",
			"--snapshot-count", "10000",
			"--heartbeat-interval", "100",
			"--election-timeout", "500", // one member: elects itself sooner after a restart
			"--logger", "zap",
			"--log-outputs", "stderr",
		)
		cmd.Dir = s.dir
		var extra []string
		if runtime.GOARCH != "amd64" {
			extra = append(extra, "ETCD_UNSUPPORTED_ARCH="+runtime.GOARCH) // etcd 3.4 wants it on arm64
		}
		cmd.Env = env([]string{"ETCD"}, extra...)
		return cmd
	}
	s.probe = func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.DSN()+"/health", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
			return fmt.Errorf("/health: %s %s", resp.Status, strings.TrimSpace(string(body)))
		}
		return nil
	}
	if err := s.firstStart(o, func() error {
		ports, err := freePorts(s.Host, 2)
		if err == nil {
			s.Port, peerPort = ports[0], ports[1]
		}
		return err
	}, func() {
		// The failed try may have written its peer URL into a new member's data.
		_ = os.RemoveAll(data)
	}); err != nil {
		return nil, err
	}
	return s, nil
}
