package tui

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/term"

	"github.com/klabdev/klab/assets"
	"github.com/klabdev/klab/lessons"
)

// Config is everything the UI is given from outside.
type Config struct {
	// Lessons offered by the picker; with one lesson the picker is skipped.
	Lessons []*lessons.Lesson
	// Open, if set, opens this lesson directly.
	Open *lessons.Lesson
	// NewBackend gives the backend of a lesson (called once per opened lesson).
	NewBackend func(*lessons.Lesson) Backend
	// Lang forces the UI language; "" uses the lesson's.
	Lang string
	// Store keeps progress.json; a zero Store keeps nothing.
	Store Store
	// Restart ignores saved progress of the opened lesson.
	Restart bool
	// Dark selects the dark glamour/lipgloss palette.
	Dark bool
	// Profile is the colour profile the program draws with (colorprofile.Ascii
	// under NO_COLOR, NoTTY for a non-terminal); views are drawn in full colour
	// and Bubble Tea downsamples them to it.
	Profile colorprofile.Profile
	// ASCII draws symbols without UTF-8 (✓ becomes v).
	ASCII bool
	// Clipboard receives OSC 52 sequences for `y` (the terminal); nil disables copy.
	Clipboard io.Writer
	// Logf logs to the log file; nil discards.
	Logf func(format string, args ...any)
	// Now is the clock (tests fix it).
	Now func() time.Time
	// RetryDelay is the pause before reconnecting to an unreachable cluster.
	RetryDelay time.Duration
	// PingEvery is how often a connected cluster is checked (Pinger backends).
	PingEvery time.Duration
}

// DetectTerminal fills Profile, Dark and ASCII from the environment and out:
// NO_COLOR or a non-TTY gives plain output, a non-UTF-8 locale ASCII symbols.
func (c *Config) DetectTerminal(out *os.File) {
	c.Profile = colorprofile.Detect(out, os.Environ())
	if !term.IsTerminal(out.Fd()) {
		c.Profile = colorprofile.NoTTY
	}
	c.Dark = true
	if c.Profile > colorprofile.Ascii && term.IsTerminal(os.Stdin.Fd()) {
		c.Dark = lipgloss.HasDarkBackground(os.Stdin, out)
	}
	c.ASCII = !utf8Locale()
}

func utf8Locale() bool {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := os.Getenv(k); v != "" {
			v = strings.ToLower(v)
			return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
		}
	}
	return true // most terminals are UTF-8; POSIX locales set LANG=C explicitly
}

// symbols are the glyphs the views use, with an ASCII fallback.
type symbols struct {
	Pass, Fail, Pending, Lock, Dot, Sel, Bar, BarEmpty, Sep, Ellipsis string
}

func newSymbols(ascii bool) symbols {
	if ascii {
		return symbols{Pass: "v", Fail: "x", Pending: "...", Lock: "#", Dot: "*", Sel: ">", Bar: "=", BarEmpty: "-", Sep: "|", Ellipsis: "..."}
	}
	return symbols{Pass: "✓", Fail: "✗", Pending: "…", Lock: "🔒", Dot: "●", Sel: "▶", Bar: "━", BarEmpty: "─", Sep: "·", Ellipsis: "…"}
}

// styles are the lipgloss styles of the views.
type styles struct {
	Title, Subtle, Accent, Pass, Fail, Pending, Warn, Banner, Toast, Prompt,
	Block, BlockSel, BlockLabel, BlockLabelSel, Code, OutTitle, Out, Panel, Selected lipgloss.Style
	BarFull, BarEmpty lipgloss.Style
}

func newStyles(dark, ascii bool) styles {
	pick := func(d, l string) color.Color {
		if dark {
			return lipgloss.Color(d)
		}
		return lipgloss.Color(l)
	}
	r := lipgloss.NewStyle
	accent := pick("75", "25")
	subtle := pick("244", "242")
	green := pick("42", "28")
	red := pick("203", "160")
	yellow := pick("221", "136")
	rounded, thick, normal := lipgloss.RoundedBorder(), lipgloss.ThickBorder(), lipgloss.NormalBorder()
	if ascii {
		rounded, thick, normal = lipgloss.ASCIIBorder(), lipgloss.ASCIIBorder(), lipgloss.ASCIIBorder()
		thick.Left, thick.Right, thick.Top, thick.Bottom = "#", "#", "#", "#"
	}
	s := styles{
		Title:         r().Bold(true).Foreground(accent),
		Subtle:        r().Foreground(subtle),
		Accent:        r().Foreground(accent),
		Pass:          r().Foreground(green).Bold(true),
		Fail:          r().Foreground(red).Bold(true),
		Pending:       r().Foreground(yellow),
		Warn:          r().Foreground(yellow),
		Banner:        r().Foreground(pick("231", "231")).Background(red).Bold(true).Padding(0, 1),
		Toast:         r().Foreground(green).Bold(true),
		Prompt:        r().Foreground(yellow).Bold(true),
		Block:         r().Border(rounded).BorderForeground(subtle).Padding(0, 1),
		BlockSel:      r().Border(thick).BorderForeground(accent).Padding(0, 1),
		BlockLabel:    r().Foreground(subtle).Bold(true),
		BlockLabelSel: r().Foreground(accent).Bold(true),
		Code:          r().Foreground(pick("252", "235")),
		OutTitle:      r().Foreground(accent).Bold(true),
		Out:           r(),
		Panel:         r().Border(normal, true, false, false, false).BorderForeground(subtle),
		Selected:      r().Foreground(accent).Bold(true),
		BarFull:       r().Foreground(accent),
		BarEmpty:      r().Foreground(subtle),
	}
	return s
}

// common is shared by the root model and its sub-models.
type common struct {
	cfg     Config
	width   int
	height  int
	st      styles
	sym     symbols
	render  *renderCache
	store   *saver
	now     func() time.Time
	logf    func(string, ...any)
	profile colorprofile.Profile
}

func newCommon(cfg Config) *common {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = 3 * time.Second
	}
	if cfg.PingEvery == 0 {
		cfg.PingEvery = 5 * time.Second
	}
	return &common{
		cfg:     cfg,
		st:      newStyles(cfg.Dark, cfg.ASCII),
		sym:     newSymbols(cfg.ASCII),
		render:  newRenderCache(cfg.Dark),
		store:   &saver{store: cfg.Store},
		now:     cfg.Now,
		logf:    cfg.Logf,
		profile: cfg.Profile,
	}
}

// catalog returns the UI messages for a lesson language, unless forced.
func (c *common) catalog(lessonLang string) *assets.Messages {
	if c.cfg.Lang != "" {
		return assets.Catalog(c.cfg.Lang)
	}
	if lessonLang == "" {
		lessonLang = "en"
	}
	return assets.Catalog(lessonLang)
}

// fmtDuration prints a duration for learners: 1.2s, 3m05s, 1h02m.
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// asciiGlyphs replaces the UTF-8 glyphs of the UI and of glamour's output for
// terminals without UTF-8.
var asciiGlyphs = strings.NewReplacer(
	"…", "...", "·", "|", "⏎", "enter", "—", "-", "━", "=", "─", "-", "▶", ">", "▸", ">", "▾", "v",
	"✓", "v", "✗", "x", "●", "*", "🎉 ", "", "⇧", "shift+", "↑", "up", "↓", "down", "•", "-", "▌", "|",
	"›", ">", "│", "|", "×", "x", "«", "\"", "»", "\"",
)

// plain degrades a frame for non-UTF-8 terminals.
func (c *common) plain(s string) string {
	if !c.cfg.ASCII {
		return s
	}
	return asciiGlyphs.Replace(s)
}
