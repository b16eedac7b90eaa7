package lifecycle

import (
	"context"
	"fmt"
	"io"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	"helm.sh/helm/v4/pkg/strvals"

	"vkube.io/vkube/charts"
	"vkube.io/vkube/cli/hostflags"
	"vkube.io/vkube/config"
	"vkube.io/vkube/config/encoding"
	"vkube.io/vkube/hostside"
)

// CreateOptions are `vkube create`'s inputs.
type CreateOptions struct {
	Name      string
	Namespace string
	// ValuesFiles are vkube.yaml or legacy vcluster values files, layered in order; Set are
	// key=value overrides on top, as with helm --set.
	ValuesFiles       []string
	Set               []string
	Distro            string
	KubernetesVersion string
	// Expose makes the API Service a LoadBalancer; Isolate turns on the isolation policies.
	Expose  bool
	Isolate bool
	// Upgrade changes an existing virtual cluster: its previous values, then the new ones.
	Upgrade bool
	Timeout time.Duration
}

// Create installs (or with Upgrade, upgrades) the chart and waits until the virtual cluster
// answers. Everything that can be refused is checked before anything is created.
func Create(ctx context.Context, host *hostflags.Flags, o CreateOptions, progress io.Writer) error {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	_, client, err := host.Client()
	if err != nil {
		return err
	}
	if err := checkAccess(ctx, client, o.Namespace); err != nil {
		return err
	}
	hcfg, err := helmFor(host, o.Namespace)
	if err != nil {
		return err
	}
	prev, exists, err := releaseValues(hcfg, o.Name)
	if err != nil {
		return err
	}
	// A virtual cluster applied from `helm template` output has objects but no release:
	// --upgrade adopts them.
	adopt := false
	if !exists {
		if _, err := controlPlane(ctx, client, o.Namespace, o.Name); err == nil {
			if !o.Upgrade {
				return fmt.Errorf("virtual cluster %s already exists in namespace %s (applied without Helm): add --upgrade to take it over", o.Name, o.Namespace)
			}
			adopt = true
		}
	}
	if exists && !o.Upgrade {
		return fmt.Errorf("virtual cluster %s already exists in namespace %s: add --upgrade to change it, or run vkube connect %s -n %s", o.Name, o.Namespace, o.Name, o.Namespace)
	}
	if err := checkNamespaceFree(ctx, client, o.Namespace, o.Name); err != nil {
		return err
	}
	cfg, warnings, err := buildConfig(prev, o)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(progress, "warning:", w)
	}
	vals, err := chartValues(cfg)
	if err != nil {
		return err
	}
	level, err := hostNamespaceLevel(cfg)
	if err != nil {
		return err
	}
	if err := ensureNamespace(ctx, client, o.Namespace, o.Name, level, progress); err != nil {
		return err
	}
	chrt, err := charts.Load()
	if err != nil {
		return err
	}
	if dyn, err := dynamicFor(host); err != nil {
		return err
	} else if err := adoptIsolation(ctx, dyn, o.Namespace, o.Name, cfg.Policies); err != nil {
		return err
	}
	if exists {
		fmt.Fprintf(progress, "upgrading virtual cluster %s in namespace %s\n", o.Name, o.Namespace)
		if err := scaleDownFirst(ctx, client, o.Namespace, o.Name, cfg.Replicas(), o.Timeout, progress); err != nil {
			return err
		}
		if err := labelRunningControlPlane(ctx, client, o.Namespace, o.Name, progress); err != nil {
			return err
		}
		if err := acknowledgeDataLoss(ctx, client, o.Namespace, o.Name, cfg, progress); err != nil {
			return err
		}
		u := action.NewUpgrade(hcfg)
		u.Namespace, u.Timeout, u.WaitStrategy = o.Namespace, o.Timeout, kube.HookOnlyStrategy
		if _, err := u.RunWithContext(ctx, o.Name, chrt, vals); err != nil {
			return fmt.Errorf("upgrading virtual cluster %s: %w", o.Name, err)
		}
	} else {
		fmt.Fprintf(progress, "creating virtual cluster %s in namespace %s\n", o.Name, o.Namespace)
		i := action.NewInstall(hcfg)
		i.ReleaseName, i.Namespace, i.Timeout, i.WaitStrategy = o.Name, o.Namespace, o.Timeout, kube.HookOnlyStrategy
		i.TakeOwnership, i.ForceConflicts = adopt, adopt
		if _, err := i.RunWithContext(ctx, chrt, vals); err != nil {
			return fmt.Errorf("creating virtual cluster %s: %w", o.Name, err)
		}
	}
	return WaitReady(ctx, client, o.Namespace, o.Name, o.Timeout, progress)
}

// acknowledgeDataLoss writes an acknowledged etcd data loss into the host record too: replicas
// waiting unready for it read it there and found a new cluster, where the new values alone
// would wait for a rollout that a StatefulSet does not make through pods that never get ready.
func acknowledgeDataLoss(ctx context.Context, c kubernetes.Interface, ns, name string, cfg *config.Config, progress io.Writer) error {
	id := cfg.ControlPlane.BackingStore.Etcd.Embedded.AcknowledgeDataLoss
	if id == "" {
		return nil
	}
	rec := &hostside.EtcdRecord{Client: c, Namespace: ns, VCluster: name}
	recorded, _, err := rec.Cluster(ctx)
	if err != nil || recorded != id {
		return err
	}
	fmt.Fprintf(progress, "acknowledging the loss of etcd cluster %s: the replicas found a new, empty one\n", id)
	return rec.Acknowledge(ctx, id)
}

func dynamicFor(host *hostflags.Flags) (dynamic.Interface, error) {
	cfg, err := host.Config()
	if err != nil {
		return nil, err
	}
	return dynamic.NewForConfig(cfg)
}

// buildConfig layers the previous release's values, the files, --set and the flags, and checks
// the result as `vkube start` will in the pod.
func buildConfig(prev map[string]any, o CreateOptions) (*config.Config, []string, error) {
	set := map[string]any{}
	for _, s := range o.Set {
		if err := strvals.ParseInto(s, set); err != nil {
			return nil, nil, fmt.Errorf("--set %s: %w", s, err)
		}
	}
	cfg, warnings, err := encoding.LoadLayers(prev, o.ValuesFiles, set)
	if err != nil {
		return nil, warnings, err
	}
	cfg.Name = ""
	if o.Distro != "" {
		if err := cfg.SetDistro(o.Distro); err != nil {
			return nil, warnings, fmt.Errorf("--distro: %w", err)
		}
	}
	if o.KubernetesVersion != "" {
		cfg.SetKubernetesVersion(o.KubernetesVersion)
	}
	if o.Expose {
		cfg.ControlPlane.Service.Type = string(corev1.ServiceTypeLoadBalancer)
	}
	if o.Isolate {
		cfg.Policies.Isolate()
	}
	if err := supportedVersion(cfg, o.KubernetesVersion != ""); err != nil {
		return nil, warnings, err
	}
	switch d := cfg.DistroName(); d {
	case config.DistroK3s, config.DistroK0s:
		if cfg.ControlPlane.StatefulSet.Image.Repository == "" {
			return nil, warnings, fmt.Errorf("distro %s: the vkube image carries the k8s binaries only; pass --distro k8s (legacy values infer %s from vcluster.image) or set controlPlane.statefulSet.image to an image with %s", d, d, d)
		}
	}
	// Defaults and validation run on a copy: the chart gets only what the user chose.
	check, err := copyConfig(cfg)
	if err != nil {
		return nil, warnings, err
	}
	check.Name = o.Name
	check.SetDefaults()
	if err := check.Validate(); err != nil {
		return nil, warnings, err
	}
	if check.Replicas() > 1 && check.BackendKind() == config.BackendEtcdEmbedded && !check.PersistenceEnabled() {
		warnings = append(warnings, fmt.Sprintf("%d replicas on embedded etcd keep their data in emptyDir volumes (persistence off): "+
			"should every replica restart at once (a node drain, `vkube pause`), the data is gone and the replicas stay down until you "+
			"acknowledge the loss; set controlPlane.statefulSet.persistence.volumeClaim.enabled=true to keep it", check.Replicas()))
	}
	return cfg, warnings, nil
}

// checkNamespaceFree refuses a second virtual cluster in one namespace.
func checkNamespaceFree(ctx context.Context, c kubernetes.Interface, ns, name string) error {
	sets, err := c.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{LabelSelector: labelName + "=vkube"})
	if err != nil {
		if apierrors.IsForbidden(err) {
			return nil // checkAccess names what is missing
		}
		return fmt.Errorf("listing virtual clusters in %s: %w", ns, err)
	}
	for _, s := range sets.Items {
		if other := s.Labels[labelInstance]; other != name {
			return fmt.Errorf("namespace %s already holds virtual cluster %s: one virtual cluster per namespace; pick another with -n", ns, other)
		}
	}
	return nil
}

// checkAccess asks the host whether the user may create what the chart holds, so that a
// namespace the user cannot write fails before anything is made.
func checkAccess(ctx context.Context, c kubernetes.Interface, ns string) error {
	for _, r := range []authorizationv1.ResourceAttributes{
		{Namespace: ns, Verb: "create", Group: "apps", Resource: "statefulsets"},
		{Namespace: ns, Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "roles"},
		{Namespace: ns, Verb: "create", Resource: "secrets"},
	} {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &r}}
		got, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("checking your access to namespace %s: %w", ns, err)
		}
		if !got.Status.Allowed {
			kind := r.Resource
			if r.Group != "" {
				kind += "." + r.Group
			}
			return fmt.Errorf("you cannot create %s in namespace %s: ask for write access there, or pick a namespace you own with -n", kind, ns)
		}
	}
	return nil
}

// ensureNamespace creates the namespace when missing, marked so that delete removes it again,
// and makes it enforce the Pod Security level (see enforcePodSecurity).
func ensureNamespace(ctx context.Context, c kubernetes.Interface, ns, name, level string, progress io.Writer) error {
	obj, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err == nil && obj.DeletionTimestamp != nil {
		// A namespace of a just-deleted virtual cluster: wait for it to go, then make it anew.
		fmt.Fprintf(progress, "waiting for namespace %s to finish terminating\n", ns)
		err = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			return fmt.Errorf("namespace %s is still terminating: wait, or pick another with -n", ns)
		}
		err = apierrors.NewNotFound(corev1.Resource("namespaces"), ns)
	}
	if err == nil {
		return enforcePodSecurity(ctx, c, obj, level, progress)
	}
	if apierrors.IsForbidden(err) {
		if level != "" {
			cannotLabel(progress, ns, level, err)
		}
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	obj = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Annotations: map[string]string{annotationCreatedNamespace: name}}}
	set, _ := namespacePodSecurity(nil, nil, level)
	for k, v := range set["labels"] {
		metav1.SetMetaDataLabel(&obj.ObjectMeta, k, v)
	}
	for k, v := range set["annotations"] {
		metav1.SetMetaDataAnnotation(&obj.ObjectMeta, k, v)
	}
	if _, err := c.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w (create it yourself, or pick one you own with -n)", ns, err)
	}
	fmt.Fprintf(progress, "created namespace %s\n", ns)
	return nil
}

// minSupportedMinor is the oldest Kubernetes minor vkube's images are built for.
const minSupportedMinor = 33

// supportedVersion refuses, before anything is created, a version no vkube image can carry:
// legacy values often pin old component images (seed 004's ha.yaml names v1.25.0).
func supportedVersion(cfg *config.Config, fromFlag bool) error {
	d := cfg.DistroName()
	if d != config.DistroK8s && d != config.DistroEKS {
		return nil
	}
	v := cfg.KubernetesVersion()
	parsed, err := version.ParseGeneric(v)
	if err != nil {
		return fmt.Errorf("Kubernetes version %q: %w (use the form v1.34.2)", v, err)
	}
	if parsed.Major() == 1 && parsed.Minor() >= minSupportedMinor {
		return nil
	}
	how := "pass --kubernetes-version " + config.DefaultKubernetesVersion + " (legacy values set it through their component images)"
	if fromFlag {
		how = "pick v1." + fmt.Sprint(minSupportedMinor) + " or newer"
	}
	return fmt.Errorf("Kubernetes %s is older than vkube runs (v1.%d and newer): %s", v, minSupportedMinor, how)
}

// scaleDownFirst removes replicas before an upgrade that lowers their number, while the others
// still run: each leaving replica takes its etcd member out of the cluster on the way, which
// needs a quorum that a rolling restart of the remaining replicas, done at the same time, could
// take away (3 → 1 would then stop the cluster).
func scaleDownFirst(ctx context.Context, c kubernetes.Interface, ns, name string, want int, timeout time.Duration, progress io.Writer) error {
	sts, err := controlPlane(ctx, c, ns, name)
	if err != nil {
		return nil // no StatefulSet yet: nothing to scale
	}
	have := int(ptr.Deref(sts.Spec.Replicas, 1))
	if _, paused := sts.Annotations[annotationPausedReplicas]; paused || want >= have {
		return nil
	}
	fmt.Fprintf(progress, "scaling virtual cluster %s from %d to %d replicas before the upgrade\n", name, have, want)
	if err := scale(ctx, c, ns, name, int32(want), nil); err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, time.Second, orDefault(timeout, 5*time.Minute), true, func(ctx context.Context) (bool, error) {
		s, err := c.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && int(s.Status.Replicas) == want, nil
	})
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
