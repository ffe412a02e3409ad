package validate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// validate trusts what it is asked to validate and says so in each report.
func TestReportsSayValidateTrusted(t *testing.T) {
	reps := []*LessonReport{{ID: "demo", Title: "Démo", Status: StatusPass, Trust: "this-run",
		Steps: []StepReport{{Index: 1, Title: "un", Status: StatusPass}}}}
	var text, js, junit bytes.Buffer
	WriteText(&text, reps)
	if !strings.Contains(text.String(), "trust: scripts trusted for this run only") {
		t.Fatalf("text report:\n%s", text.String())
	}
	if err := WriteJSON(&js, reps); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Lessons []struct {
			Trust string `json:"trust"`
		} `json:"lessons"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil || len(doc.Lessons) != 1 || doc.Lessons[0].Trust != "this-run" {
		t.Fatalf("json report: %v %s", err, js.String())
	}
	if err := WriteJUnit(&junit, reps); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(junit.String(), `<properties>`) || !strings.Contains(junit.String(), `<property name="klab.trust" value="this-run"></property>`) {
		t.Fatalf("junit report:\n%s", junit.String())
	}
}
