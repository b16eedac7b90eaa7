package syncer

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func prefixes(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	p, err := parsePrefixes(cidrs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReviewServiceRefusesAddressesOutsideExternalIPCIDRs(t *testing.T) {
	allowed := prefixes(t, "203.0.113.0/24", "2001:db8::/64")
	for name, tc := range map[string]struct {
		spec    corev1.ServiceSpec
		allowed []netip.Prefix
		want    []string
	}{
		"nothing claimed": {spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}},
		"an externalIP by default": {spec: corev1.ServiceSpec{ExternalIPs: []string{"192.0.2.55"}},
			want: []string{"spec.externalIPs[0]: Forbidden: 192.0.2.55 is not in policies.hostAccess.externalIPCIDRs, the addresses the host admin lets a Service claim on the host"}},
		"a loadBalancerIP by default": {spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerIP: "198.51.100.7"},
			want: []string{"spec.loadBalancerIP: Forbidden: 198.51.100.7 is not in policies.hostAccess.externalIPCIDRs, the addresses the host admin lets a Service claim on the host"}},
		"inside the allowed CIDRs":      {spec: corev1.ServiceSpec{ExternalIPs: []string{"203.0.113.9", "2001:db8::5"}, LoadBalancerIP: "203.0.113.10"}, allowed: allowed},
		"an IPv4-mapped address inside": {spec: corev1.ServiceSpec{ExternalIPs: []string{"::ffff:203.0.113.9"}}, allowed: allowed},
		"one outside among allowed ones": {spec: corev1.ServiceSpec{ExternalIPs: []string{"203.0.113.9", "10.96.0.1"}, LoadBalancerIP: "not-an-ip"}, allowed: allowed,
			want: []string{
				"spec.externalIPs[1]: Forbidden: 10.96.0.1 is not in policies.hostAccess.externalIPCIDRs, the addresses the host admin lets a Service claim on the host",
				"spec.loadBalancerIP: Forbidden: not-an-ip is not in policies.hostAccess.externalIPCIDRs, the addresses the host admin lets a Service claim on the host",
			}},
		// Narrowing fields, and those that act on the Service's own endpoints only, pass.
		"the fields that stay the Service's own": {spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, LoadBalancerSourceRanges: []string{"192.0.2.0/24"},
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, HealthCheckNodePort: 31000,
			SessionAffinity: corev1.ServiceAffinityClientIP, LoadBalancerClass: ptrTo("example.com/lb"),
			Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080}}, PublishNotReadyAddresses: true,
		}},
		"an ExternalName": {spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}},
	} {
		t.Run(name, func(t *testing.T) {
			errs := reviewService(&corev1.Service{Spec: tc.spec}, tc.allowed)
			if len(errs) != len(tc.want) {
				t.Fatalf("errors %v, want %v", errs, tc.want)
			}
			for i, e := range errs {
				if e.Error() != tc.want[i] {
					t.Errorf("error %d:\n got %s\nwant %s", i, e.Error(), tc.want[i])
				}
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestHostServiceSpecAgreesWithTheReview(t *testing.T) {
	allowed := prefixes(t, "203.0.113.0/24")
	spec := corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, ExternalIPs: []string{"192.0.2.55", "203.0.113.9"}, LoadBalancerIP: "192.0.2.56",
		ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, HealthCheckNodePort: 31000,
		LoadBalancerSourceRanges: []string{"192.0.2.0/24"}, SessionAffinity: corev1.ServiceAffinityClientIP,
	}
	hostServiceSpec(&spec, allowed)
	if !equalJSON(spec.ExternalIPs, []string{"203.0.113.9"}) || spec.LoadBalancerIP != "" {
		t.Errorf("claims on the host: externalIPs %v loadBalancerIP %q", spec.ExternalIPs, spec.LoadBalancerIP)
	}
	if spec.HealthCheckNodePort != 0 {
		t.Errorf("the tenant's healthCheckNodePort %d reaches the host: the host allocates it", spec.HealthCheckNodePort)
	}
	if errs := reviewService(&corev1.Service{Spec: spec}, allowed); len(errs) > 0 {
		t.Errorf("the host's spec still fails the review: %v", errs)
	}
	if spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal || len(spec.LoadBalancerSourceRanges) != 1 || spec.SessionAffinity != corev1.ServiceAffinityClientIP {
		t.Errorf("a field that stays the Service's own was changed: %+v", spec)
	}
}

func TestServiceTwinWithoutRefusedFields(t *testing.T) {
	v := mustObj(t, `apiVersion: v1
kind: Service
metadata: {name: web, namespace: team, uid: u1}
spec:
  type: LoadBalancer
  externalIPs: [192.0.2.55]
  loadBalancerIP: 192.0.2.56
  externalTrafficPolicy: Local
  healthCheckNodePort: 31000
  ports: [{port: 80}]
`)
	h, skip, err := services{tctx: tctx}.toHost(context.Background(), v)
	if err != nil || skip {
		t.Fatal(err, skip)
	}
	var host corev1.Service
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(h.Object, &host); err != nil {
		t.Fatal(err)
	}
	if len(host.Spec.ExternalIPs) > 0 || host.Spec.LoadBalancerIP != "" || host.Spec.HealthCheckNodePort != 0 {
		t.Errorf("host twin spec %+v", host.Spec)
	}
	if host.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		t.Errorf("externalTrafficPolicy %q", host.Spec.ExternalTrafficPolicy)
	}
}

func TestNewClaims(t *testing.T) {
	old := reviewService(&corev1.Service{Spec: corev1.ServiceSpec{ExternalIPs: []string{"192.0.2.1"}}}, nil)
	same := reviewService(&corev1.Service{Spec: corev1.ServiceSpec{ExternalIPs: []string{"198.51.100.1", "192.0.2.1"}}}, prefixes(t, "198.51.100.0/24"))
	if got := newClaims(same, old); len(got) != 0 {
		t.Errorf("an address already claimed (at another index) counts as new: %v", got)
	}
	more := reviewService(&corev1.Service{Spec: corev1.ServiceSpec{ExternalIPs: []string{"192.0.2.1", "192.0.2.2"}}}, nil)
	if got := newClaims(more, old); len(got) != 1 || got[0].Field != "spec.externalIPs[1]" {
		t.Errorf("new claims %v, want spec.externalIPs[1]", got)
	}
}

// admissionFor is an AdmissionRequest for svc (and old on UPDATE).
func admissionFor(t *testing.T, op admissionv1.Operation, svc, old *corev1.Service) *admissionv1.AdmissionRequest {
	t.Helper()
	raw := func(s *corev1.Service) runtime.RawExtension {
		if s == nil {
			return runtime.RawExtension{}
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return runtime.RawExtension{Raw: b}
	}
	return &admissionv1.AdmissionRequest{Operation: op, Namespace: "team", Name: svc.Name, Object: raw(svc), OldObject: raw(old)}
}

// The webhook's review refuses before it talks to either cluster, on CREATE and UPDATE alike.
func TestWebhookRefusesExternalIPs(t *testing.T) {
	w := &serviceWebhook{svc: services{tctx: tctx}}
	plain := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.20", Ports: []corev1.ServicePort{{Port: 80}}}}
	claiming := plain.DeepCopy()
	claiming.Spec.ExternalIPs = []string{"192.0.2.55"}
	const want = "vkube: spec.externalIPs[0]: Forbidden: 192.0.2.55 is not in policies.hostAccess.externalIPCIDRs, the addresses the host admin lets a Service claim on the host"
	for name, req := range map[string]*admissionv1.AdmissionRequest{
		"create":           admissionFor(t, admissionv1.Create, claiming, nil),
		"update adding it": admissionFor(t, admissionv1.Update, claiming, plain),
	} {
		resp := w.admit(context.Background(), req)
		if resp.Allowed || resp.Result == nil || resp.Result.Message != want {
			t.Errorf("%s: allowed=%v result %+v\nwant the message %s", name, resp.Allowed, resp.Result, want)
		}
		if !strings.Contains(resp.Result.Message, keyExternalIPCIDRs) {
			t.Errorf("%s: the message does not name the host-admin key", name)
		}
	}
	// An update that claims nothing new (a Service from before the policy losing a finalizer),
	// and one that claims nothing, are let through; the syncer keeps the address off the host.
	labelled := claiming.DeepCopy()
	labelled.Labels = map[string]string{"tier": "web"}
	for name, req := range map[string]*admissionv1.AdmissionRequest{
		"update keeping an old claim": admissionFor(t, admissionv1.Update, labelled, claiming),
		"update claiming nothing":     admissionFor(t, admissionv1.Update, plain, claiming),
	} {
		if resp := w.admit(context.Background(), req); !resp.Allowed || resp.Patch != nil {
			t.Errorf("%s: %+v", name, resp.Result)
		}
	}
}

// Load-balancer implementations that take the address from an annotation are held to the same
// CIDRs as spec.loadBalancerIP.
func TestLoadBalancerIPAnnotations(t *testing.T) {
	allowed := prefixes(t, "203.0.113.0/24")
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
		"metallb.io/loadBalancerIPs": "203.0.113.4, 192.0.2.4",
		"lbipam.cilium.io/ips":       "192.0.2.5",
		"example.com/other":          "192.0.2.6",
	}}}
	errs := reviewService(svc, allowed)
	want := []string{
		"metadata.annotations[metallb.io/loadBalancerIPs]: Forbidden: 192.0.2.4 is not in policies.hostAccess.externalIPCIDRs, the addresses the host admin lets a Service claim on the host",
		"metadata.annotations[lbipam.cilium.io/ips]: Forbidden: 192.0.2.5 is not in policies.hostAccess.externalIPCIDRs, the addresses the host admin lets a Service claim on the host",
	}
	if len(errs) != len(want) {
		t.Fatalf("errors %v, want %v", errs, want)
	}
	for i := range want {
		if errs[i].Error() != want[i] {
			t.Errorf("got %s\nwant %s", errs[i].Error(), want[i])
		}
	}
	ann := svc.Annotations
	hostServiceAnnotations(ann, allowed)
	if !equalJSON(ann, map[string]string{"metallb.io/loadBalancerIPs": "203.0.113.4", "example.com/other": "192.0.2.6"}) {
		t.Errorf("host annotations %v", ann)
	}
}

func TestSyncErrorEventIsNamedForItsObjectAndMessage(t *testing.T) {
	ref := corev1.ObjectReference{Kind: "EndpointSlice", Namespace: "team", Name: "db-1", UID: "u1"}
	now := metav1.Now()
	a := syncErrorEvent(ref, "not synced to the host: address 10.96.0.1 is in the host's service CIDR 10.96.0.0/12", now)
	if a.Type != corev1.EventTypeWarning || a.Reason != "SyncError" || a.Namespace != "team" || a.InvolvedObject != ref {
		t.Errorf("event %+v", a)
	}
	again := syncErrorEvent(ref, a.Message, metav1.Now())
	other := syncErrorEvent(ref, "not synced to the host: address 10.96.0.2 is in the host's service CIDR 10.96.0.0/12", now)
	if a.Name != again.Name || a.Name == other.Name || !strings.HasPrefix(a.Name, "db-1.syncerror-") {
		t.Errorf("names %s %s %s: the same refusal must be one event, another refusal another", a.Name, again.Name, other.Name)
	}
}
