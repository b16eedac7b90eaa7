package connectcmd

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// parse runs argv through a root command with connect under it and returns what connect got.
func parse(t *testing.T, argv ...string) (cmd *cobra.Command, name string, command []string, err error) {
	t.Helper()
	root := &cobra.Command{Use: "vkube", SilenceErrors: true, SilenceUsage: true}
	cmd = NewCommand(&bytes.Buffer{}, &bytes.Buffer{})
	cmd.RunE = func(c *cobra.Command, args []string) error {
		var e error
		name, command, e = splitArgs(c, args)
		return e
	}
	root.AddCommand(cmd)
	root.SetArgs(argv)
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	err = root.Execute()
	return cmd, name, command, err
}

func TestArgs(t *testing.T) {
	// seed 000: the namespace flag before the verb, the command after --.
	cmd, name, command, err := parse(t, "-n", "vcl1", "connect", "cl2", "--", "kubectl", "apply", "-f", "https://example.com/import.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if name != "cl2" || !reflect.DeepEqual(command, []string{"kubectl", "apply", "-f", "https://example.com/import.yaml"}) {
		t.Fatalf("name %q command %q", name, command)
	}
	if ns := cmd.Flags().Lookup("namespace").Value.String(); ns != "vcl1" {
		t.Fatalf("namespace %q", ns)
	}

	// seed 002
	cmd, name, command, err = parse(t, "connect", "tenant-1", "-n", "tenant-1", "--server=https://tenant-1-vcluster.example.com",
		"--service-account", "admin", "--cluster-role", "cluster-admin", "--insecure")
	if err != nil || name != "tenant-1" || command != nil {
		t.Fatalf("%v %q %q", err, name, command)
	}
	for flag, want := range map[string]string{"server": "https://tenant-1-vcluster.example.com", "service-account": "admin",
		"cluster-role": "cluster-admin", "insecure": "true", "namespace": "tenant-1"} {
		if got := cmd.Flags().Lookup(flag).Value.String(); got != want {
			t.Errorf("--%s = %q, want %q", flag, got, want)
		}
	}

	for _, bad := range [][]string{
		{"connect"},
		{"connect", "a", "b"},
		{"connect", "a", "--"},
		{"connect", "--", "kubectl"},
	} {
		if _, _, _, err := parse(t, bad...); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestFlags(t *testing.T) {
	cmd := NewCommand(&bytes.Buffer{}, &bytes.Buffer{})
	for _, f := range []string{"kubeconfig", "context", "namespace", "print", "server", "service-account", "cluster-role",
		"insecure", "local-port", "kube-config-context-name", "background", "internal-proxy-only"} {
		if cmd.Flags().Lookup(f) == nil {
			t.Errorf("no --%s", f)
		}
	}
	if !cmd.Flags().Lookup("internal-proxy-only").Hidden {
		t.Error("--internal-proxy-only is not hidden")
	}
	if !strings.Contains(cmd.Long, "--print") || strings.Count(cmd.Example, "vkube connect") < 4 {
		t.Error("help lacks detail")
	}
}
