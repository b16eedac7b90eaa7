package certs

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Inspect shows every certificate of a real bundle, the authorities first, with SANs and dates.
func TestInspect(t *testing.T) {
	store := &memStore{}
	ensure(t, store, t.TempDir(), testOptions())
	infos, err := Inspect(store.files)
	if err != nil {
		t.Fatal(err)
	}
	var crts int
	for name := range store.files {
		if strings.HasSuffix(name, ".crt") {
			crts++
		}
	}
	if len(infos) != crts || !infos[0].CA || infos[len(infos)-1].CA {
		t.Fatalf("%d infos for %d certificates, CAs first: %+v", len(infos), crts, infos)
	}
	i := slices.IndexFunc(infos, func(c Info) bool { return c.File == APIServerCert })
	api := infos[i]
	if !slices.Contains(api.DNSNames, "vc.team-a.svc") || !slices.Contains(api.IPAddresses, "192.0.2.10") ||
		!strings.Contains(api.Issuer, "CN=") || api.Issuer == api.Subject || time.Until(api.NotAfter) < 300*24*time.Hour {
		t.Errorf("apiserver.crt: %+v", api)
	}

	store.files[AdminCert] = []byte("not a certificate")
	if _, err := Inspect(store.files); err == nil || !strings.Contains(err.Error(), AdminCert) {
		t.Errorf("a corrupt certificate: %v, want an error naming %s", err, AdminCert)
	}
}
