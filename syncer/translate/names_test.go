package translate

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestHostName(t *testing.T) {
	if got := HostName("web-5d4f", "team-a", "vc1"); got != "web-5d4f-x-team-a-x-vc1" {
		t.Errorf("got %q", got)
	}
	long := HostName(strings.Repeat("a", 40), "some-namespace", "my-vcluster")
	if len(long) != 63 || !strings.HasPrefix(long, strings.Repeat("a", 40)+"-x-some-na") || long[52] != '-' {
		t.Errorf("long name %q (%d)", long, len(long))
	}
	if HostName(strings.Repeat("a", 60), "b", "c") == HostName(strings.Repeat("a", 60), "b", "d") {
		t.Error("different virtual clusters map to one host name")
	}
}

// The seed case of issue 12: pod a-x-b in namespace c and pod a in namespace b-x-c both had the
// twin a-x-b-x-c-x-vc, so one overwrote and deleted the other.
func TestHostNameSeedCollision(t *testing.T) {
	one, other := HostName("a-x-b", "c", "vc"), HostName("a", "b-x-c", "vc")
	if one == other {
		t.Fatalf("both map to %q", one)
	}
	for _, n := range []string{one, other} {
		if n == "a-x-b-x-c-x-vc" {
			t.Errorf("%q is the readable name of both: it must take the hashed form", n)
		}
		if errs := validation.IsDNS1035Label(n); len(errs) > 0 {
			t.Errorf("%q is no Service name: %v", n, errs)
		}
	}
	// Unambiguous names keep the name they always had (existing twins are not renamed), and
	// long ones vcluster's shortening.
	for _, c := range []struct{ name, ns, want string }{
		{"a", "b", "a-x-b-x-vc"},
		{"web.v1", "prod", "web.v1-x-prod-x-vc"},
		{"x", "x", "x-x-x-x-vc"},
		{"a-x", "b", "a-x-x-b-x-vc"}, // "a-x-x-b" holds two "-x-": hashed, below
	} {
		got := HostName(c.name, c.ns, "vc")
		if c.name == "a-x" {
			if got == c.want {
				t.Errorf("%s/%s kept the ambiguous %q", c.ns, c.name, got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s/%s: %q, want %q", c.ns, c.name, got, c.want)
		}
	}
	long, ns := strings.Repeat("a", 60), "b"
	if got, want := HostName(long, ns, "vc"), SafeName(long+"-x-b-x-vc"); got != want {
		t.Errorf("long name %q, want vcluster's %q", got, want)
	}
}

// randomName builds a DNS label (or, with dots, a subdomain) from a, x, -, . and digits: the
// characters that make "-x-" and its overlaps.
func randomName(r *rand.Rand, dots bool) string {
	alnum := "ax0"
	inner := "ax0--"
	if dots {
		inner += "."
	}
	for {
		n := 1 + r.Intn(9)
		if r.Intn(20) == 0 {
			n = 30 + r.Intn(40) // long ones too: the shortened form
		}
		b := make([]byte, n)
		for i := range b {
			if i == 0 || i == n-1 {
				b[i] = alnum[r.Intn(len(alnum))]
			} else {
				b[i] = inner[r.Intn(len(inner))]
			}
		}
		s := string(b)
		if dots && len(validation.IsDNS1123Subdomain(s)) == 0 || !dots && len(validation.IsDNS1123Label(s)) == 0 {
			return s
		}
	}
}

func TestHostNameInjective(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	for _, vc := range []string{"vc", "x", "a-x-b", "x-x"} {
		seen := map[string]string{}
		for i := 0; i < 40000; i++ {
			name, ns := randomName(r, true), randomName(r, false)
			pair := ns + "/" + name
			host := HostName(name, ns, vc)
			if prev, ok := seen[host]; ok && prev != pair {
				t.Fatalf("vcluster %s: %s and %s both map to %q", vc, prev, pair, host)
			}
			seen[host] = pair
			if len(host) > 63 || len(validation.IsDNS1123Subdomain(host)) > 0 {
				t.Fatalf("%s: host name %q is not a valid name", pair, host)
			}
			if occurrences(name+sep+ns) == 1 && host != SafeName(name+sep+ns+sep+vc) {
				t.Fatalf("%s: unambiguous name renamed to %q", pair, host)
			}
		}
	}
}

func TestHostClusterScopedNameInjective(t *testing.T) {
	if got := HostClusterScopedName("high", "team-a", "vc"); got != "vkube-vc-x-team-a-x-high" {
		t.Errorf("got %q", got)
	}
	// The seed case: one virtual cluster name in two host namespaces.
	if HostClusterScopedName("high", "team-a", "vc") == HostClusterScopedName("high", "team-b", "vc") {
		t.Error("two host namespaces share a twin")
	}
	if HostClusterScopedName("c", "a-x-b", "vc") == HostClusterScopedName("b-x-c", "a", "vc") {
		t.Error("an ambiguous split shares a twin")
	}
	r := rand.New(rand.NewSource(4))
	seen := map[string]string{}
	for i := 0; i < 60000; i++ {
		name, ns, vc := randomName(r, true), randomName(r, false), randomName(r, false)
		triple := fmt.Sprintf("%s %s %s", vc, ns, name)
		host := HostClusterScopedName(name, ns, vc)
		if prev, ok := seen[host]; ok && prev != triple {
			t.Fatalf("%s and %s both map to %q", prev, triple, host)
		}
		seen[host] = triple
		if len(host) > 63 || len(validation.IsDNS1123Subdomain(host)) > 0 {
			t.Fatalf("%s: host name %q is not a valid name", triple, host)
		}
	}
}
