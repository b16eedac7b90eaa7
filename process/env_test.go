package process

import (
	"slices"
	"testing"
)

func TestChildEnv(t *testing.T) {
	parent := []string{
		"PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8", "LC_ALL=C", "GOGC=100", "TMPDIR=/tmp",
		"VKUBE_DATASTORE_ENDPOINT=postgres://u:secret@db/", "K3S_DATASTORE_ENDPOINT=postgres://u:secret@db/",
		"AWS_SECRET_ACCESS_KEY=secret", "KUBECONFIG=/root/.kube/config",
		"HTTPS_PROXY=http://proxy:3128", "http_proxy=http://u:secret@proxy:3128", "NO_PROXY=localhost",
		"HTTP_PROXY=u:secret@proxy:3128", "malformed",
	}
	got := ChildEnv(parent, []string{"GOGC=50", "FOO=bar"})
	want := []string{"PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8", "LC_ALL=C", "GOGC=100", "TMPDIR=/tmp",
		"HTTPS_PROXY=http://proxy:3128", "NO_PROXY=localhost", "GOGC=50", "FOO=bar"}
	if !slices.Equal(got, want) {
		t.Fatalf("ChildEnv:\n got %q\nwant %q", got, want)
	}
}
