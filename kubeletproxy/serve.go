// Package kubeletproxy is the kubelet endpoint of a virtual cluster's nodes: the virtual API
// server's logs, exec, attach and port-forward calls go to the host API's subresources of the
// pod's host twin. It admits only the API server's own kubelet-client certificate.
package kubeletproxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"k8s.io/client-go/rest"

	"vkube.io/vkube/certs"
)

// Config configures the kubelet endpoint vkube serves for its nodes.
type Config struct {
	// Listen is host:port to serve on.
	Listen string
	// ServingCert/Key are a kubelet serving certificate the virtual apiserver trusts
	// (--kubelet-certificate-authority); Client admits the apiserver's kubelet-client
	// certificate and nothing else.
	ServingCert, ServingKey []byte
	Client                  certs.ClientPin
	Host                    *rest.Config
	HostNamespace, VCluster string
	Logger                  *slog.Logger
}

// Serve answers the virtual apiserver's kubelet calls (logs, exec, attach, port-forward) by
// proxying them, upgrades included, to the host API's pod subresources of the host twin, until
// ctx ends. It returns the address it listens on.
func Serve(ctx context.Context, cfg Config) (net.Addr, error) {
	cert, err := tls.X509KeyPair(cfg.ServingCert, cfg.ServingKey)
	if err != nil {
		return nil, fmt.Errorf("kubelet endpoint: serving cert: %w", err)
	}
	tlsConfig, err := cfg.Client.TLSConfig(cert)
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
		return nil, fmt.Errorf("kubelet endpoint: host URL: %w", err)
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
