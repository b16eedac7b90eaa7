package startconfig

import (
	"fmt"
	"os"
	"strings"

	"vkube.io/vkube/config"
	"vkube.io/vkube/config/encoding"
)

// Build layers the config files, then the flags the user set (VKUBE_DATASTORE_ENDPOINT
// stands in for an unset --datastore-endpoint), then defaults, and validates the result. Flags
// that contradict each other are refused rather than silently preferred.
func (f *Flags) Build(changed func(string) bool) (*config.Config, []string, error) {
	cfg := &config.Config{}
	var warnings []string
	if len(f.ConfigFiles) > 0 {
		var err error
		cfg, warnings, err = encoding.LoadFiles(f.ConfigFiles...)
		if err != nil {
			return nil, nil, err
		}
	}
	if f.Name != "" {
		cfg.Name = f.Name
	}
	if cfg.Name == "" {
		cfg.Name = "vkube"
	}
	if f.Distro != "" {
		if err := cfg.SetDistro(f.Distro); err != nil {
			return nil, nil, fmt.Errorf("--distro: %w", err)
		}
	}
	if f.KubernetesVersion != "" {
		cfg.SetKubernetesVersion(f.KubernetesVersion)
	}
	if f.Endpoint == "" {
		f.Endpoint = os.Getenv("VKUBE_DATASTORE_ENDPOINT")
	}
	if f.Endpoint != "" && f.EndpointFile != "" {
		return nil, nil, fmt.Errorf("--datastore-endpoint and --datastore-endpoint-file both set: give the endpoint one way")
	}
	if f.EndpointFile != "" {
		data, err := os.ReadFile(f.EndpointFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--datastore-endpoint-file: %w", err)
		}
		f.Endpoint = strings.TrimSpace(string(data))
	}
	if f.Backend != "" || f.Endpoint != "" {
		if err := setBackend(cfg, f.Backend, f.Endpoint, f.EndpointFile); err != nil {
			return nil, nil, err
		}
		if changed("datastore-endpoint") && config.RedactDSN(f.Endpoint) != f.Endpoint {
			warnings = append(warnings, "--datastore-endpoint carries a password that process listings show: prefer VKUBE_DATASTORE_ENDPOINT or --datastore-endpoint-file")
		}
	}
	cfg.ControlPlane.Proxy.ExtraSANs = append(cfg.ControlPlane.Proxy.ExtraSANs, f.TLSSANs...)
	if f.ServiceCIDR != "" {
		cfg.ControlPlane.Advanced.ServiceCIDR = f.ServiceCIDR
	}
	if f.Isolate {
		cfg.Policies.Isolate()
	}
	if cfg.Sync.ToHost.RewriteHostsImage == "" {
		cfg.Sync.ToHost.RewriteHostsImage = f.HelperImage
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	return cfg, warnings, nil
}

// setBackend applies --backend/--datastore-endpoint, replacing whatever store the files chose.
func setBackend(cfg *config.Config, backend, endpoint, endpointFile string) error {
	if backend == "" {
		switch {
		case strings.HasPrefix(endpoint, "http://"), strings.HasPrefix(endpoint, "https://"):
			backend = "etcd"
		default:
			backend = string(config.DSNKind(endpoint))
			if backend == string(config.BackendUnknown) || backend == "" {
				return fmt.Errorf("--datastore-endpoint %q: unknown scheme: use mysql://, postgres:// or http(s):// etcd URLs, and --backend to name the datastore", config.RedactDSN(endpoint))
			}
		}
	}
	bs := &cfg.ControlPlane.BackingStore
	*bs = config.BackingStore{}
	switch backend {
	case "sqlite":
		if endpoint != "" {
			return fmt.Errorf("--backend sqlite takes no --datastore-endpoint: SQLite lives in --data-dir; drop one of the two")
		}
		bs.Database.Embedded.Enabled = true
	case "mysql", "mariadb", "postgres", "postgresql":
		if endpoint == "" {
			return fmt.Errorf("--backend %s needs a DSN: set VKUBE_DATASTORE_ENDPOINT, --datastore-endpoint-file or --datastore-endpoint", backend)
		}
		if _, err := config.ParseDSN(endpoint); err != nil {
			return fmt.Errorf("datastore endpoint %s", err)
		}
		want := config.BackendMySQL
		if strings.HasPrefix(backend, "postgres") {
			want = config.BackendPostgres
		}
		if got := config.DSNKind(endpoint); got != want {
			return fmt.Errorf("--backend %s conflicts with the datastore endpoint %q: use a %s:// DSN or change --backend", backend, config.RedactDSN(endpoint), backend)
		}
		bs.Database.External.Enabled = true
		if endpointFile != "" {
			bs.Database.External.DataSourceFile = endpointFile
		} else {
			bs.Database.External.DataSource = endpoint
		}
	case "etcd":
		if endpoint == "" {
			bs.Etcd.Embedded.Enabled = true
			return nil
		}
		if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
			return fmt.Errorf("--backend etcd conflicts with the datastore endpoint %q: external etcd takes http(s):// URLs; omit the endpoint for embedded etcd", config.RedactDSN(endpoint))
		}
		bs.Etcd.External.Enabled = true
		bs.Etcd.External.Endpoint = endpoint
	default:
		return fmt.Errorf("--backend %q is not known: use sqlite, mysql, mariadb, postgres or etcd", backend)
	}
	return nil
}
