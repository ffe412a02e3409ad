// Package assets holds klab's embedded resources: UI message catalogs
// (French and English), glamour styles and RBAC examples.
package assets

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"
)

//go:embed i18n styles rbac
var files embed.FS

// FS exposes every embedded asset (i18n/, styles/, rbac/ …).
func FS() fs.FS { return files }

// Messages is a message catalog for one language, with English fallback.
type Messages struct {
	lang string
	m    map[string]string
	en   map[string]string
}

var (
	loadOnce sync.Once
	catalogs map[string]map[string]string
	loadErr  error
)

// load merges every i18n/*.<lang>.yaml file: each package owns its own file
// (verify.fr.yaml, tui.fr.yaml …), so keys are namespaced by prefix.
func load() {
	catalogs = map[string]map[string]string{}
	entries, err := fs.ReadDir(files, "i18n")
	if err != nil {
		loadErr = fmt.Errorf("read i18n: %w", err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		parts := strings.Split(strings.TrimSuffix(name, ".yaml"), ".")
		if len(parts) < 2 || !strings.HasSuffix(name, ".yaml") {
			continue
		}
		lang := parts[len(parts)-1]
		data, err := fs.ReadFile(files, path.Join("i18n", name))
		if err != nil {
			loadErr = fmt.Errorf("read %s: %w", name, err)
			return
		}
		var m map[string]string
		if err := yaml.Unmarshal(data, &m); err != nil {
			loadErr = fmt.Errorf("parse i18n/%s: %w", name, err)
			return
		}
		if catalogs[lang] == nil {
			catalogs[lang] = map[string]string{}
		}
		for k, v := range m {
			if _, dup := catalogs[lang][k]; dup {
				loadErr = fmt.Errorf("i18n/%s: key %q defined twice", name, k)
				return
			}
			catalogs[lang][k] = v
		}
	}
}

// Catalog returns the messages for lang ("fr", "en"); unknown languages get English.
func Catalog(lang string) *Messages {
	loadOnce.Do(load)
	if loadErr != nil {
		// The catalog is embedded and checked by tests; a broken one is a build bug.
		panic(loadErr)
	}
	m := catalogs[lang]
	if m == nil {
		lang = "en"
		m = catalogs["en"]
	}
	return &Messages{lang: lang, m: m, en: catalogs["en"]}
}

// Lang is the catalog's language.
func (c *Messages) Lang() string { return c.lang }

// T formats the message key with args (fmt verbs). A missing key returns the
// key itself so the gap shows instead of a blank.
func (c *Messages) T(key string, args ...any) string {
	s, ok := c.m[key]
	if !ok {
		s, ok = c.en[key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Keys lists the catalog's keys, sorted (used by tests to compare languages).
func (c *Messages) Keys() []string {
	keys := make([]string, 0, len(c.m))
	for k := range c.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Check loads all catalogs and reports the first problem (duplicate keys,
// bad YAML, keys present in one language only).
func Check() error {
	loadOnce.Do(load)
	if loadErr != nil {
		return loadErr
	}
	for lang, m := range catalogs {
		for other, om := range catalogs {
			for k := range m {
				if _, ok := om[k]; !ok {
					return fmt.Errorf("i18n: key %q in %s but not in %s", k, lang, other)
				}
			}
		}
	}
	return nil
}
