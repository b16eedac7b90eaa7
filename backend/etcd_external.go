package backend

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"vkube.io/vkube/config"
)

// externalEtcd is an etcd cluster vkube does not run: it only waits until one member answers.
type externalEtcd struct {
	lifecycle
	endpoint Endpoint
}

func startExternalEtcd(ctx context.Context, cfg Config) (Backend, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("backend etcd-external: no endpoints: set controlPlane.backingStore.etcd.external.endpoint")
	}
	hosts := make([]string, 0, len(cfg.Endpoints))
	for _, e := range cfg.Endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("backend etcd-external: endpoint %q is not an http(s)://host:port URL", config.RedactDSN(e))
		}
		if u.User != nil {
			// It would reach kube-apiserver's command line, and etcd takes no password there.
			return nil, fmt.Errorf("backend etcd-external: endpoint %q carries a user name or password: authenticate with a client certificate instead", config.RedactDSN(e))
		}
		hosts = append(hosts, u.Host)
	}
	b := &externalEtcd{lifecycle: newLifecycle(), endpoint: Endpoint{Servers: cfg.Endpoints, TLS: cfg.ClientTLS, Prefix: etcdPrefix(cfg.DatabaseName)}}
	ectx, cancel := context.WithCancel(ctx)
	b.cancel = cancel
	go func() {
		defer close(b.stopped)
		backoff := wait.Backoff{Duration: time.Second, Factor: 1.5, Jitter: 0.1, Steps: 100, Cap: 15 * time.Second}
		for attempt := 1; ; attempt++ {
			for _, h := range hosts {
				if dialOnce(ectx, "tcp", h) == nil {
					close(b.ready)
					<-ectx.Done()
					return
				}
			}
			delay := backoff.Step()
			cfg.Logger.Error("external etcd not reachable yet; retrying", "endpoints", hosts, "attempt", attempt, "retryIn", delay.Round(100*time.Millisecond))
			select {
			case <-ectx.Done():
				return
			case <-time.After(delay):
			}
		}
	}()
	return b, nil
}

func (b *externalEtcd) Kind() Kind         { return EtcdExternal }
func (b *externalEtcd) Endpoint() Endpoint { return b.endpoint }

// etcdPrefix is a virtual cluster's key prefix on an external etcd: /vkube_<ns>_<name>/registry.
func etcdPrefix(databaseName string) string {
	if databaseName == "" {
		return ""
	}
	return "/" + databaseName + "/registry"
}
