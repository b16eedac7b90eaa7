package syncer

import (
	"fmt"
	"strings"
	"testing"
)

// A toHost mirror is in the host namespace: seed 004's bare name goes there, another namespace
// (where vkube may not write) is refused with the fix.
func TestHostMirrors(t *testing.T) {
	got, err := hostMirrors([]ServiceMapping{{From: "default/nettool-virtual", To: "nettool-virtual"}, {From: "default/a", To: "vc-team/a"}}, "vc-team")
	if err != nil || got[0].To != "vc-team/nettool-virtual" || got[1].To != "vc-team/a" {
		t.Fatalf("hostMirrors = %v, %v", got, err)
	}
	_, err = hostMirrors([]ServiceMapping{{From: "default/a", To: "kube-system/a"}}, "vc-team")
	if err == nil || !strings.Contains(err.Error(), "toHost[0].to") || !strings.Contains(err.Error(), "use vc-team/a or a") {
		t.Fatalf("a mirror in another namespace: %v", err)
	}
}

// Which mappings an object concerns: a virtual Service is a fromHost mirror or a toHost source,
// a host Service a toHost mirror.
func TestReplicatorMappingsOfObjects(t *testing.T) {
	r := &replicator{fromHost: []ServiceMapping{{From: "infra/echo", To: "kube-system/echo"}},
		toHost: []ServiceMapping{{From: "default/hello", To: "vc/hello-mirror"}, {From: "kube-system/echo", To: "vc/echo-back"}}}
	for _, c := range []struct {
		got  []int
		want string
	}{
		{r.virtualService("kube-system", "echo"), "[0 2]"},
		{r.virtualService("default", "hello"), "[1]"},
		{r.virtualService("default", "other"), "[]"},
		{r.hostService("vc", "hello-mirror"), "[1]"},
		{r.hostService("infra", "echo"), "[]"},
	} {
		if got := fmt.Sprint(c.got); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
}
