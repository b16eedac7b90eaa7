package hostcluster

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig("/var/tmp/host").withDefaults()
	if err := ok.validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for name, tc := range map[string]struct {
		mutate func(*Config)
		want   string
	}{
		"relative dir":       {func(c *Config) { c.Dir = "host" }, "absolute"},
		"dir too deep":       {func(c *Config) { c.Dir = "/" + strings.Repeat("d", 100) }, "too long"},
		"loopback node IP":   {func(c *Config) { c.NodeIP = "127.0.0.2" }, "outside 127.0.0.0/8"},
		"DNS IP outside":     {func(c *Config) { c.DNSServiceIP = "10.97.0.10" }, "dnsServiceIP"},
		"bad pod CIDR":       {func(c *Config) { c.PodCIDR = "10.244.0.0" }, "podCIDR"},
		"bridge name length": {func(c *Config) { c.Bridge = "a-very-long-bridge" }, "15 characters"},
	} {
		t.Run(name, func(t *testing.T) {
			c := ok
			tc.mutate(&c)
			if err := c.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestFirstServiceIP(t *testing.T) {
	if got := firstServiceIP("10.96.0.0/16").String(); got != "10.96.0.1" {
		t.Fatalf("firstServiceIP = %s", got)
	}
}
