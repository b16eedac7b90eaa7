package isolation

import (
	"context"
	"testing"
)

// The labelling itself, a watch on a real apiserver, is TestIsolationAgainstAnAPIServer in
// test/integration.
func TestEnforcePSSRefusesAnUnknownLevel(t *testing.T) {
	if err := EnforcePSS(context.Background(), nil, "strict"); err == nil {
		t.Fatal("level strict accepted")
	}
}
