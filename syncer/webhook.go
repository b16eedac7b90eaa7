package syncer

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/syncer/translate"
)

// The write path: a virtual Service gets its host twin's ClusterIP, and a Service the host
// refuses is refused to the tenant at once with the host's message. vkube serves a mutating
// webhook for Service CREATE in the virtual cluster: it creates the host twin first and copies
// the IP it got into the virtual Service. (A webhook, not a front proxy: clients keep talking to
// the real apiserver, with its authentication and no extra hop on every request.) On CREATE and
// UPDATE it first reviews what the Service would claim on the host (servicereview.go), so that
// `kubectl edit` adding an externalIP is refused at once rather than dropped later.

// WebhookConfig configures the Service write-path webhook.
type WebhookConfig struct {
	// Listener, when set, is served instead of listening on Listen: the supervisor opens it
	// before the API server starts, whose admission configuration names its address.
	Listener                net.Listener
	Listen                  string
	ServingCert, ServingKey []byte
	// Client admits the API server's webhook client certificate and nothing else: without it,
	// any local user could make vkube create host Services.
	Client certs.ClientPin
	// CABundle is what the virtual apiserver verifies the webhook with.
	CABundle                []byte
	Virtual                 kubernetes.Interface
	Host                    kubernetes.Interface
	HostNamespace, VCluster string
	// ExternalIPCIDRs is policies.hostAccess.externalIPCIDRs (see reviewService).
	ExternalIPCIDRs []string
	Logger          *slog.Logger
}

const webhookName = "vkube-services"

// ServeServiceWebhook serves the webhook and keeps its registration in the virtual cluster (a
// tenant who deletes it gets it back within seconds).
func ServeServiceWebhook(ctx context.Context, cfg WebhookConfig) error {
	cert, err := tls.X509KeyPair(cfg.ServingCert, cfg.ServingKey)
	if err != nil {
		return fmt.Errorf("service webhook: serving cert: %w", err)
	}
	externalIPs, err := parsePrefixes(cfg.ExternalIPCIDRs)
	if err != nil {
		return fmt.Errorf("service webhook: %s: %w", keyExternalIPCIDRs, err)
	}
	tlsConfig, err := cfg.Client.TLSConfig(cert)
	if err != nil {
		return fmt.Errorf("service webhook: %w", err)
	}
	l := cfg.Listener
	if l == nil {
		if l, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("service webhook %s: %w", cfg.Listen, err)
		}
	}
	w := &serviceWebhook{cfg: cfg, svc: services{tctx: translate.Context{VCluster: cfg.VCluster, HostNamespace: cfg.HostNamespace}, externalIPs: externalIPs},
		log: cfg.Logger.With("component", "service-webhook")}
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate-services", w.serve)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, TLSConfig: tlsConfig}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	url := "https://" + l.Addr().String() + "/mutate-services"
	go w.keepRegistered(ctx, url)
	return nil
}

type serviceWebhook struct {
	cfg WebhookConfig
	svc services
	log *slog.Logger
}

func (w *serviceWebhook) keepRegistered(ctx context.Context, url string) {
	fail := admissionregv1.Fail
	none := admissionregv1.SideEffectClassNoneOnDryRun
	timeout := int32(10)
	want := &admissionregv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: webhookName, Labels: map[string]string{translate.LabelManagedBy: w.cfg.VCluster}},
		Webhooks: []admissionregv1.MutatingWebhook{{
			Name:                    "services.vkube.io",
			ClientConfig:            admissionregv1.WebhookClientConfig{URL: &url, CABundle: w.cfg.CABundle},
			Rules:                   []admissionregv1.RuleWithOperations{{Operations: []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update}, Rule: admissionregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"services"}}}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	api := w.cfg.Virtual.AdmissionregistrationV1().MutatingWebhookConfigurations()
	for {
		live, err := api.Get(ctx, webhookName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if _, err := api.Create(ctx, want, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				w.log.Error("registering the service webhook", "error", err)
			}
		case err == nil && !equalJSON(live.Webhooks, want.Webhooks):
			live.Webhooks = want.Webhooks
			if _, err := api.Update(ctx, live, metav1.UpdateOptions{}); err != nil {
				w.log.Error("restoring the service webhook", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

func (w *serviceWebhook) serve(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(rw, "not an AdmissionReview", http.StatusBadRequest)
		return
	}
	review.Response = w.admit(r.Context(), review.Request)
	review.Response.UID = review.Request.UID
	review.Request = nil
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(&review)
}

func (w *serviceWebhook) admit(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	allow := &admissionv1.AdmissionResponse{Allowed: true}
	var svc corev1.Service
	if err := json.Unmarshal(req.Object.Raw, &svc); err != nil {
		return deny(http.StatusBadRequest, "vkube: cannot read the Service: "+err.Error())
	}
	svc.Namespace = req.Namespace
	if !hasHostTwin(&svc) {
		return allow
	}
	errs := reviewService(&svc, w.svc.externalIPs)
	if req.Operation == admissionv1.Update && len(errs) > 0 {
		var old corev1.Service
		if err := json.Unmarshal(req.OldObject.Raw, &old); err == nil {
			errs = newClaims(errs, reviewService(&old, w.svc.externalIPs))
		}
	}
	if len(errs) > 0 {
		return deny(http.StatusForbidden, "vkube: "+reviewMessage(errs))
	}
	// An update changes the twin through the syncer; only a create needs the host's IP first.
	if req.Operation != admissionv1.Create || svc.Spec.ClusterIP == corev1.ClusterIPNone || svc.Spec.Type == corev1.ServiceTypeExternalName || (req.DryRun != nil && *req.DryRun) {
		return allow
	}
	// The API server generates a generateName'd name only after mutating admission, and the
	// twin's name needs it now: the webhook generates it as the API server would and sets it.
	var patch []map[string]any
	if svc.Name == "" && svc.GenerateName != "" {
		svc.Name = generateName(svc.GenerateName)
		patch = append(patch, map[string]any{"op": "add", "path": "/metadata/name", "value": svc.Name})
	}
	// A name the virtual cluster already has is refused by the apiserver after us; creating a
	// host twin for it would strand one.
	if _, err := w.cfg.Virtual.CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{}); err == nil {
		return allow
	}
	hostObj, err := w.svc.hostService(&svc)
	if err != nil {
		return deny(http.StatusBadRequest, err.Error())
	}
	if err := translate.Stamp(hostObj); err != nil {
		return deny(http.StatusInternalServerError, err.Error())
	}
	var host corev1.Service
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(hostObj.Object, &host); err != nil {
		return deny(http.StatusInternalServerError, err.Error())
	}
	api := w.cfg.Host.CoreV1().Services(w.cfg.HostNamespace)
	created, err := api.Create(ctx, &host, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = api.Get(ctx, host.Name, metav1.GetOptions{})
		if err == nil && !w.svc.tctx.Owned(created) {
			return deny(http.StatusConflict, fmt.Sprintf("vkube: host Service %s/%s exists and is not managed by this virtual cluster", w.cfg.HostNamespace, host.Name))
		}
		// The twin of this Service (made by an earlier attempt) lends its IP; another Service's
		// twin must not (the virtual UID is not known yet: namespace and name decide).
		if err == nil && translate.IdentityOf("Service", &svc).Match(created.Annotations) == translate.Foreign {
			return deny(http.StatusConflict, fmt.Sprintf("vkube: host Service %s/%s is the twin of Service %s, not of this one", w.cfg.HostNamespace, host.Name, translate.Recorded(created.Annotations)))
		}
	}
	if err != nil {
		code := int32(http.StatusInternalServerError)
		if s, ok := err.(apierrors.APIStatus); ok {
			code = s.Status().Code
		}
		w.log.Info("host refused a service", "service", svc.Namespace+"/"+svc.Name, "error", hostMessage(err))
		return deny(code, "the host cluster refused this Service: "+hostMessage(err))
	}
	patch = append(patch, []map[string]any{
		{"op": "add", "path": "/spec/clusterIP", "value": created.Spec.ClusterIP},
		{"op": "add", "path": "/spec/clusterIPs", "value": created.Spec.ClusterIPs},
	}...)
	if len(svc.Spec.Ports) == len(created.Spec.Ports) && svc.Spec.Type != corev1.ServiceTypeClusterIP {
		for i, p := range created.Spec.Ports {
			if p.NodePort != 0 {
				patch = append(patch, map[string]any{"op": "add", "path": fmt.Sprintf("/spec/ports/%d/nodePort", i), "value": p.NodePort})
			}
		}
	}
	if created.Spec.HealthCheckNodePort != 0 {
		// The host chose it (a tenant's choice is not passed on): the virtual Service says so.
		patch = append(patch, map[string]any{"op": "add", "path": "/spec/healthCheckNodePort", "value": created.Spec.HealthCheckNodePort})
	}
	b, _ := json.Marshal(patch)
	pt := admissionv1.PatchTypeJSONPatch
	return &admissionv1.AdmissionResponse{Allowed: true, Patch: b, PatchType: &pt}
}

// generateName is the API server's names.SimpleNameGenerator: the prefix, cut so that the name
// fits 63 characters, and five random alphanumerics.
func generateName(prefix string) string {
	const random, maxLength = 5, 63
	if len(prefix) > maxLength-random {
		prefix = prefix[:maxLength-random]
	}
	return prefix + utilrand.String(random)
}

func deny(code int32, msg string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{Status: metav1.StatusFailure, Code: code, Message: msg}}
}
