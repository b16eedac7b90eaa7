package lifecycle

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/storage/driver"

	"vkube.io/vkube/cli/hostflags"
	"vkube.io/vkube/config"
)

// helmFor is a Helm SDK configuration acting in namespace ns of the host. Helm's own logs go
// nowhere: vkube reports progress itself.
func helmFor(host *hostflags.Flags, ns string) (*action.Configuration, error) {
	host.Pin(ns)
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
	if err := cfg.Init(host.Getter, ns, "secret"); err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	return cfg, nil
}

// releaseValues are the values a release was installed with, or nil when there is no release.
func releaseValues(cfg *action.Configuration, name string) (map[string]any, bool, error) {
	vals, err := action.NewGetValues(cfg).Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading release %s: %w", name, err)
	}
	return vals, true, nil
}

// chartValues turns a Config into the chart's values: the vkube.yaml document itself.
func chartValues(c *config.Config) (map[string]any, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	vals := map[string]any{}
	if err := json.Unmarshal(data, &vals); err != nil {
		return nil, err
	}
	return vals, nil
}

func copyConfig(c *config.Config) (*config.Config, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	out := &config.Config{}
	return out, json.Unmarshal(data, out)
}
