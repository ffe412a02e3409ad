package tui

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
)

// frenchText holds what French typography puts in a lesson: U+202F (the
// narrow no-break space) before : ; ! ? and inside « guillemets »,
// hyphenated words, inline code, and a no-break space (U+00A0).
const frenchText = "Un Job crée un Pod, attend qu\u2019il se termine avec succès (code de sortie 0), puis se déclare terminé\u202f: " +
	"contrairement à un Deployment, il ne relance pas un Pod qui a fini son travail\u202f; le but est d\u2019aller au bout\u202f! " +
	"Que fait `kubectl get jobs -w`\u202f? Il suit les Jobs, c\u2019est-à-dire qu\u2019il affiche chaque changement, " +
	"peut-être en arrière-plan\u202f: regardez la colonne «\u202fCOMPLETIONS\u202f» et le champ `status.succeeded`. " +
	"Le Job «\u202fsalut\u202f» affiche «\u202fSalut\u202f» puis se termine\u202f; le contrôleur de Jobs compte les Pods réussis " +
	"jusqu\u2019à `spec.completions`\u00a0(1 par défaut)\u202f!"

// TestFrenchWrapping renders French text at 40, 80 and 120 columns: no line
// is wider than the pane, none starts with the punctuation or the closing
// guillemet that U+202F binds to the word before, none ends with an opening
// guillemet, and no text is lost.
func TestFrenchWrapping(t *testing.T) {
	for _, w := range []int{40, 80, 120} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			r := newRenderCache(true)
			out := ansi.Strip(r.Render(frenchText, w))
			lines := strings.Split(out, "\n")
			for i, l := range lines {
				if cw := ansi.StringWidth(l); cw > w {
					t.Errorf("line %d is %d cells wide, pane %d: %q", i+1, cw, w, l)
				}
				tl := strings.TrimLeft(l, " \u202f\u00a0")
				for _, p := range []string{":", ";", "!", "?", "»"} {
					if strings.HasPrefix(tl, p) {
						t.Errorf("line %d starts with %q: %q", i+1, p, l)
					}
				}
				if strings.HasSuffix(strings.TrimRight(l, " \u202f\u00a0"), "«") {
					t.Errorf("line %d ends with «: %q", i+1, l)
				}
			}
			if got, want := words(out), words(frenchText); got != want {
				t.Errorf("text changed by wrapping:\n got %s\nwant %s", got, want)
			}
			golden.RequireEqual(t, []byte(out))
		})
	}
}

// words is s without spaces of any kind and without the backquotes of
// inline code, to compare wrapped text with its source.
func words(s string) string {
	return strings.NewReplacer(" ", "", "\n", "", "\u202f", "", "\u00a0", "", "`", "").Replace(s)
}

// An option's hyphen never ends a line, in inline code or in text; a
// hyphen between two letters may.
func TestWrapKeepsOptionsWhole(t *testing.T) {
	r := newRenderCache(true)
	for _, md := range []string{
		"Suivez-les avec `kubectl get jobs -w` ou `kubectl get pods --watch` et lisez.",
		"abcdefghijklmno -w puis --all-namespaces, et c'est-à-dire arrière-plan.",
	} {
		for w := 20; w <= 60; w++ {
			out := ansi.Strip(r.Render(md, w))
			lines := strings.Split(out, "\n")
			for i, l := range lines {
				l = strings.TrimRight(l, " ")
				if !strings.HasSuffix(l, "-") {
					continue
				}
				before, _ := utf8.DecodeLastRuneInString(strings.TrimSuffix(l, "-"))
				after := []rune(strings.TrimLeft(lines[min(i+1, len(lines)-1)], " "))
				if !unicode.IsLetter(before) || len(after) == 0 || !unicode.IsLetter(after[0]) {
					t.Errorf("width %d: line %d ends with an option's hyphen: %q / %q", w, i+1, l, string(after))
				}
			}
			if got, want := words(out), words(md); got != want {
				t.Errorf("width %d: text changed:\n got %s\nwant %s", w, got, want)
			}
		}
	}
}

// Holding characters for the wrap changes nothing in markdown's own
// syntax: list markers, tables, thematic breaks and code blocks render as
// they would without it.
func TestHoldKeepsMarkdown(t *testing.T) {
	md := "- un\n- deux\n  - trois\n\n---\n\n| a | b |\n|---|---|\n| x | y |\n\n```\nkubectl get jobs -w\n```\n"
	held, ok := holdForWrap(md)
	if !ok || held != md {
		t.Fatalf("markdown syntax was held:\n%q\n%q", md, held)
	}
	if got, _ := holdForWrap("a \u202f: `x -w` -n"); got != "a \u2e2e: `x \ue001w` \ue001n" {
		t.Fatalf("held %q", got)
	}
	if _, ok := holdForWrap("déjà \u2e2e"); ok {
		t.Fatal("a text using the held characters was held")
	}
}

// Emphasis that ends right before a French « : » (« **kubectl get** : »)
// stays emphasis: the held U+202F must not change how markdown reads `**`.
func TestHoldKeepsEmphasis(t *testing.T) {
	r := newRenderCache(true)
	for _, md := range []string{
		"1. **kubectl get**\u202f: quel objet va mal\u202f?",
		"Le Job **salut**\u202f; puis _ensuite_\u202f! et «\u202f**gras**\u202f».",
	} {
		for _, w := range []int{40, 80, 120} {
			out := ansi.Strip(r.Render(md, w))
			if strings.Contains(out, "*") || strings.Contains(out, "_ensuite_") {
				t.Errorf("width %d: emphasis shown as text: %q", w, out)
			}
			if !strings.Contains(out, "\u202f") {
				t.Errorf("width %d: the narrow no-break space is lost: %q", w, out)
			}
		}
	}
}
