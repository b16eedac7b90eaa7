package startconfig

import (
	"strings"
	"testing"
)

// TestPasswordOnTheCommandLineWarns: a DSN with a password given as a flag is visible in every
// process listing; the user is told so (the check once looked for a redaction marker
// RedactDSN never writes).
func TestPasswordOnTheCommandLineWarns(t *testing.T) {
	cases := []struct {
		endpoint string
		flag     bool
		warn     bool
	}{
		{"postgres://vkube:secret@db:5432/", true, true},
		{"postgres://vkube@db:5432/?password=secret", true, true},
		{"mysql://root:secret@tcp(db:3306)/", true, true},
		{"postgres://vkube@db:5432/", true, false},
		{"postgres://vkube:secret@db:5432/", false, false}, // from VKUBE_DATASTORE_ENDPOINT
	}
	for _, tc := range cases {
		f := &Flags{Endpoint: tc.endpoint}
		changed := func(name string) bool { return tc.flag && name == "datastore-endpoint" }
		_, warnings, err := f.Build(changed)
		if err != nil {
			t.Fatalf("%s: %v", tc.endpoint, err)
		}
		got := strings.Contains(strings.Join(warnings, "\n"), "process listings")
		if got != tc.warn {
			t.Errorf("%s (flag %v): warned %v, want %v (warnings %q)", tc.endpoint, tc.flag, got, tc.warn, warnings)
		}
		for _, w := range warnings {
			if strings.Contains(w, "secret") {
				t.Errorf("a warning shows the password: %q", w)
			}
		}
	}
}

func TestEtcdPasswordRefused(t *testing.T) {
	f := &Flags{Endpoint: "https://root:secret@etcd-0:2379"}
	_, _, err := f.Build(func(name string) bool { return name == "datastore-endpoint" })
	if err == nil {
		t.Fatal("an etcd URL with a password was accepted")
	}
	msg := err.Error()
	if strings.Contains(msg, "secret") || strings.Contains(msg, "\n") || !strings.Contains(msg, "controlPlane.backingStore.etcd.external.endpoint") {
		t.Fatalf("want one line naming the field and not the password, got %q", msg)
	}
}
