package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// countingProxy stands between one vkube and the host apiserver and counts every request vkube
// sends, by verb and resource. vkube exports no client metrics for its host client, and the host
// apiserver's apiserver_request_total has no user or user-agent label: on a host other tests
// share, a before/after diff of it counts their requests too.
type countingProxy struct {
	addr string
	srv  *http.Server
	mu   sync.Mutex
	// counts by "verb resource[/subresource]", e.g. "create pods", "watch secrets".
	counts map[string]int
}

// startCountingProxy serves plain HTTP on a loopback port and forwards to the host with cfg's
// credentials (watches stream through).
func startCountingProxy(cfg *rest.Config) (*countingProxy, error) {
	target, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, err
	}
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &countingProxy{addr: l.Addr().String(), counts: map[string]int{}}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     tr,
		FlushInterval: -1,
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.counts[requestKind(r)]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go func() {
		if err := p.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			progress("counting proxy: %v", err)
		}
	}()
	return p, nil
}

// writeKubeconfig writes a kubeconfig that reaches the host through the proxy.
func (p *countingProxy) writeKubeconfig(path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["host"] = &clientcmdapi.Cluster{Server: "http://" + p.addr}
	kc.AuthInfos["proxy"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["host"] = &clientcmdapi.Context{Cluster: "host", AuthInfo: "proxy"}
	kc.CurrentContext = "host"
	return clientcmd.WriteToFile(*kc, path)
}

// snapshot copies the counts so far.
func (p *countingProxy) snapshot() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

func (p *countingProxy) close() { _ = p.srv.Shutdown(context.Background()) }

// requestKind names a request the way the apiserver's audit log would: verb and resource.
func requestKind(r *http.Request) string {
	path := strings.Trim(r.URL.Path, "/")
	var parts []string
	switch {
	case strings.HasPrefix(path, "api/"):
		parts = strings.Split(path, "/")[2:] // api/v1/...
	case strings.HasPrefix(path, "apis/"):
		parts = strings.Split(path, "/")
		if len(parts) < 3 {
			return r.Method + " /" + path
		}
		parts = parts[3:] // apis/group/version/...
	default:
		return r.Method + " /" + path
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	if len(parts) == 0 {
		return r.Method + " /" + path
	}
	resource, named := parts[0], len(parts) >= 2
	if len(parts) >= 3 {
		resource += "/" + parts[2]
	}
	verb := map[string]string{http.MethodPost: "create", http.MethodPut: "update", http.MethodPatch: "patch"}[r.Method]
	switch r.Method {
	case http.MethodGet:
		switch {
		case r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodDelete:
		verb = "delete"
		if !named {
			verb = "deletecollection"
		}
	}
	if verb == "" {
		verb = r.Method
	}
	return verb + " " + resource
}

// diffCounts is b − a, without zeros.
func diffCounts(a, b map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range b {
		if d := v - a[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}
