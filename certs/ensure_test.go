package certs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// memStore is a Store that counts saves, so tests can tell "nothing changed" from "saved the same".
type memStore struct {
	files map[string][]byte
	saves int
}

func (s *memStore) Load(context.Context) (map[string][]byte, error) { return maps.Clone(s.files), nil }

func (s *memStore) Save(_ context.Context, files map[string][]byte) error {
	s.files = maps.Clone(files)
	s.saves++
	return nil
}

func testOptions() Options {
	return Options{
		Name:         "vc",
		Namespace:    "team-a",
		IPs:          []net.IP{net.ParseIP("10.96.0.1"), net.ParseIP("192.0.2.10")},
		DNSNames:     []string{"vc.example.com", "203.0.113.7"},
		EtcdDNSNames: []string{"vc-etcd-0.vc-etcd-headless.team-a"},
	}
}

func ensure(t *testing.T, store Store, dir string, opts Options) (*PKI, []string) {
	t.Helper()
	p, changed, err := Ensure(context.Background(), store, dir, opts)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return p, changed
}

func mustCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	c, err := parseCert("test", data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// verify checks a leaf against its CA for one usage and, when host is set, one SAN.
func verify(t *testing.T, leafPEM, caPEM []byte, usage x509.ExtKeyUsage, host string, at time.Time) error {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(mustCert(t, caPEM))
	_, err := mustCert(t, leafPEM).Verify(x509.VerifyOptions{
		Roots:       roots,
		KeyUsages:   []x509.ExtKeyUsage{usage},
		DNSName:     host,
		CurrentTime: at,
	})
	return err
}

func TestEnsureCreatesEverything(t *testing.T) {
	storeDir := filepath.Join(t.TempDir(), "store")
	p, changed := ensure(t, NewDirStore(storeDir), filepath.Join(t.TempDir(), "pki"), testOptions())
	if len(changed) == 0 {
		t.Fatal("fresh Ensure reported no changes")
	}
	stored, err := NewDirStore(storeDir).Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range FileNames() {
		onDisk, err := os.ReadFile(p.Path(name))
		if err != nil {
			t.Fatalf("%s not materialised: %v", name, err)
		}
		if len(onDisk) == 0 || !bytes.Equal(onDisk, stored[name]) {
			t.Errorf("%s: disk and store differ or empty", name)
		}
	}

	for _, a := range authorities {
		c := mustCert(t, p.File(a.cert))
		if !c.IsCA || c.NotAfter.Sub(time.Now()) < 9*365*24*time.Hour {
			t.Errorf("%s: IsCA=%v NotAfter=%s, want a 10-year CA", a.cert, c.IsCA, c.NotAfter)
		}
	}

	now := time.Now()
	cases := []struct {
		cert, key, ca string
		usage         x509.ExtKeyUsage
		cn            string
		orgs          []string
	}{
		{APIServerCert, APIServerKey, CACert, x509.ExtKeyUsageServerAuth, "kube-apiserver", nil},
		{APIServerKubeletClientCert, APIServerKubeletClientKey, ClientCACert, x509.ExtKeyUsageClientAuth, "kube-apiserver-kubelet-client", []string{"system:masters"}},
		{APIServerEtcdClientCert, APIServerEtcdClientKey, EtcdCACert, x509.ExtKeyUsageClientAuth, "kube-apiserver-etcd-client", nil},
		{FrontProxyClientCert, FrontProxyClientKey, FrontProxyCACert, x509.ExtKeyUsageClientAuth, "front-proxy-client", nil},
		{EtcdServerCert, EtcdServerKey, EtcdCACert, x509.ExtKeyUsageServerAuth, "etcd-server", nil},
		{EtcdServerCert, EtcdServerKey, EtcdCACert, x509.ExtKeyUsageClientAuth, "etcd-server", nil},
		{EtcdPeerCert, EtcdPeerKey, EtcdCACert, x509.ExtKeyUsageServerAuth, "etcd-peer", nil},
		{EtcdPeerCert, EtcdPeerKey, EtcdCACert, x509.ExtKeyUsageClientAuth, "etcd-peer", nil},
		{AdminCert, AdminKey, ClientCACert, x509.ExtKeyUsageClientAuth, "kubernetes-admin", []string{"system:masters"}},
		{ControllerManagerCert, ControllerManagerKey, ClientCACert, x509.ExtKeyUsageClientAuth, "system:kube-controller-manager", nil},
		{SchedulerCert, SchedulerKey, ClientCACert, x509.ExtKeyUsageClientAuth, "system:kube-scheduler", nil},
	}
	for _, tc := range cases {
		if err := verify(t, p.File(tc.cert), p.File(tc.ca), tc.usage, "", now); err != nil {
			t.Errorf("%s does not verify against %s for %v: %v", tc.cert, tc.ca, tc.usage, err)
		}
		for _, other := range authorities {
			if other.cert != tc.ca && verify(t, p.File(tc.cert), p.File(other.cert), tc.usage, "", now) == nil {
				t.Errorf("%s also verifies against %s", tc.cert, other.cert)
			}
		}
		c := mustCert(t, p.File(tc.cert))
		if c.Subject.CommonName != tc.cn || !slices.Equal(c.Subject.Organization, tc.orgs) {
			t.Errorf("%s: subject %s, want CN=%s O=%v", tc.cert, c.Subject, tc.cn, tc.orgs)
		}
		if _, err := tls.X509KeyPair(p.File(tc.cert), p.File(tc.key)); err != nil {
			t.Errorf("%s/%s are not a pair: %v", tc.cert, tc.key, err)
		}
	}
	clientOnly := mustCert(t, p.File(AdminCert))
	if slices.Contains(clientOnly.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Errorf("admin cert can serve: %v", clientOnly.ExtKeyUsage)
	}

	for _, host := range []string{
		"localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local", "vc", "vc.team-a", "vc.team-a.svc",
		"vc.team-a.svc.cluster.local", "10.96.0.1", "192.0.2.10", "vc.example.com", "203.0.113.7",
	} {
		if err := verify(t, p.File(APIServerCert), p.File(CACert), x509.ExtKeyUsageServerAuth, host, now); err != nil {
			t.Errorf("apiserver cert not valid for %s: %v", host, err)
		}
	}
	if api := mustCert(t, p.File(APIServerCert)); slices.Contains(api.DNSNames, "203.0.113.7") {
		t.Errorf("IP-looking tls-san stored as DNS name: %v", api.DNSNames)
	}
	for _, name := range []string{EtcdServerCert, EtcdPeerCert} {
		for _, host := range []string{"localhost", "127.0.0.1", "vc-etcd-0.vc-etcd-headless.team-a"} {
			if err := verify(t, p.File(name), p.File(EtcdCACert), x509.ExtKeyUsageServerAuth, host, now); err != nil {
				t.Errorf("%s not valid for %s: %v", name, host, err)
			}
		}
	}

	saKey, err := parseKey(SAKey, p.File(SAKey))
	if err != nil {
		t.Fatal(err)
	}
	ecKey, ok := saKey.(*ecdsa.PrivateKey)
	if !ok || ecKey.Curve != elliptic.P256() {
		t.Fatalf("sa.key is %T, want ECDSA P-256", saKey)
	}
	if pub, _ := encodePublicKey(ecKey.Public()); !bytes.Equal(pub, p.File(SAPub)) {
		t.Error("sa.pub does not match sa.key")
	}
}

func TestEnsureTwiceChangesNothing(t *testing.T) {
	store := &memStore{}
	dir := t.TempDir()
	ensure(t, store, dir, testOptions())
	first := maps.Clone(store.files)

	p, changed := ensure(t, store, dir, testOptions())
	if len(changed) != 0 {
		t.Errorf("second Ensure changed %v", changed)
	}
	if store.saves != 1 {
		t.Errorf("store saved %d times, want 1", store.saves)
	}
	if !maps.EqualFunc(first, store.files, bytes.Equal) {
		t.Error("stored bundle changed")
	}
	for name, data := range first {
		if !bytes.Equal(p.File(name), data) {
			t.Errorf("%s differs after second Ensure", name)
		}
	}
}

func TestEnsureNewSANReissuesOnlyServingCert(t *testing.T) {
	store := &memStore{}
	dir := t.TempDir()
	ensure(t, store, dir, testOptions())
	before := maps.Clone(store.files)

	opts := testOptions()
	opts.DNSNames = append(opts.DNSNames, "vc.new.example.com")
	p, changed := ensure(t, store, dir, opts)
	if len(changed) != 1 || !strings.HasPrefix(changed[0], APIServerCert) || !strings.Contains(changed[0], "vc.new.example.com") {
		t.Fatalf("changed = %v, want only %s for the new SAN", changed, APIServerCert)
	}
	for name, data := range before {
		if name != APIServerCert && !bytes.Equal(data, store.files[name]) {
			t.Errorf("%s changed", name)
		}
	}
	if !bytes.Equal(before[APIServerKey], p.File(APIServerKey)) {
		t.Error("serving key was replaced instead of kept")
	}
	for _, host := range []string{"vc.new.example.com", "vc.example.com", "kubernetes.default.svc"} {
		if err := verify(t, p.File(APIServerCert), before[CACert], x509.ExtKeyUsageServerAuth, host, time.Now()); err != nil {
			t.Errorf("new serving cert against old CA for %s: %v", host, err)
		}
	}
	if err := verify(t, before[AdminCert], p.File(ClientCACert), x509.ExtKeyUsageClientAuth, "", time.Now()); err != nil {
		t.Errorf("old admin cert no longer valid: %v", err)
	}
	onDisk, err := os.ReadFile(p.Path(APIServerCert))
	if err != nil || !bytes.Equal(onDisk, p.File(APIServerCert)) {
		t.Errorf("re-issued serving cert not written to disk: %v", err)
	}

	// Dropping a SAN again is not a reason to re-issue: the cert still covers everything wanted.
	if _, changed := ensure(t, store, dir, testOptions()); len(changed) != 0 {
		t.Errorf("removing a SAN changed %v", changed)
	}
}

func TestEnsureRenewsLeavesNotCAs(t *testing.T) {
	start := time.Now()
	now := start
	opts := testOptions()
	opts.Validity = 24 * time.Hour
	opts.Now = func() time.Time { return now }
	store := &memStore{}
	dir := t.TempDir()
	ensure(t, store, dir, opts)
	before := maps.Clone(store.files)

	now = start.Add(10 * time.Hour)
	if _, changed := ensure(t, store, dir, opts); len(changed) != 0 {
		t.Fatalf("renewed with 14h of 24h left (renew-before 8h): %v", changed)
	}

	now = start.Add(20 * time.Hour)
	p, changed := ensure(t, store, dir, opts)
	if len(changed) != len(leaves) {
		t.Errorf("changed = %v, want every one of %d leaves", changed, len(leaves))
	}
	for _, a := range authorities {
		for _, name := range []string{a.cert, a.key} {
			if !bytes.Equal(before[name], p.File(name)) {
				t.Errorf("CA file %s changed", name)
			}
		}
	}
	for _, name := range []string{SAKey, SAPub} {
		if !bytes.Equal(before[name], p.File(name)) {
			t.Errorf("%s changed", name)
		}
	}
	for _, l := range leaves {
		c := mustCert(t, p.File(l.cert))
		if want := now.Add(opts.Validity); c.NotAfter.Sub(want).Abs() > time.Second {
			t.Errorf("%s: NotAfter %s, want %s", l.cert, c.NotAfter, want)
		}
		usage := l.subject.usages[0]
		if err := verify(t, p.File(l.cert), p.File(l.ca.cert), usage, "", now.Add(10*time.Hour)); err != nil {
			t.Errorf("renewed %s does not verify: %v", l.cert, err)
		}
	}
}

func TestEnsureFileModes(t *testing.T) {
	storeDir := filepath.Join(t.TempDir(), "store")
	dir := filepath.Join(t.TempDir(), "pki")
	ensure(t, NewDirStore(storeDir), dir, testOptions())
	for _, d := range []string{storeDir, dir} {
		if info, err := os.Stat(d); err != nil || info.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v (%v), want 0700", d, info.Mode().Perm(), err)
		}
		for _, name := range FileNames() {
			info, err := os.Stat(filepath.Join(d, name))
			if err != nil {
				t.Fatal(err)
			}
			want := os.FileMode(0o644)
			if strings.HasSuffix(name, ".key") {
				want = 0o600
			}
			if info.Mode().Perm() != want {
				t.Errorf("%s/%s: mode %v, want %v", d, name, info.Mode().Perm(), want)
			}
		}
	}

	// A key loosened by hand is tightened again even though its bytes are unchanged.
	if err := os.Chmod(filepath.Join(dir, AdminKey), 0o644); err != nil {
		t.Fatal(err)
	}
	ensure(t, NewDirStore(storeDir), dir, testOptions())
	if info, _ := os.Stat(filepath.Join(dir, AdminKey)); info.Mode().Perm() != 0o600 {
		t.Errorf("admin.key left at %v", info.Mode().Perm())
	}
}

func TestEnsureCorruptFileIsNamed(t *testing.T) {
	for _, name := range []string{AdminCert, AdminKey, CACert, EtcdCAKey, SAKey} {
		t.Run(name, func(t *testing.T) {
			store := &memStore{}
			ensure(t, store, t.TempDir(), testOptions())
			store.files[name] = []byte("not PEM at all")
			_, _, err := Ensure(context.Background(), store, t.TempDir(), testOptions())
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("err = %v, want one naming %s", err, name)
			}
		})
	}
}

func TestEnsureMissingHalfOfCAIsAnError(t *testing.T) {
	store := &memStore{}
	ensure(t, store, t.TempDir(), testOptions())
	delete(store.files, ClientCAKey)
	_, _, err := Ensure(context.Background(), store, t.TempDir(), testOptions())
	if err == nil || !strings.Contains(err.Error(), ClientCAKey) {
		t.Fatalf("err = %v, want one naming %s", err, ClientCAKey)
	}
}

func TestEnsureRecreatesMissingLeaf(t *testing.T) {
	store := &memStore{}
	ensure(t, store, t.TempDir(), testOptions())
	before := maps.Clone(store.files)
	delete(store.files, SchedulerCert)

	p, changed := ensure(t, store, t.TempDir(), testOptions())
	if len(changed) != 1 || !strings.HasPrefix(changed[0], SchedulerCert) {
		t.Fatalf("changed = %v, want only %s", changed, SchedulerCert)
	}
	if !bytes.Equal(before[SchedulerKey], p.File(SchedulerKey)) {
		t.Error("scheduler key replaced")
	}
	if _, err := tls.X509KeyPair(p.File(SchedulerCert), p.File(SchedulerKey)); err != nil {
		t.Error(err)
	}
}

func TestEnsureRejectsBadOptions(t *testing.T) {
	opts := testOptions()
	opts.Validity = time.Hour
	opts.RenewBefore = 2 * time.Hour
	if _, _, err := Ensure(context.Background(), &memStore{}, t.TempDir(), opts); err == nil {
		t.Fatal("renew-before longer than validity accepted")
	}
}

// TestEnsureKeepsAnRSAServiceAccountKey: a bundle from before the switch to ECDSA keeps its RSA
// key, or every token already issued would stop working.
func TestEnsureKeepsAnRSAServiceAccountKey(t *testing.T) {
	store := &memStore{}
	dir := t.TempDir()
	ensure(t, store, dir, testOptions())
	old, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if store.files[SAKey], err = encodeKey(old); err != nil {
		t.Fatal(err)
	}
	p, _ := ensure(t, store, dir, testOptions())
	if !bytes.Equal(p.File(SAKey), store.files[SAKey]) {
		t.Fatal("the RSA key was replaced")
	}
	if pub, _ := encodePublicKey(old.Public()); !bytes.Equal(pub, p.File(SAPub)) {
		t.Error("sa.pub does not match the kept RSA key")
	}
}
