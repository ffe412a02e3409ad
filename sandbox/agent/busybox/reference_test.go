package busybox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The reference tests run the same scripts in a sandbox pod and, once, in the real busybox: with
// -record, each script runs under `busybox sh` with only busybox's applets on PATH and the outputs go to
// testdata/reference.json; without it, the pod must print exactly what busybox printed.
//
//	go test ./sandbox/agent/busybox -run TestReference -record   # needs busybox (apt-get install busybox)
var record = flag.Bool("record", false, "record testdata/reference.json with the real busybox")

type refCase struct {
	Name   string `json:"name"`
	Script string `json:"script"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Exit   int    `json:"exit"`
}

// refSetup makes the files every case starts with, in its working folder.
const refSetup = `mkdir -p d/sub d/empty && printf 'pomme\nbanane\ncerise\npomme\nkiwi\n' > fruits.txt &&
printf '10 b x\n2 a y\n33 c x\n2 a z\n' > nums.txt && printf 'nom,age,ville\nalice,31,Lyon\nbob,27,Paris\n' > people.csv &&
printf 'un\n' > d/a.txt && printf 'deux\n' > d/sub/b.txt && printf 'trois\n' > d/sub/c.log
`

func TestReference(t *testing.T) {
	cases := referenceCases()
	golden := filepath.Join("testdata", "reference.json")
	if *record {
		bb, err := exec.LookPath("busybox")
		if err != nil {
			t.Fatal("-record needs busybox on PATH")
		}
		bin := t.TempDir()
		if out, err := exec.Command(bb, "--install", "-s", bin).CombinedOutput(); err != nil {
			t.Fatalf("busybox --install: %v %s", err, out)
		}
		if err := os.Symlink(bb, filepath.Join(bin, "busybox")); err != nil {
			t.Fatal(err)
		}
		for i := range cases {
			cases[i].Stdout, cases[i].Stderr, cases[i].Exit = runBusybox(t, bb, bin, cases[i].Script)
		}
		b, err := json.MarshalIndent(cases, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var want []refCase
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", golden, err)
	}
	byName := map[string]refCase{}
	for _, w := range want {
		byName[w.Name] = w
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			w, ok := byName[c.Name]
			if !ok || w.Script != c.Script {
				t.Fatalf("%s is not recorded as it is now: run the test with -record", golden)
			}
			p := newPod(t)
			if err := p.fs.MkdirAll("/work", 0o755); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			sh := &Shell{FS: p.fs, Env: []string{"PATH=/bin", "HOME=/root", "LC_ALL=C"}, Dir: "/work", Hostname: "mypod", Stdout: &out, Stderr: &errb}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, err := sh.Run(ctx, []string{"sh", "-c", refSetup + c.Script})
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != w.Stdout || errb.String() != w.Stderr || code != w.Exit {
				t.Errorf("%s\nbusybox: stdout %q stderr %q exit %d\nsandbox: stdout %q stderr %q exit %d",
					c.Script, w.Stdout, w.Stderr, w.Exit, out.String(), errb.String(), code)
			}
		})
	}
}

func runBusybox(t *testing.T, bb, bin, script string) (string, string, int) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "work")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bb, "sh", "-c", refSetup+script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + bin, "HOME=/root", "LC_ALL=C"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}
