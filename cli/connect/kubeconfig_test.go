package connect

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"vkube.io/vkube/cli/hostflags"
)

var testCred = credentials{CA: []byte("CA"), ClientCert: []byte("CERT"), ClientKey: []byte("KEY")}

func TestContextName(t *testing.T) {
	for _, tc := range []struct{ name, ns, host, want string }{
		{"my-vcluster", "vkube-my-vcluster", "kind-kind", "vkube_my-vcluster_vkube-my-vcluster_kind-kind"},
		{"tenant-1", "tenant-1", "arn:aws:eks:eu-west-1:1:cluster/prod_x", "vkube_tenant-1_tenant-1_arn:aws:eks:eu-west-1:1:cluster/prod_x"},
		{"a", "b", "", "vkube_a_b"},
	} {
		got := ContextName(tc.name, tc.ns, tc.host)
		if got != tc.want {
			t.Errorf("ContextName(%q, %q, %q) = %q, want %q", tc.name, tc.ns, tc.host, got, tc.want)
		}
		parent, ok := hostflags.ParentContext(got)
		if ok != (tc.host != "") || parent != tc.host {
			t.Errorf("hostflags.ParentContext(%q) = %q, %v; want %q", got, parent, ok, tc.host)
		}
	}
	for _, notOurs := range []string{"kind-kind", "vkube_a", "vcluster_a_b_c", "vkube_a_b_"} {
		if p, ok := hostflags.ParentContext(notOurs); ok {
			t.Errorf("hostflags.ParentContext(%q) = %q, want none", notOurs, p)
		}
	}
}

func TestBuildKubeconfig(t *testing.T) {
	const name = "vkube_vc_ns_host"
	for _, tc := range []struct {
		desc          string
		ep            endpoint
		cred          credentials
		wantCA        bool
		wantInsecure  bool
		wantTLSServer string
		wantToken     string
	}{
		{desc: "port-forward", ep: endpoint{Server: "https://127.0.0.1:41234"}, cred: testCred, wantCA: true},
		{desc: "load balancer", ep: endpoint{Server: "https://203.0.113.7:443", TLSServerName: "vc"}, cred: testCred, wantCA: true, wantTLSServer: "vc"},
		{desc: "server insecure", ep: endpoint{Server: "https://vc.example.com", Insecure: true}, cred: testCred, wantInsecure: true},
		{desc: "load balancer insecure", ep: endpoint{Server: "https://lb.example.com:443", TLSServerName: "vc", Insecure: true}, cred: testCred, wantInsecure: true},
		{desc: "service account token", ep: endpoint{Server: "https://vc.example.com", Insecure: true}, cred: credentials{CA: []byte("CA"), Token: "TOKEN"}, wantInsecure: true, wantToken: "TOKEN"},
		{desc: "token with CA", ep: endpoint{Server: "https://127.0.0.1:1"}, cred: credentials{CA: []byte("CA"), Token: "TOKEN"}, wantCA: true, wantToken: "TOKEN"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			kc := buildKubeconfig(name, tc.ep, tc.cred)
			if err := clientcmd.Validate(*kc); err != nil {
				t.Fatalf("invalid kubeconfig: %v", err)
			}
			// Through YAML and back, as users see it.
			data, err := clientcmd.Write(*kc)
			if err != nil {
				t.Fatal(err)
			}
			kc, err = clientcmd.Load(data)
			if err != nil {
				t.Fatal(err)
			}
			if kc.CurrentContext != name || kc.Contexts[name].Cluster != name || kc.Contexts[name].AuthInfo != name {
				t.Fatalf("context: %+v current %q", kc.Contexts[name], kc.CurrentContext)
			}
			c, u := kc.Clusters[name], kc.AuthInfos[name]
			if c.Server != tc.ep.Server {
				t.Errorf("server %q, want %q", c.Server, tc.ep.Server)
			}
			if got := len(c.CertificateAuthorityData) > 0; got != tc.wantCA {
				t.Errorf("CA present %v, want %v", got, tc.wantCA)
			}
			if c.InsecureSkipTLSVerify != tc.wantInsecure {
				t.Errorf("insecure %v, want %v", c.InsecureSkipTLSVerify, tc.wantInsecure)
			}
			if c.TLSServerName != tc.wantTLSServer {
				t.Errorf("tls-server-name %q, want %q", c.TLSServerName, tc.wantTLSServer)
			}
			if u.Token != tc.wantToken {
				t.Errorf("token %q, want %q", u.Token, tc.wantToken)
			}
			if tc.wantToken != "" && (len(u.ClientCertificateData) > 0 || len(u.ClientKeyData) > 0) {
				t.Error("token user also carries the admin certificate")
			}
			if tc.wantToken == "" && (string(u.ClientCertificateData) != "CERT" || string(u.ClientKeyData) != "KEY") {
				t.Errorf("client cert/key %q/%q", u.ClientCertificateData, u.ClientKeyData)
			}
			cfg, err := clientcmd.NewDefaultClientConfig(*kc, nil).ClientConfig()
			if err != nil {
				t.Fatalf("rest config: %v", err)
			}
			if cfg.TLSClientConfig.ServerName != tc.wantTLSServer {
				t.Errorf("rest ServerName %q, want %q", cfg.TLSClientConfig.ServerName, tc.wantTLSServer)
			}
		})
	}
}

func secretKubeconfig(t *testing.T) []byte {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["vc"] = &clientcmdapi.Cluster{Server: "https://vc.ns.svc:443", CertificateAuthorityData: []byte("CA")}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: []byte("CERT"), ClientKeyData: []byte("KEY")}
	kc.Contexts["vc"] = &clientcmdapi.Context{Cluster: "vc", AuthInfo: "admin"}
	kc.CurrentContext = "vc"
	data, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCredentialsFromSecret(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "vc-vc", Namespace: "ns"}
	for _, tc := range []struct {
		desc    string
		data    map[string][]byte
		wantErr bool
	}{
		{desc: "config", data: map[string][]byte{"config": secretKubeconfig(t)}},
		{desc: "separate keys", data: map[string][]byte{"certificate-authority": []byte("CA"), "client-certificate": []byte("CERT"), "client-key": []byte("KEY")}},
		{desc: "empty", data: map[string][]byte{}, wantErr: true},
		{desc: "garbage config", data: map[string][]byte{"config": []byte("\x00not yaml")}, wantErr: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c, err := credentialsFromSecret(&corev1.Secret{ObjectMeta: meta, Data: tc.data})
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %+v", c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(c.CA) != "CA" || string(c.ClientCert) != "CERT" || string(c.ClientKey) != "KEY" {
				t.Fatalf("credentials %+v", c)
			}
		})
	}
}

// writeKubeconfig writes a host kubeconfig with contexts host-a (current) and host-b.
func writeKubeconfig(t *testing.T, path string, current string) {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	for _, n := range []string{"host-a", "host-b"} {
		kc.Clusters[n] = &clientcmdapi.Cluster{Server: "https://" + n + ":6443"}
		kc.AuthInfos[n] = &clientcmdapi.AuthInfo{Token: n}
		kc.Contexts[n] = &clientcmdapi.Context{Cluster: n, AuthInfo: n, Namespace: "default"}
	}
	kc.CurrentContext = current
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
}

func explicitAccess(path string) clientcmd.ConfigAccess {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	return rules
}

func TestMergeAndSwitchBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	writeKubeconfig(t, path, "host-a")
	access := explicitAccess(path)
	name := ContextName("vc", "vkube-vc", "host-a")
	server := "https://127.0.0.1:41234"
	kc := buildKubeconfig(name, endpoint{Server: server}, testCred)

	prev, err := mergeAndSwitch(access, kc, name, "host-a")
	if err != nil {
		t.Fatal(err)
	}
	if prev != "host-a" {
		t.Fatalf("previous context %q, want host-a", prev)
	}
	got := load(t, path)
	if got.CurrentContext != name {
		t.Fatalf("current context %q, want %q", got.CurrentContext, name)
	}
	if got.Clusters[name] == nil || got.Clusters[name].Server != server || got.AuthInfos[name] == nil || got.Contexts[name] == nil {
		t.Fatalf("entries not merged: %+v", got)
	}
	if got.Contexts["host-a"] == nil || got.Contexts["host-b"] == nil || got.AuthInfos["host-a"].Token != "host-a" {
		t.Fatal("host entries lost")
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Errorf("kubeconfig mode %v (%v), want 0600", st.Mode(), err)
	}

	// Connecting again while connected: the host context stands in for "previous".
	server2 := "https://127.0.0.1:41235"
	prev2, err := mergeAndSwitch(access, buildKubeconfig(name, endpoint{Server: server2}, testCred), name, "host-a")
	if err != nil {
		t.Fatal(err)
	}
	if prev2 != "host-a" {
		t.Fatalf("previous context on reconnect %q, want host-a", prev2)
	}
	if s := load(t, path).Clusters[name].Server; s != server2 {
		t.Fatalf("server after reconnect %q, want %q", s, server2)
	}

	// The first session's disconnect must not remove what the second wrote.
	if err := switchBack(access, name, prev, server); err != nil {
		t.Fatal(err)
	}
	got = load(t, path)
	if got.CurrentContext != "host-a" || got.Clusters[name] == nil {
		t.Fatalf("after a stale switch back: current %q, cluster %v", got.CurrentContext, got.Clusters[name])
	}

	// The second one's disconnect removes its entries; the user had switched to host-b meanwhile.
	if _, err := mergeAndSwitch(access, buildKubeconfig(name, endpoint{Server: server2}, testCred), name, "host-a"); err != nil {
		t.Fatal(err)
	}
	cfg := load(t, path)
	cfg.CurrentContext = "host-b"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	if err := switchBack(access, name, prev2, server2); err != nil {
		t.Fatal(err)
	}
	got = load(t, path)
	if got.CurrentContext != "host-b" {
		t.Fatalf("switch back overrode the user's choice: current %q", got.CurrentContext)
	}
	if got.Clusters[name] != nil || got.AuthInfos[name] != nil || got.Contexts[name] != nil {
		t.Fatal("entries of the dead port-forward kept")
	}
	if len(got.Contexts) != 2 {
		t.Fatalf("contexts %v", got.Contexts)
	}
}

func TestMergeIntoKUBECONFIGFirstFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeKubeconfig(t, a, "host-b")
	other := clientcmdapi.NewConfig()
	other.Clusters["other"] = &clientcmdapi.Cluster{Server: "https://other"}
	if err := clientcmd.WriteToFile(*other, b); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", a+string(os.PathListSeparator)+b)
	access := clientcmd.NewDefaultClientConfigLoadingRules()
	name := ContextName("vc", "ns", "host-b")
	prev, err := mergeAndSwitch(access, buildKubeconfig(name, endpoint{Server: "https://127.0.0.1:1"}, testCred), name, "host-b")
	if err != nil {
		t.Fatal(err)
	}
	if prev != "host-b" {
		t.Fatalf("prev %q", prev)
	}
	if got := load(t, a); got.CurrentContext != name || got.Contexts[name] == nil {
		t.Fatalf("first file: current %q, contexts %v", got.CurrentContext, got.Contexts)
	}
	if got := load(t, b); len(got.Contexts) != 0 || got.Clusters["other"] == nil {
		t.Fatalf("second file changed: %+v", got)
	}
	if err := switchBack(access, name, prev, "https://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if got := load(t, a); got.CurrentContext != "host-b" || got.Contexts[name] != nil {
		t.Fatalf("after switch back: current %q, contexts %v", got.CurrentContext, got.Contexts)
	}
}

func TestMergeIntoMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "config")
	access := explicitAccess(path)
	name := "mine"
	prev, err := mergeAndSwitch(access, buildKubeconfig(name, endpoint{Server: "https://127.0.0.1:1"}, testCred), name, "")
	if err != nil {
		t.Fatal(err)
	}
	if prev != "" {
		t.Fatalf("prev %q", prev)
	}
	if got := load(t, path); got.CurrentContext != name {
		t.Fatalf("current %q", got.CurrentContext)
	}
}

func load(t *testing.T, path string) *clientcmdapi.Config {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return kc
}
