package integration

import (
	"strings"
	"testing"
	"time"

	"vkube.io/vkube/test/framework"

	"vkube.io/vkube/binaries"
)

// TestDistroEKS runs the eks distro (upstream binaries of the same version stand in for
// EKS-Distro's, which cannot be fetched here) through the same checks as k8s.
func TestDistroEKS(t *testing.T) {
	requireKube(t, kubeVersion)
	v := framework.New(t, vkubeBin, "vc-eks", "--distro", "eks")
	v.Start()
	v.WaitReady(2 * time.Minute)
	exerciseCluster(t, v)
	if args := v.ChildArgs("kube-apiserver"); !strings.Contains(args, "--tls-cipher-suites=") {
		t.Errorf("eks apiserver runs without EKS's cipher suites: %s", args)
	}
}

// TestSingleBinaryDistros runs k3s and k0s for real where their binaries are present. They
// cannot be built or downloaded on this project's machines (the module proxy refuses
// k3s-io/k3s and k0sproject/k0s); their command lines are pinned by distro's golden tests.
func TestSingleBinaryDistros(t *testing.T) {
	for _, d := range []string{"k3s", "k0s"} {
		t.Run(d, func(t *testing.T) {
			version := map[string]string{"k3s": "v1.34.2+k3s1", "k0s": "v1.34.2+k0s.0"}[d]
			if _, err := binaries.FindSingle(d, version); err != nil {
				t.Skipf("no %s binary here (%v); it cannot be obtained on this machine", d, err)
			}
			v := framework.New(t, vkubeBin, "vc-"+d, "--distro", d)
			v.Start()
			v.WaitReady(3 * time.Minute)
			exerciseCluster(t, v)
		})
	}
}

// TestExtraArgsAndLegacyValues: a seed's legacy values file starts a k8s virtual cluster, and
// extraArgs from a vkube.yaml reach the component once, replacing vkube's own value.
func TestExtraArgsAndLegacyValues(t *testing.T) {
	requireKube(t, kubeVersion)
	extra := writeTemp(t, "extra.yaml", `controlPlane:
  distro:
    k8s:
      apiServer:
        extraArgs: ["--event-ttl=2h", "--default-watch-cache-size=77"]
      controllerManager:
        extraArgs: ["--concurrent-deployment-syncs=3"]
`)
	v := framework.New(t, vkubeBin, "vc-legacy", "-f", "../../config/legacy/testdata/seeds/000_4.yaml", "-f", extra)
	v.Start()
	v.WaitReady(2 * time.Minute)
	api := v.ChildArgs("kube-apiserver")
	for _, want := range []string{"--event-ttl=2h", "--default-watch-cache-size=77"} {
		if strings.Count(api, want) != 1 {
			t.Errorf("apiserver args do not carry %s once: %s", want, api)
		}
	}
	if strings.Count(api, "--default-watch-cache-size=") != 1 {
		t.Errorf("vkube's default watch cache size was not replaced: %s", api)
	}
	if kcm := v.ChildArgs("kube-controller-manager"); !strings.Contains(kcm, "--concurrent-deployment-syncs=3") {
		t.Errorf("controller-manager args: %s", kcm)
	}
	if !strings.Contains(v.Output(), "legacy") {
		t.Error("no warning that the values file is in the legacy format")
	}
	exerciseCluster(t, v)
}
