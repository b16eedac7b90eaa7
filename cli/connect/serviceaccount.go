package connect

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// serviceAccountNamespace holds the ServiceAccounts connect creates in the virtual cluster.
const serviceAccountNamespace = "kube-system"

// tokenExpiration is asked of the TokenRequest; the apiserver may cap it
// (--service-account-max-token-expiration).
const tokenExpiration int64 = 365 * 24 * 60 * 60

// BindingName is the ClusterRoleBinding connect creates for ServiceAccount sa and ClusterRole role.
func BindingName(sa, role string) string { return "vkube-" + sa + "-" + role }

// serviceAccountToken creates ServiceAccount sa in kube-system of the virtual cluster that
// admin reaches (when missing), binds it to ClusterRole role (when given) and returns a token.
func serviceAccountToken(ctx context.Context, admin *clientcmdapi.Config, sa, role string) (string, error) {
	cfg, err := clientcmd.NewDefaultClientConfig(*admin, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return "", err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	return ensureServiceAccountToken(ctx, client, sa, role)
}

func ensureServiceAccountToken(ctx context.Context, client kubernetes.Interface, sa, role string) (string, error) {
	_, err := client.CoreV1().ServiceAccounts(serviceAccountNamespace).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: serviceAccountNamespace},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create ServiceAccount %s/%s in the virtual cluster: %w", serviceAccountNamespace, sa, hintTLS(err))
	}
	if role != "" {
		_, err := client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: BindingName(sa, role)},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: serviceAccountNamespace}},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return "", fmt.Errorf("bind ServiceAccount %s to ClusterRole %s in the virtual cluster: %w", sa, role, err)
		}
	}
	exp := tokenExpiration
	tr, err := client.CoreV1().ServiceAccounts(serviceAccountNamespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("request a token for ServiceAccount %s/%s in the virtual cluster: %w", serviceAccountNamespace, sa, err)
	}
	if tr.Status.Token == "" {
		return "", fmt.Errorf("the virtual cluster returned an empty token for ServiceAccount %s/%s", serviceAccountNamespace, sa)
	}
	return tr.Status.Token, nil
}

// hintTLS names the fix when --server's host is not in the serving certificate.
func hintTLS(err error) error {
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	if errors.As(err, &hostErr) || errors.As(err, &authErr) {
		return fmt.Errorf("%w (the server's name is not in the virtual cluster's certificate: pass --insecure, or create it with --tls-san)", err)
	}
	return err
}
