package tui

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/colorprofile"

	"github.com/klabdev/klab/lessons"
)

// fakeBackend stands in for runner+verify: running a block whose code is a
// key of effects makes the listed objectives pass and notifies watchers.
type fakeBackend struct {
	mu           sync.Mutex
	failConnects int // the first n Connect calls fail
	connects     int
	effects      map[string][]string
	passed       map[string]bool
	watchers     map[chan []ObjectiveResult]*lessons.Step
	runs         []string
	resets       int
	entered      []string
}

func newFake() *fakeBackend {
	return &fakeBackend{
		effects: map[string][]string{
			"kubectl apply -f job.yaml": {"job-exists"},
			"kubectl create cronjob c":  {"cron-exists"},
		},
		passed:   map[string]bool{},
		watchers: map[chan []ObjectiveResult]*lessons.Step{},
	}
}

func (f *fakeBackend) Connect(ctx context.Context) (ClusterInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connects++
	if f.connects <= f.failConnects {
		return ClusterInfo{}, errors.New("dial tcp 127.0.0.1:6443: connection refused")
	}
	return ClusterInfo{Name: "sandbox", Kind: "sandbox"}, nil
}

func (f *fakeBackend) EnterPage(ctx context.Context, p *lessons.Page) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entered = append(f.entered, p.Title)
	return nil
}

func (f *fakeBackend) Run(ctx context.Context, b *lessons.Block, out func([]byte)) (RunResult, error) {
	start := time.Now()
	out([]byte("+ " + b.Code + "\r\n"))
	if strings.HasPrefix(b.Code, "sleep") {
		<-ctx.Done()
		return RunResult{Output: "", ExitCode: 130, Duration: time.Since(start), Interrupted: true}, nil
	}
	f.mu.Lock()
	f.runs = append(f.runs, b.Code)
	ids := f.effects[strings.TrimSpace(b.Code)]
	for _, id := range ids {
		f.passed[id] = true
	}
	f.mu.Unlock()
	out([]byte("job.batch/pi created\r\n"))
	f.notify()
	return RunResult{Output: "job.batch/pi created\n", ExitCode: 0, Duration: 1200 * time.Millisecond}, nil
}

func (f *fakeBackend) results(s *lessons.Step) []ObjectiveResult {
	var out []ObjectiveResult
	for _, o := range s.Objectives {
		r := ObjectiveResult{ID: o.ID, Title: o.Title, Status: StatusFail,
			Message: "status.succeeded : attendu 1, obtenu 0", Hint: o.Hint,
			Diff: "- succeeded: 1\n+ succeeded: 0"}
		if f.passed[o.ID] {
			r = ObjectiveResult{ID: o.ID, Title: o.Title, Status: StatusPass}
		}
		out = append(out, r)
	}
	return out
}

func (f *fakeBackend) notify() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch, s := range f.watchers {
		select {
		case ch <- f.results(s):
		default:
		}
	}
}

func (f *fakeBackend) Watch(ctx context.Context, s *lessons.Step) <-chan []ObjectiveResult {
	ch := make(chan []ObjectiveResult, 4)
	f.mu.Lock()
	ch <- f.results(s)
	f.watchers[ch] = s
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.watchers, ch)
		close(ch)
		f.mu.Unlock()
	}()
	return ch
}

func (f *fakeBackend) Check(ctx context.Context, s *lessons.Step) []ObjectiveResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.results(s)
}

func (f *fakeBackend) ResetStep(ctx context.Context, s *lessons.Step) error {
	f.mu.Lock()
	f.resets++
	for _, o := range s.Objectives {
		delete(f.passed, o.ID)
	}
	f.mu.Unlock()
	f.notify()
	return nil
}

func (f *fakeBackend) Shell() *exec.Cmd { return exec.Command("true") }

// pingBackend is a fake whose cluster goes away when down is set.
type pingBackend struct {
	*fakeBackend
	down chan bool
	err  error
}

func (p *pingBackend) Ping(ctx context.Context) error {
	select {
	case d := <-p.down:
		if d {
			p.err = errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
		} else {
			p.err = nil
		}
	default:
	}
	return p.err
}

// fixtureLesson is a three-step lesson built in Go so that the TUI tests do
// not depend on the parser: step 1 and 3 have objectives, step 2 none.
func fixtureLesson() *lessons.Lesson {
	b1 := &lessons.Block{Index: 1, Kind: lessons.BlockExec, Lang: "bash", Code: "kubectl apply -f job.yaml\n", File: "step1/text.md", Line: 5}
	b2 := &lessons.Block{Index: 2, Kind: lessons.BlockCopy, Lang: "yaml", Code: "apiVersion: batch/v1\nkind: Job\n", File: "step1/text.md", Line: 9}
	b3 := &lessons.Block{Index: 3, Kind: lessons.BlockExec, Code: "sleep 100\n", Interrupt: false, File: "step1/text.md", Line: 14}
	b6 := &lessons.Block{Index: 4, Kind: lessons.BlockExec, Code: "kubectl apply -f job.yaml\n", File: "step1/text.md", Line: 20, Hint: 2}
	s1 := &lessons.Step{Index: 1, Page: lessons.Page{
		Title:    "Premier Job",
		Markdown: "Un **Job** exécute un Pod jusqu'au bout.\n\n```bash\nkubectl apply -f job.yaml\n```\n",
		Segments: []lessons.Segment{
			{Markdown: "Un **Job** exécute un Pod jusqu'au bout.\n\nCréez-le :\n"},
			{Block: b1},
			{Markdown: "Le manifeste :\n"},
			{Block: b2},
			{Markdown: "Une commande longue :\n"},
			{Block: b3},
		},
		Blocks: []*lessons.Block{b1, b2, b3, b6},
		Hints: []lessons.Hint{
			{Summary: "Piste", Markdown: "Regardez `kubectl apply`."},
			{Summary: "Solution", Markdown: "`kubectl apply -f job.yaml`", Solution: true},
		},
	}, Objectives: []*lessons.Objective{{ID: "job-exists", Title: "Le Job pi existe", Hint: "kubectl get jobs"}}}
	s1.SolutionHint = &s1.Hints[1]
	b4 := &lessons.Block{Index: 1, Kind: lessons.BlockExec, Code: "kubectl get pods\n", File: "step2/text.md", Line: 3}
	s2 := &lessons.Step{Index: 2, Page: lessons.Page{
		Title:    "Lire les logs",
		Markdown: "Lisez les logs.\n",
		Segments: []lessons.Segment{{Markdown: "Lisez les logs.\n"}, {Block: b4}},
		Blocks:   []*lessons.Block{b4},
	}}
	b5 := &lessons.Block{Index: 1, Kind: lessons.BlockExec, Code: "kubectl create cronjob c\n", File: "step3/text.md", Line: 3}
	s3 := &lessons.Step{Index: 3, Page: lessons.Page{
		Title:    "Un CronJob",
		Markdown: "Créez un CronJob.\n",
		Segments: []lessons.Segment{{Markdown: "Créez un CronJob.\n"}, {Block: b5}},
		Blocks:   []*lessons.Block{b5},
	}, Objectives: []*lessons.Objective{{ID: "cron-exists", Title: "Le CronJob c existe"}}}
	return &lessons.Lesson{
		ID: "fixture", Title: "Jobs et CronJobs", Lang: "fr", Dir: "embedded:fixture",
		Intro:  &lessons.Page{Title: "Intro", Markdown: "# Jobs et CronJobs\n\nBienvenue dans cette leçon.\n"},
		Finish: &lessons.Page{Title: "Fin", Markdown: "# Fini\n\nVous savez tout.\n"},
		Steps:  []*lessons.Step{s1, s2, s3},
	}
}

// testConfig is a deterministic configuration: ASCII colours, fixed clock.
func testConfig(f *fakeBackend, dir string) Config {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	return Config{
		Lessons:    []*lessons.Lesson{fixtureLesson()},
		NewBackend: func(*lessons.Lesson) Backend { return f },
		Store:      Store{Path: dir + "/progress.json"},
		Dark:       true,
		Profile:    colorprofile.Ascii,
		Now:        func() time.Time { return t0 },
		RetryDelay: 20 * time.Millisecond,
	}
}
