// Package certs is the client side of `vkube certs`: where a virtual cluster's certificates are
// (a standalone data dir, or the PKI Secret of one in a host namespace) and how they are shown.
package certs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/cli/hostflags"
	"vkube.io/vkube/names"
)

// FromDataDir reads the certificates of a standalone virtual cluster (`vkube start --data-dir`).
func FromDataDir(ctx context.Context, dir string) ([]certs.Info, error) {
	pki := filepath.Join(dir, "pki")
	files, err := certs.NewDirStore(pki).Load(ctx)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no certificates in %s: --data-dir must be a directory `vkube start` has run with", pki)
	}
	return certs.Inspect(files)
}

// FromHost reads the certificates of virtual cluster name from its PKI Secret on the host.
func FromHost(ctx context.Context, host *hostflags.Flags, name string) ([]certs.Info, error) {
	ns, err := host.Resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	_, client, err := host.Client()
	if err != nil {
		return nil, err
	}
	secret, err := client.CoreV1().Secrets(ns).Get(ctx, names.PKISecret(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("virtual cluster %s has no certificates in namespace %s (Secret %s): has it started once?", name, ns, names.PKISecret(name))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the certificates of %s: %w", name, err)
	}
	return certs.Inspect(secret.Data)
}

// Print writes infos as a table (expiry and what is left of it at now), or as JSON.
func Print(out io.Writer, infos []certs.Info, output string, now time.Time) error {
	switch output {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	case "":
	default:
		return fmt.Errorf("--output %q is not supported: use json or leave it empty", output)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CERTIFICATE\tEXPIRES\tRESIDUAL\tSUBJECT\tISSUER\tSANS")
	for _, c := range infos {
		sans := strings.Join(append(append([]string(nil), c.DNSNames...), c.IPAddresses...), ",")
		if sans == "" {
			sans = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.File, c.NotAfter.Format(time.RFC3339), residual(c.NotAfter.Sub(now)), c.Subject, c.Issuer, sans)
	}
	return w.Flush()
}

// residual is what is left of a certificate's life, as kubeadm's check-expiration words it.
func residual(d time.Duration) string {
	switch days := int(d.Hours() / 24); {
	case d <= 0:
		return "expired"
	case days >= 365:
		return fmt.Sprintf("%dy", days/365)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	default:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
}
