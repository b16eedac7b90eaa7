package certs

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"vkube.io/vkube/certs"
)

func TestPrint(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	infos := []certs.Info{
		{File: "ca.crt", Subject: "CN=vkube-ca", Issuer: "CN=vkube-ca", CA: true, NotAfter: now.AddDate(10, 0, 1)},
		{File: "apiserver.crt", Subject: "CN=kube-apiserver", Issuer: "CN=vkube-ca", NotAfter: now.Add(40 * 24 * time.Hour), DNSNames: []string{"vc.team.svc"}, IPAddresses: []string{"10.96.0.1"}},
		{File: "admin.crt", Subject: "CN=admin", Issuer: "CN=vkube-client-ca", NotAfter: now.Add(-time.Hour)},
	}
	var out bytes.Buffer
	if err := Print(&out, infos, "", now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, want := range [][]string{{"CERTIFICATE", "EXPIRES", "RESIDUAL", "SANS"}, {"ca.crt", "10y", "-"}, {"apiserver.crt", "40d", "vc.team.svc,10.96.0.1"}, {"admin.crt", "expired"}} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
	out.Reset()
	if err := Print(&out, infos, "json", now); err != nil {
		t.Fatal(err)
	}
	var back []certs.Info
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || len(back) != 3 || back[1].DNSNames[0] != "vc.team.svc" {
		t.Errorf("json: %v %+v", err, back)
	}
	if err := Print(&out, infos, "yaml", now); err == nil || !strings.Contains(err.Error(), "--output") {
		t.Errorf("an unknown output: %v", err)
	}
}

func TestFromDataDirRefusesADirWithoutCertificates(t *testing.T) {
	dir := t.TempDir()
	if _, err := FromDataDir(context.Background(), dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("a data dir without a PKI: %v, want an error naming it", err)
	}
}
