package lessons

import (
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// Lesson is one parsed lesson folder.
type Lesson struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Lang        string `json:"lang"` // "fr" or "en"; default "en"
	ImageID     string `json:"imageid,omitempty"`
	// Layout is Killercoda's interface.layout ("ide", "terminal" …); klab
	// has one layout and keeps it informational.
	Layout string  `json:"layout,omitempty"`
	Intro  *Page   `json:"intro,omitempty"`
	Steps  []*Step `json:"steps"`
	Finish *Page   `json:"finish,omitempty"`
	Assets []Asset `json:"assets,omitempty"`
	// Dir is the lesson folder as given (a path on disk, or "embedded:<id>").
	Dir string `json:"dir"`
	// FS holds the lesson's files, rooted at the lesson folder.
	FS fs.FS `json:"-"`

	displayDir string // folder name used in messages (see FilePath)
	onDisk     bool
	embedded   bool
}

// Nodes is how many nodes the lesson's Killercoda backend image has, which the sandbox reproduces:
// 1 for kubernetes-kubeadm-1node (and its variants such as kubernetes-kubeadm-1node-4GB), 2 for
// kubernetes-kubeadm-2nodes; 0 for any other image or none (no preference: a running sandbox is used
// as it is, a new one gets the sandbox's default of two nodes).
func (l *Lesson) Nodes() int {
	switch {
	case strings.HasPrefix(l.ImageID, "kubernetes-kubeadm-1node"):
		return 1
	case strings.HasPrefix(l.ImageID, "kubernetes-kubeadm-2node"):
		return 2
	}
	return 0
}

// IsEmbedded reports whether the lesson ships inside the klab binary.
func (l *Lesson) IsEmbedded() bool { return l.embedded }

// Page is a rendered unit of text: the intro, a step or the finish page.
type Page struct {
	Title    string `json:"title"`
	TextFile string `json:"text,omitempty"` // path relative to the lesson folder
	// Markdown is the page's markdown with klab/Killercoda annotations removed
	// and <details> hints taken out; it is valid CommonMark, safe for glamour.
	Markdown string `json:"-"`
	// Segments splits Markdown around the page's fenced exec/copy blocks so
	// a UI can draw (and highlight) blocks itself. A block segment has Block
	// set and, as Markdown, the block's fenced text (annotation removed);
	// concatenating the Markdown of all segments gives Markdown back. Inline
	// blocks stay inside text segments (see InlineExecMarker).
	Segments   []Segment `json:"-"`
	Blocks     []*Block  `json:"blocks"`
	Hints      []Hint    `json:"-"`
	Background *Script   `json:"background,omitempty"`
	Foreground *Script   `json:"foreground,omitempty"`
}

// Segment is either a piece of markdown text or a reference to a fenced block.
type Segment struct {
	Markdown string `json:"markdown,omitempty"`
	Block    *Block `json:"block,omitempty"`
}

// Step is one step of a lesson.
type Step struct {
	Page
	Index      int          `json:"index"` // 1-based
	Objectives []*Objective `json:"objectives"`
	// ObjectivesFile is the klab objectives file (lesson-relative), if any.
	ObjectivesFile string `json:"objectivesFile,omitempty"`
	// Line is the line of the step's entry in index.json.
	Line     int           `json:"-"`
	Verify   *Script       `json:"verify,omitempty"`   // Killercoda verify script (also an objective)
	Solution *Script       `json:"solution,omitempty"` // klab: script solving the step
	Timeout  time.Duration `json:"timeout,omitempty"`  // klab: bound for validate
	// VerifyTimeout (klab) bounds one run of each of the step's script
	// objectives (verify.sh); 0 is the verifier's default (10 s).
	VerifyTimeout time.Duration `json:"verifyTimeout,omitempty"`
	// SolutionHint is the <details> whose summary names a solution, if any.
	SolutionHint *Hint `json:"-"`
}

// BlockKind says what a code block is for.
type BlockKind string

const (
	BlockExec BlockKind = "exec" // runs when the learner asks
	BlockCopy BlockKind = "copy" // copied, never run
)

// Block is an annotated code block (fenced or inline).
type Block struct {
	Index     int       `json:"index"` // 1-based within its page
	Kind      BlockKind `json:"kind"`
	Interrupt bool      `json:"interrupt"`
	Inline    bool      `json:"inline,omitempty"`
	Lang      string    `json:"lang,omitempty"`
	// Highlight lists the block's lines to emphasise (Killercoda's
	// ```yaml{2,5,6}), 1-based.
	Highlight []int  `json:"highlight,omitempty"`
	Code      string `json:"code"`
	File      string `json:"file"` // lesson-relative markdown path
	Line      int    `json:"line"` // 1-based line of the block's first code line
	// Hint is 0 for a block shown in the page, n for a block inside the
	// page's n-th <details> hint (Page.Hints[n-1]).
	Hint int `json:"hint,omitempty"`

	open, close int // 0-based fence lines of a fenced block in its file
}

// Hint is a <details> section of a page.
type Hint struct {
	Summary  string `json:"summary"`
	Markdown string `json:"markdown"`
	Solution bool   `json:"solution"`
	Line     int    `json:"line"`
	// Code lists the hint's fenced blocks, annotated or not.
	Code []HintCode `json:"code,omitempty"`
}

// Script is a lesson script (background, foreground, verify, solution).
type Script struct {
	Path string `json:"path"` // lesson-relative
	Body string `json:"-"`
}

// Asset is an entry of details.assets (kept informational).
type Asset struct {
	File   string `json:"file"`
	Target string `json:"target"`
	Chmod  string `json:"chmod,omitempty"`
}

// Objective is one check of a step (objectives.yaml or a Killercoda verify script).
type Objective struct {
	ID       string         `json:"id"`
	Title    string         `json:"title"`
	Target   *Target        `json:"target,omitempty"`
	Count    *Count         `json:"count,omitempty"`
	Absent   bool           `json:"absent,omitempty"`
	Match    map[string]any `json:"match,omitempty"`
	Expect   []Expect       `json:"expect,omitempty"`
	Script   *Script        `json:"script,omitempty"`
	Hint     string         `json:"hint,omitempty"`
	Timeout  time.Duration  `json:"timeout,omitempty"`
	PreCheck string         `json:"preCheck,omitempty"` // "" or "skip"
	History  []Stage        `json:"history,omitempty"`  // what must have been observed during the step, in order
	// ScriptTimeout bounds one run of a script objective (the step's
	// verifyTimeout); 0 is the verifier's default.
	ScriptTimeout time.Duration `json:"scriptTimeout,omitempty"`
	File          string        `json:"file"`
	Line          int           `json:"line"`
}

// Kind reports "script" for script objectives and "match" otherwise.
func (o *Objective) Kind() string {
	if o.Script != nil {
		return "script"
	}
	return "match"
}

// Target names the object(s) an objective looks at.
type Target struct {
	Kind       string            `json:"kind"`
	APIVersion string            `json:"apiVersion,omitempty"`
	Name       string            `json:"name,omitempty"`
	Selector   map[string]string `json:"selector,omitempty"`
	Namespace  string            `json:"namespace,omitempty"`
}

// Count bounds how many objects a selector target must match.
type Count struct {
	Min *int `json:"min,omitempty"`
	Max *int `json:"max,omitempty"`
}

// Expect is one CEL expectation.
// Stage is one step of an objective's history: while the step is open, the target must be observed
// in this state (Seen), observed deleted (Gone), or observed with the field at Changed holding another
// value than when the stage began, each stage after the previous one.
type Stage struct {
	Seen    *Seen  `json:"seen,omitempty"`
	Gone    bool   `json:"gone,omitempty"`
	Changed string `json:"changed,omitempty"` // a field path such as spec.parallelism
	Line    int    `json:"line"`
}

// Seen is a state of the target: a partial object (as an objective's match) and CEL expressions over
// `object`.
type Seen struct {
	Match  map[string]any `json:"match,omitempty"`
	Expect []Expect       `json:"expect,omitempty"`
}

type Expect struct {
	CEL  string `json:"cel"`
	Msg  string `json:"msg,omitempty"`
	Line int    `json:"line"`
}

// Severity of a diagnostic.
type Severity string

const (
	SevError   Severity = "error"
	SevWarning Severity = "warning"
)

// Diagnostic is one problem found in a lesson, located at file:line:col.
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line,omitempty"`
	Col      int      `json:"col,omitempty"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

func (d Diagnostic) String() string {
	loc := d.File
	if d.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, d.Line)
		if d.Col > 0 {
			loc = fmt.Sprintf("%s:%d", loc, d.Col)
		}
	}
	return fmt.Sprintf("%s: %s: %s", loc, d.Severity, d.Message)
}

// Bound is how long the step's objectives may take to pass: the step's
// timeout, else its largest objective timeout, else def (validate's
// post-check, `klab check --wait` with no value).
func (s *Step) Bound(def time.Duration) time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	var longest time.Duration
	for _, o := range s.Objectives {
		if o.Timeout > longest {
			longest = o.Timeout
		}
	}
	if longest > 0 {
		return longest
	}
	return def
}
