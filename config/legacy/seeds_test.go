package legacy_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"vkube.io/vkube/config"
	"vkube.io/vkube/config/encoding"
)

// The seeds' values files (config/legacy/testdata/seeds, copied verbatim from /work/shared/seeds) are
// the contract: each must load, validate, and mean what its write-up says.
func TestSeedValuesFiles(t *testing.T) {
	checks := map[string]func(t *testing.T, c *config.Config, warnings []string){
		"000_1.yaml": func(t *testing.T, c *config.Config, w []string) {
			want(t, "distro", c.DistroName(), config.DistroK3s)
			want(t, "version", c.KubernetesVersion(), "v1.23.5+k3s1")
			sec := c.ControlPlane.StatefulSet.Security
			want(t, "container securityContext", sec.ContainerSecurityContext, map[string]any{
				"runAsUser": int64(1000), "runAsNonRoot": true, "allowPrivilegeEscalation": false,
				"capabilities": map[string]any{"drop": []any{"ALL"}}, "readOnlyRootFilesystem": true,
				"seccompProfile": map[string]any{"type": "RuntimeDefault"},
			})
			want(t, "pod securityContext", sec.PodSecurityContext, map[string]any{"fsGroup": int64(1000)})
		},
		"000_2.yaml": func(t *testing.T, c *config.Config, w []string) {
			want(t, "fromHost", c.Networking.ReplicateServices.FromHost, []config.ServiceMapping{{From: "cert-manager/cert-manager", To: "kube-system/cert-manager"}})
		},
		"000_3.yaml": func(t *testing.T, c *config.Config, w []string) {
			p := c.Policies
			want(t, "podSecurityStandard", p.PodSecurityStandard, "baseline")
			want(t, "isolation objects", []bool{p.ResourceQuota.Enabled, p.LimitRange.Enabled, p.NetworkPolicy.Enabled}, []bool{true, true, true})
			// The seed's rendered objects.
			want(t, "quota count/pods", p.ResourceQuota.Quota["count/pods"], "20")
			want(t, "quota requests.memory", p.ResourceQuota.Quota["requests.memory"], "20Gi")
			want(t, "limit default memory", p.LimitRange.Default["memory"], "512Mi")
			want(t, "limit defaultRequest cpu", p.LimitRange.DefaultRequest["cpu"], "100m")
			want(t, "egress", p.NetworkPolicy.OutgoingConnections.CIDR, "0.0.0.0/0")
			want(t, "egress except", len(p.NetworkPolicy.OutgoingConnections.Except), 5)
		},
		"000_4.yaml": func(t *testing.T, c *config.Config, w []string) {
			want(t, "distro", c.DistroName(), config.DistroK8s)
			want(t, "k8s enabled", c.ControlPlane.Distro.K8s.Enabled, true)
			sec := c.ControlPlane.StatefulSet.Security
			want(t, "capabilities", sec.ContainerSecurityContext["capabilities"], map[string]any{"drop": []any{"ALL"}})
			want(t, "fsGroup", sec.PodSecurityContext["fsGroup"], int64(1000))
			wantWarning(t, w, "CAP_NET_BIND_SERVICE", "does not need it")
			wantWarning(t, w, "scheduler: duplicate key", "last one wins")
			wantWarning(t, w, "ignored: job")
		},
		"002_1.yaml": func(t *testing.T, c *config.Config, w []string) {
			want(t, "distro", c.DistroName(), config.DistroK3s)
			want(t, "version", c.KubernetesVersion(), "v1.23.3+k3s1")
			want(t, "serviceCIDR", c.ControlPlane.Advanced.ServiceCIDR, "10.96.0.0/16")
			want(t, "k3s extraArgs", len(c.ControlPlane.Distro.K3s.ExtraArgs), 0)
			want(t, "k3s command", len(c.ControlPlane.Distro.K3s.Command), 0)
			want(t, "SANs", c.ControlPlane.Proxy.ExtraSANs, []string{"tenant-1-vcluster.justinpolidori.it"})
			// The seed keeps vcluster's helper off Docker Hub: vkube's helper is the vkube image
			// the chart already pulls, so the alpine image is not needed.
			want(t, "hosts image", c.Sync.ToHost.RewriteHostsImage, "")
			wantWarning(t, w, "--override-hosts-container-image", "our-registry.sh/alpine:3.13.1")
			vc := c.ControlPlane.StatefulSet.Persistence.VolumeClaim
			want(t, "persistence", vc.Enabled != nil && *vc.Enabled, true)
			want(t, "size", vc.Size, "50Gi")
			want(t, "storageClass", vc.StorageClass, "oci-bv")
			want(t, "resources", c.ControlPlane.StatefulSet.Resources, map[string]any{
				"limits": map[string]any{"memory": "2Gi"}, "requests": map[string]any{"cpu": "200m", "memory": "256Mi"},
			})
			want(t, "data mount dropped", len(c.ControlPlane.StatefulSet.ExtraVolumeMounts), 0)
			s := c.Sync
			want(t, "networkPolicies", s.ToHost.NetworkPolicies.On(false), true)
			want(t, "priorityClasses", s.ToHost.PriorityClasses.On(true), false)
			want(t, "persistentVolumes", s.ToHost.PersistentVolumes.On(false), true)
			want(t, "storageClasses to host", s.ToHost.StorageClasses.On(true), false)
			want(t, "storageClasses from host", s.FromHost.StorageClasses.On(false), true)
			want(t, "nodes", s.FromHost.Nodes.Enabled || s.FromHost.Nodes.SyncAll, false)
			wantWarning(t, w, `vcluster.command "/bin/k3s"`)
		},
		"003_1.yaml": func(t *testing.T, c *config.Config, w []string) {
			want(t, "ingresses", c.Sync.ToHost.Ingresses.On(false), true)
		},
		"004_1.yaml": func(t *testing.T, c *config.Config, w []string) {
			want(t, "fromHost", c.Networking.ReplicateServices.FromHost, []config.ServiceMapping{{From: "default/nettool-host", To: "default/nettool-host"}})
		},
		"004_2.yaml": func(t *testing.T, c *config.Config, w []string) {
			want(t, "toHost", c.Networking.ReplicateServices.ToHost, []config.ServiceMapping{{From: "default/nettool-virtual", To: "nettool-virtual"}})
		},
		"004_3.yaml": func(t *testing.T, c *config.Config, w []string) {
			want(t, "persistentVolumes", c.Sync.ToHost.PersistentVolumes.On(false), true)
			want(t, "storageClasses", c.Sync.ToHost.StorageClasses.On(false), true)
		},
		"004_4.yaml": func(t *testing.T, c *config.Config, w []string) {
			want(t, "distro", c.DistroName(), config.DistroK8s)
			want(t, "version", c.KubernetesVersion(), "v1.25.0")
			want(t, "replicas", c.Replicas(), 3)
			want(t, "backend", c.BackendKind(), config.BackendEtcdEmbedded)
			want(t, "coredns replicas", c.ControlPlane.CoreDNS.Deployment.Replicas, 3)
			vc := c.ControlPlane.StatefulSet.Persistence.VolumeClaim
			want(t, "persistence", vc.Enabled != nil && !*vc.Enabled, true)
			wantWarning(t, w, "ignored: etcd.image")
		},
		"004_5.yaml": func(t *testing.T, c *config.Config, w []string) {
			want(t, "scheduler", c.VirtualSchedulerEnabled(), true)
			want(t, "k8s scheduler", c.ControlPlane.Distro.K8s.Scheduler.Enabled, true)
			want(t, "nodes", c.Sync.FromHost.Nodes, config.NodeSync{Enabled: true, SyncAll: true})
		},
	}
	files, err := filepath.Glob("testdata/seeds/*.yaml")
	if err != nil || len(files) != len(checks) {
		t.Fatalf("want %d seed files, found %v (%v)", len(checks), files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, warnings, err := encoding.LoadFiles(f)
			if err != nil {
				t.Fatalf("LoadFiles: %v", err)
			}
			wantWarning(t, warnings, "legacy vcluster chart values")
			check := checks[filepath.Base(f)]
			if check == nil {
				t.Fatalf("no expectations for %s", f)
			}
			c.Name = "seed"
			c.SetDefaults()
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			check(t, c, warnings)
		})
	}
}

func want(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// wantWarning fails unless one warning contains every part.
func wantWarning(t *testing.T, warnings []string, parts ...string) {
	t.Helper()
	for _, w := range warnings {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(w, p)
		}
		if all {
			return
		}
	}
	t.Errorf("no warning containing %q in %q", parts, warnings)
}
