package distro

// The eks distro is the k8s distro with EKS-Distro binaries (when shipped; upstream binaries of
// the same version otherwise) and the apiserver defaults EKS clusters run with.
func init() {
	register(&k8sDriver{name: "eks", apiserverDefaults: map[string]string{
		"kubelet-preferred-address-types": "InternalIP,Hostname,ExternalIP",
		"tls-cipher-suites": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256," +
			"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384," +
			"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
		"enable-admission-plugins": "NodeRestriction,PodSecurity",
	}})
}
