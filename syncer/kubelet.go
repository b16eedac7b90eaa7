package syncer

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"vkube.io/vkube/syncer/translate"
)

// KubeletConfig configures the kubelet endpoint vkube serves for its fake nodes.
type KubeletConfig struct {
	// Listen is host:port to serve on.
	Listen string
	// ServingCert/Key are a kubelet serving certificate the virtual apiserver trusts
	// (--kubelet-certificate-authority); Client admits the apiserver's kubelet-client
	// certificate and nothing else.
	ServingCert, ServingKey []byte
	Client                  ClientPin
	Host                    *rest.Config
	HostNamespace, VCluster string
	Logger                  *slog.Logger
}

// ServeKubelet answers the virtual apiserver's kubelet calls (logs, exec, attach, port-forward)
// by proxying them, upgrades included, to the host API's pod subresources of the host twin.
func ServeKubelet(ctx context.Context, cfg KubeletConfig) (net.Addr, error) {
	cert, err := tls.X509KeyPair(cfg.ServingCert, cfg.ServingKey)
	if err != nil {
		return nil, fmt.Errorf("kubelet endpoint: serving cert: %w", err)
	}
	tlsConfig, err := cfg.Client.tlsConfig(cert)
	if err != nil {
		return nil, fmt.Errorf("kubelet endpoint: %w", err)
	}
	host := rest.CopyConfig(cfg.Host)
	// Upgraded streams (SPDY) need HTTP/1.1 to the host API.
	host.TLSClientConfig.NextProtos = []string{"http/1.1"}
	transport, err := rest.TransportFor(host)
	if err != nil {
		return nil, fmt.Errorf("kubelet endpoint: host transport: %w", err)
	}
	target, err := url.Parse(host.Host)
	if err != nil {
		return nil, err
	}
	proxy := &httputil.ReverseProxy{
		Transport:     transport,
		FlushInterval: -1,
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = target.Scheme, target.Host
			r.Out.Host = target.Host
			// The apiserver's own credentials must not travel on; the transport adds vkube's.
			r.Out.Header.Del("Authorization")
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "vkube kubelet proxy: "+err.Error(), http.StatusBadGateway)
		},
	}
	log := cfg.Logger.With("component", "kubelet-proxy")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, ok := hostSubresource(r.URL, cfg.HostNamespace, cfg.VCluster)
		if !ok {
			if r.URL.Path == "/healthz" {
				_, _ = w.Write([]byte("ok"))
				return
			}
			// The host node's own endpoints (stats, metrics, pods, configz) would show every
			// tenant's pods and the node: vkube's kubelet serves this cluster's pods only.
			http.Error(w, "vkube kubelet: "+r.URL.Path+" is not served; a virtual node serves /healthz, and the logs, exec, attach and port-forward of this virtual cluster's pods", http.StatusNotFound)
			return
		}
		log.Debug("proxying kubelet call", "path", r.URL.Path, "to", out.Path)
		r.URL = out
		proxy.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("kubelet endpoint %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsConfig}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	return l.Addr(), nil
}

// hostSubresource maps a kubelet path of a virtual pod to the host API path of its twin:
// /containerLogs/NS/POD/C → pods/HOSTPOD/log?container=C, /exec|/attach/NS/POD/C →
// pods/HOSTPOD/exec|attach?container=C, /portForward/NS/POD → pods/HOSTPOD/portforward.
func hostSubresource(u *url.URL, hostNS, vcluster string) (*url.URL, bool) {
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 3 {
		return nil, false
	}
	verb, ns, pod := parts[0], parts[1], parts[2]
	container := ""
	if len(parts) > 3 {
		container = parts[len(parts)-1]
	}
	sub := map[string]string{"containerLogs": "log", "exec": "exec", "attach": "attach", "portForward": "portforward", "run": "exec"}[verb]
	if sub == "" {
		return nil, false
	}
	if len(parts) == 5 {
		// /exec/NS/POD/UID/CONTAINER form
		container = parts[4]
	}
	q := u.Query()
	// The kubelet names the streams input/output/error; the API's subresources stdin/stdout/stderr.
	for kubelet, api := range map[string]string{"input": "stdin", "output": "stdout", "error": "stderr"} {
		if vals, ok := q[kubelet]; ok {
			q[api] = vals
			q.Del(kubelet)
		}
	}
	if container != "" {
		q.Set("container", container)
	}
	if verb == "run" {
		q.Del("cmd")
	}
	out := &url.URL{Path: "/api/v1/namespaces/" + hostNS + "/pods/" + translate.HostName(pod, ns, vcluster) + "/" + sub, RawQuery: q.Encode()}
	return out, true
}
