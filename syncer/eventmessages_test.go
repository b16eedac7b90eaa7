package syncer

import "testing"

// TestEventMessagesInVirtualNames: what a tenant reads in `kubectl describe` names its own
// objects, not their host twins.
func TestEventMessagesInVirtualNames(t *testing.T) {
	w := newEventWords("vc-team", "vc1")
	long := "averyveryverylongnamethatishashedonthehost-x-default-x-vc1-0123456789"
	for _, c := range []struct{ msg, want string }{
		{"Successfully assigned vc-team/web-x-default-x-vc1 to node1", "Successfully assigned default/web to node1"},
		{`persistentvolumeclaim "data-x-db-x-vc1" not found`, `persistentvolumeclaim "data" not found`},
		{`Created container: hello`, `Created container: hello`},
		{"pulling for vc-team/" + long, "pulling for default/pod"},
		{"web-x-default-x-vc10 is another cluster's", "web-x-default-x-vc10 is another cluster's"},
		{"Scaled web.v1-x-default-x-vc1", "Scaled web.v1"},
	} {
		if got := w.virtual(c.msg, long, "default", "pod"); got != c.want {
			t.Errorf("%q: got %q, want %q", c.msg, got, c.want)
		}
	}
}
