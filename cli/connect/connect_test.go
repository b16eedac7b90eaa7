package connect

import (
	"strings"
	"testing"
)

// What connect does with a host's objects is TestConnect in test/integration; the port-forward to
// a ready pod, test/e2e (cli_test.go, seeds_test.go).
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, "name is required"},
		{Options{Name: "Bad_Name"}, "virtual cluster name"},
		{Options{Name: "vc", ClusterRole: "cluster-admin"}, "--cluster-role needs --service-account"},
		{Options{Name: "vc", ServiceAccount: "Not Valid"}, "--service-account"},
		{Options{Name: "vc", LocalPort: 70000}, "--local-port"},
		{Options{Name: "vc", Print: true, Command: []string{"kubectl"}}, "--print and a command"},
		{Options{Name: "vc", Background: true, Command: []string{"kubectl"}}, "--background and a command"},
	} {
		err := tc.o.validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.o, err, tc.want)
		}
	}
	o := Options{Name: "vc"}
	if err := o.validate(); err != nil || o.ReadyTimeout != DefaultReadyTimeout {
		t.Fatalf("defaults: %v %+v", err, o)
	}
}
