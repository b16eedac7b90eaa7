package connect

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// loadBalancerWait bounds the wait for a pending load balancer before falling back to a
// port-forward: `vkube create --expose` connects right after the Service appears.
var loadBalancerWait = time.Minute

// endpoint picks the server: --server as given, else the API Service's load balancer, else a
// port-forward.
func (s *session) endpoint(ctx context.Context) (endpoint, error) {
	if s.o.Server != "" {
		server, err := normalizeServer(s.o.Server)
		if err != nil {
			return endpoint{}, err
		}
		return endpoint{Server: server, Insecure: s.o.Insecure}, nil
	}
	svc, err := s.host.CoreV1().Services(s.namespace).Get(ctx, s.o.Name, metav1.GetOptions{})
	if err == nil && svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		server := loadBalancerServer(svc)
		if server == "" {
			fmt.Fprintf(s.errOut, "Waiting up to %s for the load balancer of Service %s/%s…\n", loadBalancerWait, s.namespace, s.o.Name)
			_ = wait.PollUntilContextTimeout(ctx, 2*time.Second, loadBalancerWait, false, func(ctx context.Context) (bool, error) {
				svc, err := s.host.CoreV1().Services(s.namespace).Get(ctx, s.o.Name, metav1.GetOptions{})
				if err == nil {
					server = loadBalancerServer(svc)
				}
				return server != "", nil
			})
			if ctx.Err() != nil {
				return endpoint{}, ctx.Err()
			}
		}
		if server != "" {
			// The load balancer's address is no SAN of the serving certificate; NAME is.
			return endpoint{Server: server, TLSServerName: s.o.Name, Insecure: s.o.Insecure}, nil
		}
		fmt.Fprintf(s.errOut, "Service %s/%s has no load-balancer address yet; using a port-forward instead.\n", s.namespace, s.o.Name)
	}
	return endpoint{portForward: true, Insecure: s.o.Insecure}, nil
}

// loadBalancerServer is https://ADDR:PORT of a LoadBalancer Service's first ingress, or "".
func loadBalancerServer(svc *corev1.Service) string {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return ""
	}
	port := int32(443)
	if len(svc.Spec.Ports) > 0 {
		port = svc.Spec.Ports[0].Port
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		addr := in.IP
		if addr == "" {
			addr = in.Hostname
		}
		if addr != "" {
			return "https://" + net.JoinHostPort(addr, strconv.Itoa(int(port)))
		}
	}
	return ""
}

// normalizeServer accepts a bare host[:port] as https://host[:port].
func normalizeServer(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("--server %q: %w", s, err)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("--server %q: want https://HOST[:PORT]", s)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

func localServer(port int) string { return "https://127.0.0.1:" + strconv.Itoa(port) }
