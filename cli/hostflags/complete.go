package hostflags

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"vkube.io/vkube/names"
)

// CompleteNames completes a virtual cluster name as the first argument: with -n, those that have
// an admin kubeconfig Secret in that namespace; without, vkube's StatefulSets in all namespaces
// (one outside its default namespace is described with the -n it needs).
func CompleteNames(host *Flags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, client, err := host.Client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var found []cobra.Completion
		if host.NamespaceSet() {
			found = namesInNamespace(ctx, client, host.Namespace(""))
		} else {
			found = namesEverywhere(ctx, client)
		}
		var out []cobra.Completion
		for _, c := range found {
			if strings.HasPrefix(c, toComplete) {
				out = append(out, c)
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func namesInNamespace(ctx context.Context, client kubernetes.Interface, ns string) []cobra.Completion {
	secrets, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: names.LabelCluster})
	if err != nil {
		return nil
	}
	var found []cobra.Completion
	for _, s := range secrets.Items {
		if name := s.Labels[names.LabelCluster]; s.Name == names.KubeconfigSecret(name) {
			found = append(found, name)
		}
	}
	return found
}

func namesEverywhere(ctx context.Context, client kubernetes.Interface) []cobra.Completion {
	list, err := client.AppsV1().StatefulSets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=vkube"})
	if err != nil {
		return nil
	}
	var names []cobra.Completion
	for _, sts := range list.Items {
		name := sts.Labels["app.kubernetes.io/instance"]
		if name == "" {
			name = sts.Name
		}
		if sts.Namespace == DefaultNamespace(name) {
			names = append(names, name)
		} else {
			names = append(names, cobra.CompletionWithDesc(name, "in namespace "+sts.Namespace+": add -n "+sts.Namespace))
		}
	}
	return names
}
