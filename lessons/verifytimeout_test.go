package lessons

import (
	"testing"
	"time"
)

func TestVerifyTimeoutBoundsScriptObjectives(t *testing.T) {
	dir := writeLesson(t, map[string]string{
		"index.json": `{"title": "x", "details": {"steps": [
 {"text": "s.md", "verify": "v.sh", "objectives": "o.yaml", "verifyTimeout": "3s"},
 {"text": "s.md", "verify": "v.sh"}]}}`,
		"s.md": "Step\n",
		"v.sh": "exit 0\n",
		"o.yaml": "objectives:\n- id: sc\n  title: t\n  script: v.sh\n" +
			"- id: m\n  title: m\n  target: {kind: Job, name: j}\n",
	})
	l, _, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s1 := l.Steps[0]
	if s1.VerifyTimeout != 3*time.Second {
		t.Fatalf("step verifyTimeout: %s", s1.VerifyTimeout)
	}
	for _, o := range s1.Objectives {
		want := 3 * time.Second
		if o.Script == nil {
			want = 0
		}
		if o.ScriptTimeout != want {
			t.Errorf("objective %s: scriptTimeout %s, want %s", o.ID, o.ScriptTimeout, want)
		}
	}
	if got := l.Steps[1].Objectives[0].ScriptTimeout; got != 0 {
		t.Errorf("step 2 has no verifyTimeout, its verify objective got %s", got)
	}
}
