package tui

import (
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"charm.land/glamour/v2"

	"github.com/klabdev/klab/assets"
)

// renderCache renders markdown with glamour. The renderer is built once per
// width and rendered text is cached by (width, markdown), so only a resize
// costs a re-render.
type renderCache struct {
	mu    sync.Mutex
	dark  bool
	width int
	tr    *glamour.TermRenderer
	cache map[string]string
}

func newRenderCache(dark bool) *renderCache {
	return &renderCache{dark: dark}
}

// style returns klab's glamour style JSON (assets/styles/dark.json or light.json).
func (r *renderCache) style() []byte {
	name := "styles/light.json"
	if r.dark {
		name = "styles/dark.json"
	}
	b, err := fs.ReadFile(assets.FS(), name)
	if err != nil {
		// Embedded at build time and covered by tests.
		panic(fmt.Sprintf("klab glamour style %s: %v", name, err))
	}
	return b
}

// Render renders md to fit width columns.
func (r *renderCache) Render(md string, width int) string {
	if width < 20 {
		width = 20
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tr == nil || r.width != width {
		tr, err := glamour.NewTermRenderer(
			glamour.WithStylesFromJSONBytes(r.style()),
			glamour.WithWordWrap(width-2),
		)
		if err != nil {
			return md
		}
		r.tr, r.width, r.cache = tr, width, map[string]string{}
	}
	if out, ok := r.cache[md]; ok {
		return out
	}
	held, ok := holdForWrap(md)
	out, err := r.tr.Render(held)
	if err != nil {
		out = md
	} else if ok {
		out = releaseHeld(out)
	}
	out = strings.Trim(out, "\n")
	r.cache[md] = out
	return out
}
