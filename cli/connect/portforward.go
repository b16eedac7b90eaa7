package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	streamhttp "k8s.io/streaming/pkg/httpstream"

	"vkube.io/vkube/cli/hostflags"
)

// Tunables of the port-forward, shortened by tests.
var (
	// podPollInterval is how often the forwarded pod is checked for deletion or replacement.
	podPollInterval = 2 * time.Second
	// reconnectAttempts and reconnectBackoff bound the reconnects after the pod went away.
	reconnectAttempts = 5
	reconnectBackoff  = 2 * time.Second
)

// podSelector selects the pods of virtual cluster name's StatefulSet.
func podSelector(name string) string {
	return "app.kubernetes.io/name=vkube,app.kubernetes.io/instance=" + name
}

// pickReadyPod is the first (by name) ready pod that is not being deleted, or nil.
func pickReadyPod(pods []corev1.Pod) *corev1.Pod {
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return p
			}
		}
	}
	return nil
}

// nsFlag is " -n NS" when NS is not the default namespace of name, for commands in messages.
func nsFlag(name, namespace string) string {
	if namespace == hostflags.DefaultNamespace(name) {
		return ""
	}
	return " -n " + namespace
}

// waitReadyPod waits up to timeout for a ready pod of the virtual cluster. A StatefulSet scaled
// to zero is a paused cluster: that fails at once.
func waitReadyPod(ctx context.Context, client kubernetes.Interface, namespace, name string, timeout time.Duration, errOut io.Writer) (*corev1.Pod, error) {
	sts, err := client.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("virtual cluster %s in namespace %s has no StatefulSet %s, so nothing to port-forward to (pass --server URL to reach its API another way)", name, namespace, name)
	case err != nil:
		return nil, fmt.Errorf("read StatefulSet %s/%s: %w", namespace, name, err)
	case isPaused(sts):
		return nil, fmt.Errorf("virtual cluster %s in namespace %s is paused (vkube resume %s%s)", name, namespace, name, nsFlag(name, namespace))
	}
	var pod *corev1.Pod
	var lastErr error
	told := false
	err = wait.PollUntilContextTimeout(ctx, podPollInterval, timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: podSelector(name)})
		if err != nil {
			if ctx.Err() == nil { // not the poll's own deadline
				lastErr = err
			}
			return false, nil
		}
		if pod = pickReadyPod(pods.Items); pod != nil {
			return true, nil
		}
		if !told {
			fmt.Fprintf(errOut, "Waiting up to %s for a ready pod of virtual cluster %s…\n", timeout, name)
			told = true
		}
		return false, nil
	})
	if pod != nil {
		return pod, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if lastErr != nil {
		return nil, fmt.Errorf("list pods of virtual cluster %s in namespace %s: %w", name, namespace, lastErr)
	}
	return nil, fmt.Errorf("no ready pod of virtual cluster %s in namespace %s after %s (kubectl -n %s get pods -l %s shows why)",
		name, namespace, timeout, namespace, podSelector(name))
}

func isPaused(sts *appsv1.StatefulSet) bool {
	return sts.Spec.Replicas != nil && *sts.Spec.Replicas == 0
}

// forwarder keeps 127.0.0.1:port forwarded to port APIPort of a ready pod of the virtual
// cluster. When the pod goes away it reconnects the same local port to the next ready pod.
type forwarder struct {
	cfg       *rest.Config
	client    kubernetes.Interface
	namespace string
	name      string
	timeout   time.Duration
	errOut    io.Writer

	port     int
	errc     chan error
	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
}

// startForwarder returns once the local port listens; localPort 0 picks a free one.
func (s *session) startForwarder(ctx context.Context, localPort int) (*forwarder, error) {
	f := &forwarder{
		cfg: s.hostConfig, client: s.host, namespace: s.namespace, name: s.o.Name,
		timeout: s.o.ReadyTimeout, errOut: s.errOut,
		errc: make(chan error, 1), done: make(chan struct{}),
	}
	pod, err := waitReadyPod(ctx, f.client, f.namespace, f.name, f.timeout, f.errOut)
	if err != nil {
		return nil, err
	}
	ctx, f.cancel = context.WithCancel(ctx)
	port, stopped, err := f.forwardTo(ctx, pod, localPort)
	if err != nil {
		f.cancel()
		return nil, err
	}
	f.port = port
	go f.keep(ctx, pod, stopped)
	return f, nil
}

// Port is the local port.
func (f *forwarder) Port() int { return f.port }

// Err yields an error when the forward is lost for good.
func (f *forwarder) Err() <-chan error { return f.errc }

// Stop ends the forward and releases the local port.
func (f *forwarder) Stop() {
	f.stopOnce.Do(func() {
		f.cancel()
		select {
		case <-f.done:
		case <-time.After(5 * time.Second):
		}
	})
}

// keep reconnects whenever the current forward stops, until ctx ends.
func (f *forwarder) keep(ctx context.Context, pod *corev1.Pod, stopped <-chan error) {
	defer close(f.done)
	for {
		var err error
		select {
		case <-ctx.Done():
			<-stopped
			return
		case err = <-stopped:
		}
		if ctx.Err() != nil {
			return
		}
		why := "the pod went away"
		if err != nil {
			why = err.Error()
		}
		fmt.Fprintf(f.errOut, "Lost the port-forward to pod %s/%s (%s); reconnecting…\n", f.namespace, pod.Name, why)
		for attempt := 1; ; attempt++ {
			pod, err = waitReadyPod(ctx, f.client, f.namespace, f.name, f.timeout, f.errOut)
			if err == nil {
				_, stopped, err = f.forwardTo(ctx, pod, f.port)
			}
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				fmt.Fprintf(f.errOut, "Reconnected 127.0.0.1:%d to pod %s/%s.\n", f.port, f.namespace, pod.Name)
				break
			}
			if attempt == reconnectAttempts {
				f.errc <- fmt.Errorf("lost the port-forward to virtual cluster %s in namespace %s: %w", f.name, f.namespace, err)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(attempt) * reconnectBackoff):
			}
		}
	}
}

// forwardTo forwards 127.0.0.1:localPort to pod and returns the bound port once it listens;
// stopped yields when that forward ends (nil when the pod went away or ctx ended).
func (f *forwarder) forwardTo(ctx context.Context, pod *corev1.Pod, localPort int) (int, <-chan error, error) {
	dialer, err := f.dialer(pod.Name)
	if err != nil {
		return 0, nil, err
	}
	podCtx, cancel := context.WithCancel(ctx)
	ready := make(chan struct{})
	pf, err := portforward.NewOnAddressesWithContext(podCtx, dialer, []string{"127.0.0.1"},
		[]string{fmt.Sprintf("%d:%d", localPort, APIPort)}, ready, io.Discard, f.errOut)
	if err != nil {
		cancel()
		return 0, nil, err
	}
	stopped := make(chan error, 1)
	go func() {
		err := pf.ForwardPorts()
		cancel()
		stopped <- err
	}()
	select {
	case <-ready:
	case err := <-stopped:
		if err == nil {
			err = errors.New("stopped before it was ready")
		}
		return 0, nil, fmt.Errorf("port-forward 127.0.0.1:%d to pod %s/%s: %w", localPort, f.namespace, pod.Name, err)
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) == 0 {
		cancel()
		<-stopped
		return 0, nil, fmt.Errorf("port-forward to pod %s/%s: no local port: %v", f.namespace, pod.Name, err)
	}
	go watchPod(podCtx, f.client, pod, cancel)
	return int(ports[0].Local), stopped, nil
}

// watchPod calls gone when pod is deleted, replaced (a new UID under the same name) or
// terminating: an idle forward would not notice by itself.
func watchPod(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, gone func()) {
	t := time.NewTicker(podPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		live, err := client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if podGone(pod, live, err) {
			gone()
			return
		}
	}
}

// podGone tells whether reading pod again (live, err) shows it deleted, replaced (a new UID
// under the same name) or terminating; another error says nothing.
func podGone(pod, live *corev1.Pod, err error) bool {
	return apierrors.IsNotFound(err) || (err == nil && (live.UID != pod.UID || live.DeletionTimestamp != nil))
}

// dialer upgrades to the pod's portforward subresource over WebSockets, falling back to SPDY
// for apiservers without WebSocket port-forwarding, as kubectl does.
func (f *forwarder) dialer(pod string) (httpstream.Dialer, error) {
	base, _, err := rest.DefaultServerUrlFor(f.cfg)
	if err != nil {
		return nil, err
	}
	u := base.JoinPath("api", "v1", "namespaces", f.namespace, "pods", pod, "portforward")
	transport, upgrader, err := spdy.RoundTripperFor(f.cfg)
	if err != nil {
		return nil, err
	}
	spdyDialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	tunnel, err := portforward.NewSPDYOverWebsocketDialer(u, f.cfg)
	if err != nil {
		return nil, err
	}
	return portforward.NewFallbackDialer(tunnel, spdyDialer, func(err error) bool {
		// The WebSocket round tripper reports k8s.io/streaming's error type, not apimachinery's.
		return streamhttp.IsUpgradeFailure(err) || httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	}), nil
}
