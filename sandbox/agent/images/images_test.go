package images

import (
	"errors"
	"strings"
	"testing"

	"github.com/klabdev/klab/sandbox/agent/servers"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		image, normalized, err string
	}{
		{"nginx", "docker.io/library/nginx:latest", ""},
		{"nginx:1.27", "docker.io/library/nginx:1.27", ""},
		{"nginx:1.27.3-alpine", "docker.io/library/nginx:1.27.3-alpine", ""},
		{"docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36", ""},
		{"busybox@sha256:" + strings.Repeat("a", 64), "docker.io/library/busybox@sha256:" + strings.Repeat("a", 64), ""},
		{"registry.k8s.io/e2e-test-images/busybox:1.37.0-2", "registry.k8s.io/e2e-test-images/busybox:1.37.0-2", ""},
		{"registry.k8s.io/pause:3.10.2", "registry.k8s.io/pause:3.10.2", ""},
		{"ngnix", "", `failed to pull and unpack image "docker.io/library/ngnix:latest": failed to resolve reference "docker.io/library/ngnix:latest": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`},
		{"busybx:1.36", "", `pull access denied`},
		{"nginx:1.99", "", `failed to pull and unpack image "docker.io/library/nginx:1.99": failed to resolve reference "docker.io/library/nginx:1.99": docker.io/library/nginx:1.99: not found`},
		{"nginx:lastest", "", `docker.io/library/nginx:lastest: not found`},
		{"Nginx", "", `couldn't parse image name "Nginx": invalid reference format: repository name (library/Nginx) must be lowercase`},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			ref, err := Lookup(tt.image)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.err == "" && ref.Normalized != tt.normalized:
				t.Fatalf("normalized %q, want %q", ref.Normalized, tt.normalized)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want %q", err, tt.err)
			}
		})
	}
	_, err := Lookup("Nginx")
	var inv *InvalidNameError
	if !errors.As(err, &inv) || IsPullError(err) {
		t.Fatalf("Nginx: %T, want an InvalidNameError", err)
	}
}

// Every server image names a server that exists, and its ports are the ones that server listens on.
func TestServerImagesRunAServer(t *testing.T) {
	for _, im := range catalogue() {
		if im.Daemon == "" {
			continue
		}
		if !im.Server || servers.Get(im.Daemon) == nil {
			t.Errorf("%s: daemon %q is not a server of package servers", im.Name, im.Daemon)
		}
	}
}
