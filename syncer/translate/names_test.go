package translate

import (
	"strings"
	"testing"
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
