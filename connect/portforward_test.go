package connect

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	streamhttp "k8s.io/streaming/pkg/httpstream"
	streamspdy "k8s.io/streaming/pkg/httpstream/spdy"
)

// fakeKubelet serves pods/portforward the way the apiserver and kubelet do over SPDY (and
// refuses WebSockets, like an older apiserver), forwarding to the address each pod maps to.
type fakeKubelet struct {
	mu      sync.Mutex
	targets map[string]string // pod name → address
}

func (k *fakeKubelet) setTarget(pod, addr string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.targets[pod] = addr
}

func (k *fakeKubelet) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "no websockets here", http.StatusBadRequest)
		return
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/") // api v1 namespaces NS pods POD portforward
	if len(parts) != 7 || parts[6] != "portforward" {
		http.NotFound(w, req)
		return
	}
	k.mu.Lock()
	target := k.targets[parts[5]]
	k.mu.Unlock()
	if _, err := streamhttp.Handshake(req, w, []string{"portforward.k8s.io"}); err != nil {
		return
	}
	streams := make(chan streamhttp.Stream, 16)
	conn := streamspdy.NewResponseUpgrader().UpgradeResponse(w, req, func(s streamhttp.Stream, _ <-chan struct{}) error {
		streams <- s
		return nil
	})
	if conn == nil {
		return
	}
	defer conn.Close()
	errStreams := map[string]streamhttp.Stream{}
	for {
		select {
		case <-conn.CloseChan():
			return
		case s := <-streams:
			id := s.Headers().Get(corev1.PortForwardRequestIDHeader)
			if s.Headers().Get(corev1.StreamType) == corev1.StreamTypeError {
				errStreams[id] = s
				continue
			}
			errStream := errStreams[id]
			delete(errStreams, id)
			go func() {
				defer func() {
					s.Close()
					if errStream != nil {
						errStream.Close()
					}
				}()
				c, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer c.Close()
				_, _ = io.Copy(s, c)
			}()
		}
	}
}

// podServer accepts connections and answers each with its name.
func podServer(t *testing.T, name string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, name+"\n")
			c.Close()
		}
	}()
	return l.Addr().String()
}

func readyPod(name, uid string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(uid),
			Labels: map[string]string{"app.kubernetes.io/name": "vkube", "app.kubernetes.io/instance": "vc"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

// ask connects to the local port and returns the first line, or "" when nothing answers.
func ask(port int) string {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

func TestForwarderReconnects(t *testing.T) {
	defer func(p, b time.Duration, a int) { podPollInterval, reconnectBackoff, reconnectAttempts = p, b, a }(podPollInterval, reconnectBackoff, reconnectAttempts)
	podPollInterval, reconnectBackoff, reconnectAttempts = 50*time.Millisecond, 10*time.Millisecond, 2

	kubelet := &fakeKubelet{targets: map[string]string{"vc-0": podServer(t, "first")}}
	srv := httptest.NewServer(kubelet)
	defer srv.Close()
	one := int32(1)
	client := fake.NewClientset(
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "vc", Namespace: "ns"}, Spec: appsv1.StatefulSetSpec{Replicas: &one}},
		readyPod("vc-0", "uid-1"),
	)
	errOut := &bytes.Buffer{}
	s := &session{o: Options{Name: "vc", ReadyTimeout: 300 * time.Millisecond}, namespace: "ns",
		hostConfig: &rest.Config{Host: srv.URL}, host: client, errOut: &lockedWriter{w: errOut}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	fwd, err := s.startForwarder(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Stop()
	if got := ask(fwd.Port()); got != "first" {
		t.Fatalf("through the port-forward: %q, want first", got)
	}

	// The StatefulSet recreates vc-0: same name, new UID, another process behind it.
	kubelet.setTarget("vc-0", podServer(t, "second"))
	if err := client.CoreV1().Pods("ns").Delete(ctx, "vc-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Pods("ns").Create(ctx, readyPod("vc-0", "uid-2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ask(fwd.Port()) != "second" {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect to the new pod; log:\n%s", errOut)
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case err := <-fwd.Err():
		t.Fatalf("forward failed: %v", err)
	default:
	}

	// No pod comes back: the forward fails for good, with a clear error.
	if err := client.CoreV1().Pods("ns").Delete(ctx, "vc-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-fwd.Err():
		if !strings.Contains(err.Error(), "lost the port-forward to virtual cluster vc in namespace ns") ||
			!strings.Contains(err.Error(), "no ready pod") {
			t.Fatalf("error %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no error after the pod went away; log:\n%s", errOut)
	}
	t.Logf("log:\n%s", errOut)
	fwd.Stop()
	if ask(fwd.Port()) != "" {
		t.Fatal("local port still answers after Stop")
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// forwardingSession is a session whose host has a ready pod vc-0 behind a fake kubelet.
func forwardingSession(t *testing.T, o Options) (*session, *bytes.Buffer, *bytes.Buffer, string) {
	t.Helper()
	kubelet := &fakeKubelet{targets: map[string]string{"vc-0": podServer(t, "first")}}
	srv := httptest.NewServer(kubelet)
	t.Cleanup(srv.Close)
	one := int32(1)
	o.Namespace = "ns"
	s, out, errOut, path := testSession(t, o,
		adminSecret(t, "vc", "ns"),
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "vc", Namespace: "ns"}, Spec: appsv1.StatefulSetSpec{Replicas: &one}},
		readyPod("vc-0", "uid-1"))
	s.hostConfig = &rest.Config{Host: srv.URL}
	return s, out, errOut, path
}

func TestForegroundSwitchesBack(t *testing.T) {
	s, _, errOut, path := forwardingSession(t, Options{Name: "vc"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()

	name := ContextName("vc", "ns", "host-a")
	deadline := time.Now().Add(10 * time.Second)
	var server string
	for {
		kc := load(t, path)
		if kc.CurrentContext == name && kc.Clusters[name] != nil {
			server = kc.Clusters[name].Server
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never switched; output:\n%s", errOut)
		}
		time.Sleep(20 * time.Millisecond)
	}
	port, err := strconv.Atoi(strings.TrimPrefix(server, "https://127.0.0.1:"))
	if err != nil {
		t.Fatalf("server %q", server)
	}
	if got := ask(port); got != "first" {
		t.Fatalf("through the context's server: %q", got)
	}
	cancel() // ctrl+c
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("connect did not return")
	}
	kc := load(t, path)
	if kc.CurrentContext != "host-a" || kc.Contexts[name] != nil || kc.Clusters[name] != nil || kc.AuthInfos[name] != nil {
		t.Fatalf("after disconnect: current %q, contexts %v", kc.CurrentContext, kc.Contexts)
	}
	if ask(port) != "" {
		t.Fatal("port-forward outlived connect")
	}
	for _, want := range []string{`Switched to context "` + name + `"`, "Use ctrl+c to disconnect", `switched back to context "host-a"`} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, errOut)
		}
	}
}

func TestPrintKeepsForwarding(t *testing.T) {
	s, out, _, path := forwardingSession(t, Options{Name: "vc", Print: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	s.out = &lockedWriter{w: out}
	go func() { done <- s.run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(readLocked(s.out.(*lockedWriter)), "current-context:") {
		if time.Now().After(deadline) {
			t.Fatal("nothing printed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("returned before ctrl+c: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if load(t, path).CurrentContext != "host-a" {
		t.Fatal("--print changed the kubeconfig")
	}
}

func readLocked(l *lockedWriter) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.(*bytes.Buffer).String()
}

func TestCommandThroughPortForward(t *testing.T) {
	s, out, _, _ := forwardingSession(t, Options{Name: "vc", LocalPort: 0,
		Command: []string{"sh", "-c", `grep -o 'server: https://127.0.0.1:[0-9]*' "$KUBECONFIG"`}})
	if err := s.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(out.String()), "server: https://127.0.0.1:"))
	if err != nil || port == 0 {
		t.Fatalf("command saw %q", out)
	}
	if ask(port) != "" {
		t.Fatal("port-forward outlived the command")
	}
}
