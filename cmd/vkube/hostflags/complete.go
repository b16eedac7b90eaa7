package hostflags

import (
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CompleteNames completes a NAME argument with the virtual clusters the host shows (in -n's
// namespace when given, else in all namespaces). f is read when completion runs, after the
// flags are parsed.
func CompleteNames(f **Flags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 || *f == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		_, c, err := (*f).Client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		ns := ""
		if (*f).NamespaceSet() {
			ns = (*f).namespace
		}
		sets, err := c.AppsV1().StatefulSets(ns).List(cmd.Context(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=vkube"})
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		names := make([]cobra.Completion, 0, len(sets.Items))
		for _, s := range sets.Items {
			names = append(names, cobra.CompletionWithDesc(s.Name, "namespace "+s.Namespace))
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
