package addons

import (
	"net/netip"
	"testing"
)

// What the allocator does with Services on a real apiserver is TestHostLoadBalancer in
// test/integration.
func TestFreeAddress(t *testing.T) {
	pool := netip.MustParsePrefix("172.31.250.64/30")
	addr := netip.MustParseAddr
	for _, tc := range []struct {
		desc      string
		used      []string
		requested string
		want      string // "" means exhausted
	}{
		{"the network address is skipped", nil, "", "172.31.250.65"},
		{"distinct from those in use", []string{"172.31.250.65"}, "", "172.31.250.66"},
		{"a /30 has two usable addresses, the broadcast address is skipped", []string{"172.31.250.65", "172.31.250.66"}, "", ""},
		{"a requested free address", nil, "172.31.250.66", "172.31.250.66"},
		{"a requested address in use is not shared", []string{"172.31.250.66"}, "172.31.250.66", "172.31.250.65"},
		{"a requested address outside the pool", nil, "10.0.0.1", "172.31.250.65"},
	} {
		used := map[netip.Addr]bool{}
		for _, u := range tc.used {
			used[addr(u)] = true
		}
		got, err := freeAddress(pool, used, tc.requested)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%s: got %s from an exhausted pool", tc.desc, got)
		case tc.want != "" && (err != nil || got != addr(tc.want)):
			t.Errorf("%s: got %s (%v), want %s", tc.desc, got, err, tc.want)
		}
	}
}
