package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// restConfig loads an admin kubeconfig with client-side rate limits out of the way.
func restConfig(kubeconfig string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 100000, 100000
	cfg.Timeout = 30 * time.Second
	return cfg, nil
}

// apiClient is a plain HTTP client with the kubeconfig's credentials, for /readyz and /api.
type apiClient struct {
	host string
	http *http.Client
}

func newAPIClient(cfg *rest.Config, timeout time.Duration) (*apiClient, error) {
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, err
	}
	return &apiClient{host: cfg.Host, http: &http.Client{Transport: tr, Timeout: timeout}}, nil
}

// get returns nil when path answers 200.
func (c *apiClient) get(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.host+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return nil
}

// usable is the start figure's end: /readyz ok and a real GET /api with the admin credentials.
func (c *apiClient) usable(ctx context.Context) error {
	if err := c.get(ctx, "/readyz"); err != nil {
		return err
	}
	return c.get(ctx, "/api")
}

// writeResult is one run of the write figure.
type writeResult struct {
	Creates time.Duration
	List    time.Duration
	Items   int
	// CPU is the CPU time (s) the cluster's processes used meanwhile: robust against other load on
	// the machine, unlike the wall time. vkube's includes its controller-manager and kine; the
	// bare side's the apiserver and kine.
	CPU float64
}

// benchWrites creates n ConfigMaps one after another in namespace ns (created if need be), then
// LISTs them once.
func benchWrites(ctx context.Context, cfg *rest.Config, ns string, n int) (writeResult, error) {
	var r writeResult
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return r, err
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return r, fmt.Errorf("namespace: %w", err)
	}
	// The namespace lifecycle admission needs the namespace in its informer before the first create.
	for i := 0; ; i++ {
		_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "warm-up"}}, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			break
		}
		if i > 100 {
			return r, fmt.Errorf("warm-up create: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	data := map[string]string{"key": "a small value of a few dozen bytes, like most configuration"}
	began := time.Now()
	for i := range n {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i)}, Data: data}
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			return r, fmt.Errorf("create %d: %w", i, err)
		}
	}
	r.Creates = time.Since(began)
	began = time.Now()
	list, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return r, fmt.Errorf("list: %w", err)
	}
	r.List = time.Since(began)
	for _, cm := range list.Items {
		if strings.HasPrefix(cm.Name, "cm-") {
			r.Items++
		}
	}
	// The controller-manager of a whole cluster adds kube-root-ca.crt; only ours are counted.
	if r.Items != n {
		return r, fmt.Errorf("list returned %d of the %d ConfigMaps created", r.Items, n)
	}
	return r, nil
}

// getConfigMap is the restart figure's proof that the API serves data again.
func getConfigMap(ctx context.Context, cs *kubernetes.Clientset, name string) error {
	_, err := cs.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{})
	return err
}

func createConfigMap(ctx context.Context, cs *kubernetes.Clientset, name string) error {
	_, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	return err
}
