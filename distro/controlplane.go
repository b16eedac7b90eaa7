package distro

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/process"
)

// ControlPlane is a running set of supervised components.
type ControlPlane struct {
	children []*process.Child
	api      *process.Child
	ready    chan struct{}
	errc     chan error
}

// Run writes each component's files and starts the components in order. The API-serving
// component is started first and the rest only once it answers /readyz, so that controllers do
// not spend their first seconds in connection-refused backoff.
func Run(ctx context.Context, opts Options, comps []Component, out io.Writer, log *slog.Logger) (*ControlPlane, error) {
	cp := &ControlPlane{ready: make(chan struct{}), errc: make(chan error, 1)}
	readyz := apiReadyz(opts)
	for _, c := range comps {
		for path, data := range c.Files {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				return nil, fmt.Errorf("%s: writing %s: %w", c.Name, path, err)
			}
		}
	}
	start := func(c Component) (*process.Child, error) {
		spec := process.Spec{Name: c.Name, Path: c.Path, Args: c.Args, Env: c.Env, Dir: opts.DataDir, Output: out, Logger: log}
		if c.ServesAPI {
			spec.Healthy = readyz
		}
		child, err := process.Start(ctx, spec)
		if err != nil {
			return nil, err
		}
		cp.children = append(cp.children, child)
		return child, nil
	}
	var rest []Component
	for _, c := range comps {
		if c.ServesAPI && cp.api == nil {
			child, err := start(c)
			if err != nil {
				return nil, err
			}
			cp.api = child
			continue
		}
		rest = append(rest, c)
	}
	if cp.api == nil {
		return nil, errors.New("distro: no component serves the API")
	}
	go func() {
		select {
		case <-cp.api.Ready():
		case <-ctx.Done():
			return
		}
		for _, c := range rest {
			if _, err := start(c); err != nil {
				cp.errc <- err
				return
			}
		}
		close(cp.ready)
	}()
	return cp, nil
}

// Ready is closed once the API answers /readyz and every component has been started.
func (cp *ControlPlane) Ready() <-chan struct{} { return cp.ready }

// Err delivers a failure to start a component.
func (cp *ControlPlane) Err() <-chan error { return cp.errc }

// Healthy reports whether the API serves right now.
func (cp *ControlPlane) Healthy() bool { return cp.api.Healthy() }

// Children are the supervised processes, in start order.
func (cp *ControlPlane) Children() []*process.Child { return cp.children }

// Stop stops the components in reverse start order.
func (cp *ControlPlane) Stop(ctx context.Context) error {
	var errs []error
	for i := len(cp.children) - 1; i >= 0; i-- {
		errs = append(errs, cp.children[i].Stop(ctx))
	}
	return errors.Join(errs...)
}

// apiReadyz probes the apiserver's /readyz as the admin would.
func apiReadyz(opts Options) func(context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	host := opts.AdvertiseAddress
	if opts.BindAddress != "" && opts.BindAddress != "0.0.0.0" && opts.BindAddress != "::" {
		host = opts.BindAddress
	}
	if host == "" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	url := "https://" + net.JoinHostPort(host, strconv.Itoa(opts.Port)) + "/readyz"
	return func(ctx context.Context) error {
		if client.Transport == nil {
			tr, err := adminTransport(opts.PKI)
			if err != nil {
				return err
			}
			client.Transport = tr
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	}
}

func adminTransport(pki *certs.PKI) (*http.Transport, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pki.File(certs.CACert)) {
		return nil, errors.New("distro: no server CA in the PKI")
	}
	cert, err := tls.X509KeyPair(pki.File(certs.AdminCert), pki.File(certs.AdminKey))
	if err != nil {
		return nil, fmt.Errorf("distro: admin client cert: %w", err)
	}
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "localhost"}, DisableKeepAlives: true}, nil
}
