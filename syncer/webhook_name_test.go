package syncer

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// TestGenerateName: the webhook names a generateName'd Service as the API server would: the
// prefix (cut to fit), five random characters, a valid Service name.
func TestGenerateName(t *testing.T) {
	for _, prefix := range []string{"hello-", strings.Repeat("a", 70) + "-"} {
		a, b := generateName(prefix), generateName(prefix)
		if a == b || len(a) > 63 || !strings.HasPrefix(a, prefix[:min(len(prefix), 58)]) {
			t.Errorf("generateName(%q): %q and %q", prefix, a, b)
		}
		if errs := validation.IsDNS1035Label(a); len(errs) > 0 {
			t.Errorf("generateName(%q) = %q: %v", prefix, a, errs)
		}
	}
}
