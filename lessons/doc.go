// Package lessons parses and models klab lessons: Killercoda-layout folders
// (index.json, markdown steps, scripts) plus klab's objective files. It reads
// files and reports problems; it never runs anything (see runner and verify).
//
// # Layout
//
// A lesson is a folder with an index.json as Killercoda documents it:
//
//	{
//	  "title": "Jobs",                          required
//	  "description": "…",
//	  "lang": "fr",                             klab: fr or en (default en)
//	  "id": "jobs-cronjobs",                    klab: default the folder name
//	  "details": {
//	    "intro":  {"title", "text", "background", "foreground"},
//	    "steps": [{"title", "text", "background", "foreground",
//	               "verify",                    bash, exit 0 = pass
//	               "objectives",                klab: objectives.yaml
//	               "solution",                  klab: a script solving the step
//	               "timeout",                   klab: e.g. "120s", bound for validate
//	               "verifyTimeout"}],           klab: bound of one verify/script run (default 10s)
//	    "finish": {"title", "text", "background", "foreground"},
//	    "assets": {"host01": [{"file", "target", "chmod"}]}
//	  },
//	  "backend": {"imageid": "kubernetes-kubeadm-1node"},
//	  "interface": {"layout": "ide"}             informational (Lesson.Layout)
//	}
//
// Katacoda's courseData and code are read as background and foreground.
// details and details.steps may be missing (a title-only, intro-only or
// finish-only scenario is a lesson with no steps; Lint warns). An asset file
// may be a doublestar glob under assets/ (`*`, `**` = zero or more folders):
// AssetCopies expands them into the files to copy and where.
// Unknown keys are warnings. Every path is relative to the lesson folder: an
// absolute path, a path climbing out with "..", a symlink resolving outside
// the folder, or a file over MaxFileSize is an error. A course folder may hold
// a structure.json ({"items": [{"path", "title", "description"}]}) that orders
// its lessons (see Discover). The embedded catalog is such a course:
// lessons/structure.json gives the order of Embedded and EmbeddedIDs, and must
// list every embedded lesson folder once.
//
// # Markdown
//
// Step texts are parsed once with goldmark. Annotations:
//
//	```bash
//	kubectl get pods
//	```{{exec}}              run on request; also {{exec interrupt}} (stop the
//	                         running command first), {{copy}}, and Katacoda's
//	                         {{execute}}, {{execute interrupt}}, {{execute T2}},
//	                         <<exec>>
//	`kubectl get jobs`{{exec}}   inline forms: {{exec}}, {{exec interrupt}},
//	                             {{copy}}; `x`{{}} and Katacoda's `x`{{open}}
//	                             (a file to open in an editor) are plain code
//
// A fence without annotation is display-only; an opening fence with
// Killercoda's line highlighting (```yaml{2,5,6}) keeps its language, and
// the lines go to Block.Highlight. An unclosed fence or <details> is a
// warning; the page then reads as CommonMark does. An unknown {{…}} after a code
// span or on a closing fence is an error at its file:line. Closing-fence
// annotations are removed by a line-exact pre-pass, so goldmark and glamour
// see valid CommonMark and every block keeps its source line.
//
// <details><summary>…</summary> … </details> sections become Page.Hints and
// are removed from Page.Markdown; a summary naming a solution (Solution,
// Lösung, Solución, ✅ Solution …) makes Step.SolutionHint. Blocks inside a
// hint are in Page.Blocks with Block.Hint set; every fence of a hint is in
// Hint.Code. Step.Solve says what solves a step: its solution file, else its
// exec blocks, else (no exec block outside hints) its Solution hint's code
// (HintSolution: manifests applied, command fences run). InteractiveCommand
// spots commands that wait for a person (kubectl edit, vi, read …).
//
// Page.Markdown is the text to render; Page.Segments cuts it around the
// page's fenced exec/copy blocks so a UI can draw numbered blocks itself;
// inline blocks stay in the text followed by " ▶N" (exec) or " ⧉N" (copy),
// N being Block.Index.
//
// # Objectives
//
// objectives.yaml (klab) lists checks evaluated by package verify:
//
//	objectives:
//	  - id: hello-complete            required, unique in the step
//	    title: Le Job est terminé
//	    target: {kind: Job, apiVersion: batch/v1, name: hello, namespace: other}
//	                                  name or selector: {app: demo}
//	    count: {min: 1, max: 3}       only with a selector
//	    absent: true                  nothing may exist / match
//	    match: {status: {succeeded: 1}}
//	    expect: [{cel: "logs.contains('Bonjour')", msg: "…"}]
//	    hint: Essayez kubectl describe job hello
//	    timeout: 90s
//	    preCheck: skip                may already hold before the solution
//	  - id: scripted
//	    script: check.sh              relative to the objectives file
//
// A step's Killercoda verify script becomes a script objective with id
// "verify" (VerifyObjectiveID).
//
// # Errors
//
// Load, LoadFS, Resolve and Discover report every problem they find in one
// run as Diagnostics (file:line:col: severity: message); the returned error
// is a *DiagnosticsError when any of them is an error. Lint adds
// lesson-level warnings.
package lessons
