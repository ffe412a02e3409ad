package assets

import "testing"

func TestCatalogsConsistent(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
	fr, en := Catalog("fr"), Catalog("en")
	if len(fr.Keys()) != len(en.Keys()) {
		t.Fatalf("fr has %d keys, en %d", len(fr.Keys()), len(en.Keys()))
	}
	if got := Catalog("xx").Lang(); got != "en" {
		t.Fatalf("unknown language falls back to %q, want en", got)
	}
	if got := fr.T("no.such.key"); got != "no.such.key" {
		t.Fatalf("missing key gives %q", got)
	}
}
