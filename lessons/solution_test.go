package lessons

import (
	"strings"
	"testing"
)

func TestInteractiveCommand(t *testing.T) {
	for code, want := range map[string]string{
		"kubectl edit deploy web":                  "kubectl edit",
		"k edit cm x":                              "k edit",
		"vi app.yaml":                              "vi",
		"echo a && nano f":                         "nano",
		"read -p 'name? ' n":                       "read",
		"kubectl exec -it pod -- sh":               "kubectl exec",
		"kubectl run t --image=busybox -i --rm":    "kubectl run",
		"sudo vim /etc/hosts":                      "vim",
		"kubectl get pods":                         "",
		"kubectl exec pod -- cat /etc/hosts":       "",
		"echo 'edit me' | grep vi":                 "",
		"# vi is nice\nkubectl apply -f x.yaml":    "",
		"cat readme.md; ls":                        "",
		"kubectl run t --image=busybox -- sleep 1": "",
	} {
		if got := InteractiveCommand(code); got != want {
			t.Errorf("InteractiveCommand(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestHintSolution(t *testing.T) {
	step := "Create the ConfigMap and the Pod.\n\n<details><summary>Solution</summary>\n\n" +
		"```yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: b\n```\n\n" +
		"```\nkubectl wait --for=condition=Ready pod/web\n```\n\n" +
		"```yaml\nlogLevel: debug\n```\n\n</details>\n"
	l, diags, err := LoadFS(mapFS(map[string]string{
		"index.json": `{"title": "x", "details": {"steps": [{"text": "s.md", "verify": "v.sh"}]}}`,
		"s.md":       step,
		"v.sh":       "kubectl get cm app\n",
	}), ".", "x")
	if err != nil {
		t.Fatalf("%v %v", err, diagStrings(diags))
	}
	s := l.Steps[0]
	script, from := s.Solve()
	if from != SolutionFromHint || script == nil {
		t.Fatalf("Solve = %v, %q", script, from)
	}
	want := "kubectl apply -f - <<'KLAB_MANIFEST_1'\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: b\nKLAB_MANIFEST_1\nkubectl wait --for=condition=Ready pod/web\n"
	if script.Body != want {
		t.Errorf("body:\n%s\nwant:\n%s", script.Body, want)
	}
	if script.Path != "s.md:3 (Solution)" {
		t.Errorf("path %q", script.Path)
	}
	for _, d := range Lint(l) {
		if strings.Contains(d.Message, "cannot solve") {
			t.Errorf("lint: %s", d)
		}
	}

	// Exec blocks in the page win; an interactive hint is a lint warning.
	l, _, err = LoadFS(mapFS(map[string]string{
		"index.json": `{"title": "x", "details": {"steps": [{"text": "s.md", "verify": "v.sh"}]}}`,
		"s.md":       "Edit it.\n\n<details><summary>Lösung</summary>\n\n```bash\nkubectl edit cm app\n```\n\n</details>\n",
		"v.sh":       "true\n",
	}), ".", "x")
	if err != nil {
		t.Fatal(err)
	}
	wantDiag(t, Lint(l), "s.md:6: warning:", "the Solution hint runs kubectl edit, which waits for someone at the keyboard")
}

func TestSolveExamples(t *testing.T) {
	l, _, err := Load(shapesRoot + "/solution-deroulante")
	if err != nil {
		t.Fatal(err)
	}
	script, from := l.Steps[0].Solve()
	// The Solution's manifest is applied, its shell fence runs as written.
	want := "kubectl apply -f - <<'KLAB_MANIFEST_1'\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: couleurs\ndata:\n  fond: bleu\nKLAB_MANIFEST_1\n" +
		"kubectl label configmap couleurs equipe=web\n"
	if from != SolutionFromHint || script.Body != want {
		t.Fatalf("Solve = %+v, %q (the Tip's kubectl create -h is not the solution)", script, from)
	}
	l, _, err = Load(shapesRoot + "/etapes-verifiees")
	if err != nil {
		t.Fatal(err)
	}
	if _, from := l.Steps[0].Solve(); from != SolutionFromBlocks {
		t.Fatalf("from %q", from)
	}
}
