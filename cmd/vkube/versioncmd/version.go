// Package versioncmd is `vkube version`.
package versioncmd

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"vkube.io/vkube/config"
	"vkube.io/vkube/version"
)

// NewCommand builds `vkube version`.
func NewCommand(out io.Writer) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the vkube version",
		Example: "  vkube version\n  vkube version -o json",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := version.Get()
			switch output {
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					version.Info
					DefaultKubernetesVersion string `json:"defaultKubernetesVersion"`
				}{v, config.DefaultKubernetesVersion})
			case "":
				fmt.Fprintf(out, "vkube %s (commit %s, %s, %s)\ndefault Kubernetes version %s\n", v.Version, v.GitCommit, v.GoVersion, v.Platform, config.DefaultKubernetesVersion)
				return nil
			default:
				return fmt.Errorf("--output %q is not supported: use json or leave it empty", output)
			}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	return cmd
}
