package encoding

import (
	"reflect"
	"testing"

	"vkube.io/vkube/config"
)

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"apiServr", "apiServer", 1}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestNearestKey(t *testing.T) {
	known := schemaKeys(reflect.TypeOf(config.K8sDistro{}))
	for key, want := range map[string]string{
		"apiServr":          "apiServer",
		"apiserver":         "apiServer",
		"controlerManager":  "controllerManager",
		"versoin":           "version",
		"enable":            "enabled",
		"completelyUnknown": "",
		"x":                 "",
	} {
		if got := nearestKey(key, known); got != want {
			t.Errorf("nearestKey(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestSchemaKeysFollowInlineStructs(t *testing.T) {
	// K3sDistro embeds Component inline: its keys are the k3s block's own.
	want(t, "k3s keys", schemaKeys(reflect.TypeOf(config.K3sDistro{})), []string{"command", "enabled", "env", "extraArgs", "token", "version"})
	got := schemaKeys(reflect.TypeOf(config.ExternalDatabase{}))
	want(t, "external database keys", got, []string{"caFile", "certFile", "dataSource", "dataSourceFile", "enabled", "keyFile"})
}
