package connect

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"vkube.io/vkube/names"
)

// SecretName is the host Secret holding virtual cluster name's admin kubeconfig.
func SecretName(name string) string { return names.KubeconfigSecret(name) }

// credentials authenticate to the virtual apiserver: the admin client certificate, or a token.
type credentials struct {
	CA                    []byte
	ClientCert, ClientKey []byte
	Token                 string
}

// endpoint is where and how the kubeconfig reaches the virtual apiserver.
type endpoint struct {
	Server string
	// TLSServerName is the name verified in the serving certificate when Server's host is no SAN.
	TLSServerName string
	Insecure      bool
	// portForward: Server is not known yet; a port-forward to a ready pod provides it.
	portForward bool
}

// adminCredentials reads the admin kubeconfig Secret vc-NAME, which also proves the virtual
// cluster exists.
func (s *session) adminCredentials(ctx context.Context) (credentials, error) {
	sec, err := s.host.CoreV1().Secrets(s.namespace).Get(ctx, SecretName(s.o.Name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return credentials{}, fmt.Errorf("virtual cluster %s not found in namespace %s (vkube list shows them)", s.o.Name, s.namespace)
	}
	if err != nil {
		return credentials{}, fmt.Errorf("read Secret %s/%s of virtual cluster %s: %w", s.namespace, SecretName(s.o.Name), s.o.Name, err)
	}
	return credentialsFromSecret(sec)
}

// credentialsFromSecret takes the admin credentials from key config (a kubeconfig), falling
// back to the keys certificate-authority, client-certificate and client-key.
func credentialsFromSecret(sec *corev1.Secret) (credentials, error) {
	var c credentials
	if data := sec.Data["config"]; len(data) > 0 {
		kc, err := clientcmd.Load(data)
		if err != nil {
			return c, fmt.Errorf("Secret %s/%s: key config is no kubeconfig: %w", sec.Namespace, sec.Name, err)
		}
		cluster, user := currentClusterAndUser(kc)
		if cluster != nil {
			c.CA = cluster.CertificateAuthorityData
		}
		if user != nil {
			c.ClientCert, c.ClientKey, c.Token = user.ClientCertificateData, user.ClientKeyData, user.Token
		}
	}
	if len(c.CA) == 0 {
		c.CA = sec.Data["certificate-authority"]
	}
	if c.Token == "" && (len(c.ClientCert) == 0 || len(c.ClientKey) == 0) {
		c.ClientCert, c.ClientKey = sec.Data["client-certificate"], sec.Data["client-key"]
	}
	if c.Token == "" && (len(c.ClientCert) == 0 || len(c.ClientKey) == 0) {
		return c, fmt.Errorf("Secret %s/%s holds no admin credentials (keys config, or client-certificate and client-key)", sec.Namespace, sec.Name)
	}
	return c, nil
}

func currentClusterAndUser(kc *clientcmdapi.Config) (*clientcmdapi.Cluster, *clientcmdapi.AuthInfo) {
	if ctx, ok := kc.Contexts[kc.CurrentContext]; ok {
		return kc.Clusters[ctx.Cluster], kc.AuthInfos[ctx.AuthInfo]
	}
	var cluster *clientcmdapi.Cluster
	var user *clientcmdapi.AuthInfo
	if len(kc.Clusters) == 1 {
		for _, c := range kc.Clusters {
			cluster = c
		}
	}
	if len(kc.AuthInfos) == 1 {
		for _, u := range kc.AuthInfos {
			user = u
		}
	}
	return cluster, user
}

// buildKubeconfig is a kubeconfig with one cluster, user and context, all called name.
func buildKubeconfig(name string, ep endpoint, cred credentials) *clientcmdapi.Config {
	cluster := clientcmdapi.NewCluster()
	cluster.Server = ep.Server
	if ep.Insecure {
		cluster.InsecureSkipTLSVerify = true
	} else {
		cluster.CertificateAuthorityData = cred.CA
		cluster.TLSServerName = ep.TLSServerName
	}
	user := clientcmdapi.NewAuthInfo()
	if cred.Token != "" {
		user.Token = cred.Token
	} else {
		user.ClientCertificateData, user.ClientKeyData = cred.ClientCert, cred.ClientKey
	}
	kctx := clientcmdapi.NewContext()
	kctx.Cluster, kctx.AuthInfo = name, name

	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = cluster
	kc.AuthInfos[name] = user
	kc.Contexts[name] = kctx
	kc.CurrentContext = name
	return kc
}

// mergeAndSwitch writes kc's cluster, user and context (all called name) into the kubeconfig
// behind access and makes name current. It returns the context that was current before; when
// name itself was, fallback (the host context) stands in for it.
func mergeAndSwitch(access clientcmd.ConfigAccess, kc *clientcmdapi.Config, name, fallback string) (string, error) {
	start, err := access.GetStartingConfig()
	if err != nil {
		return "", err
	}
	cfg := start.DeepCopy()
	ensureMaps(cfg)
	prev := cfg.CurrentContext
	if prev == name {
		prev = fallback
	}
	// An entry keeps the file it came from, so a reconnect updates it in place.
	cluster, user, kctx := kc.Clusters[name].DeepCopy(), kc.AuthInfos[name].DeepCopy(), kc.Contexts[name].DeepCopy()
	if old, ok := cfg.Clusters[name]; ok {
		cluster.LocationOfOrigin = old.LocationOfOrigin
	}
	if old, ok := cfg.AuthInfos[name]; ok {
		user.LocationOfOrigin = old.LocationOfOrigin
	}
	if old, ok := cfg.Contexts[name]; ok {
		kctx.LocationOfOrigin = old.LocationOfOrigin
	}
	cfg.Clusters[name], cfg.AuthInfos[name], cfg.Contexts[name] = cluster, user, kctx
	// Two writes, so that current-context never names a context not written yet.
	if err := clientcmd.ModifyConfig(access, *cfg, false); err != nil {
		return "", err
	}
	cfg.CurrentContext = name
	return prev, clientcmd.ModifyConfig(access, *cfg, false)
}

// switchBack makes prev current again if name still is, and removes name's cluster, user and
// context if they still point at server (a later connect may have taken the name over).
func switchBack(access clientcmd.ConfigAccess, name, prev, server string) error {
	start, err := access.GetStartingConfig()
	if err != nil {
		return err
	}
	cfg := start.DeepCopy()
	ensureMaps(cfg)
	if cfg.CurrentContext == name {
		cfg.CurrentContext = prev
		if err := clientcmd.ModifyConfig(access, *cfg, false); err != nil {
			return err
		}
	}
	if c, ok := cfg.Clusters[name]; ok && c.Server == server {
		delete(cfg.Clusters, name)
		delete(cfg.AuthInfos, name)
		delete(cfg.Contexts, name)
	}
	return clientcmd.ModifyConfig(access, *cfg, false)
}

func ensureMaps(cfg *clientcmdapi.Config) {
	if cfg.Clusters == nil {
		cfg.Clusters = map[string]*clientcmdapi.Cluster{}
	}
	if cfg.AuthInfos == nil {
		cfg.AuthInfos = map[string]*clientcmdapi.AuthInfo{}
	}
	if cfg.Contexts == nil {
		cfg.Contexts = map[string]*clientcmdapi.Context{}
	}
}
