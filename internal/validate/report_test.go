package validate

import "testing"

func TestIsWatch(t *testing.T) {
	for code, want := range map[string]bool{
		"kubectl get jobs -w":                         true,
		"microk8s kubectl get pods --watch":           true,
		"kubectl get jobs --watch-only":               true,
		"kubectl logs -f job/hello":                   true,
		"k logs job/hello --follow":                   true,
		"kubectl apply -f job.yaml":                   false,
		"kubectl apply -f - <<'EOF'\nkind: Job\nEOF":  false,
		"kubectl get jobs":                            false,
		"echo -w":                                     false,
		"kubectl wait --for=condition=complete job/x": false,
	} {
		if got := isWatch(code); got != want {
			t.Errorf("isWatch(%q) = %v, want %v", code, got, want)
		}
	}
}
