package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/klabdev/klab/internal/dirs"

	"sigs.k8s.io/yaml"
)

// fileConfig is $XDG_CONFIG_HOME/klab/config.yaml: defaults below KLAB_*
// variables and flags.
type fileConfig struct {
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Sandbox    bool   `json:"sandbox,omitempty"`
	Kubectl    string `json:"kubectl,omitempty"`
	Lang       string `json:"lang,omitempty"`
}

// configPath is where klab reads its config file.
func configPath() string {
	return filepath.Join(dirs.Config(), "config.yaml")
}

// loadConfig reads the config file; a missing file is no error, a bad one is
// (unknown keys included), naming the file.
func loadConfig(path string) (fileConfig, error) {
	var c fileConfig
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read config %s: %w", path, err)
	}
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}
