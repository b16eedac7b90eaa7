package hostcluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/test/hostcluster/addons"
)

const pollInterval = 200 * time.Millisecond

// waitFor polls cond until it holds; a component that died meanwhile ends the wait at once
// with the end of its log, instead of a timeout that says nothing.
func (c *Cluster) waitFor(ctx context.Context, what string, started []string, cond func(context.Context) error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, pollInterval, waitTimeout, true, func(ctx context.Context) (bool, error) {
		if err := c.checkAlive(started); err != nil {
			return false, err
		}
		last = cond(ctx)
		return last == nil, nil
	})
	if err != nil {
		if last != nil {
			err = fmt.Errorf("%w (last: %v)", err, last)
		}
		return fmt.Errorf("wait for %s: %w", what, err)
	}
	return nil
}

func (c *Cluster) checkAlive(names []string) error {
	pids := c.PIDs()
	for _, n := range names {
		if _, ok := pids[n]; !ok {
			return fmt.Errorf("%s exited; end of %s:\n%s", n, newLayout(c.cfg.Dir).logFile(n), tail(newLayout(c.cfg.Dir).logFile(n), 15))
		}
	}
	return nil
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func (c *Cluster) containerdUp(ctx context.Context) error {
	_, err := command(ctx, c.bins.tools["ctr"], "--address", newLayout(c.cfg.Dir).containerdSocket(), "version")
	return err
}

func apiserverReady(client kubernetes.Interface) func(context.Context) error {
	return func(ctx context.Context) error {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("readyz: %w: %s", err, bytes.TrimSpace(body))
		}
		return nil
	}
}

func (c *Cluster) nodeReady(client kubernetes.Interface) func(context.Context) error {
	return func(ctx context.Context) error {
		node, err := client.CoreV1().Nodes().Get(ctx, c.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("node %s is not Ready", c.cfg.NodeName)
	}
}

// defaultServiceAccount exists once kube-controller-manager runs: pods cannot be created before.
func defaultServiceAccount(client kubernetes.Interface) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	}
}

func storageClass(client kubernetes.Interface) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := client.StorageV1().StorageClasses().Get(ctx, addons.StorageClass, metav1.GetOptions{})
		return err
	}
}

// dnsAnswers asks kube-dns's ClusterIP for the kubernetes Service: CoreDNS only knows it once its
// API watch has synced, and the ClusterIP only answers once kube-proxy has programmed kube-dns.
func (c *Cluster) dnsAnswers(ctx context.Context) error {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort(c.cfg.DNSServiceIP, "53"))
	}}
	// Short: a query sent before kube-proxy's rules exist is lost, and the next poll resends.
	ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	addrs, err := r.LookupHost(ctx, "kubernetes.default.svc.cluster.local")
	if err != nil {
		return err
	}
	if want := firstServiceIP(c.cfg.ServiceCIDR).String(); !slices.Contains(addrs, want) {
		return fmt.Errorf("kubernetes.default.svc.cluster.local is %v, not %s", addrs, want)
	}
	return nil
}

// kubeProxySynced: kube-proxy's healthz turns 200 once its first iptables sync is done.
func (c *Cluster) kubeProxySynced(ctx context.Context) error {
	url := "http://" + net.JoinHostPort(c.cfg.NodeIP, strconv.Itoa(portKubeProxyHealthz)) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kube-proxy healthz: %s", resp.Status)
	}
	return nil
}
