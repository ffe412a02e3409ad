// Package verify evaluates lesson objectives against a cluster with client-go:
// once (Evaluate) or live (Watch), and says precisely why an objective does
// not hold. It only reads the cluster (get, list, watch, pods/log; see
// assets/rbac/klab-verifier.yaml) and never imports Bubble Tea.
//
// A target names a kind (any kind the cluster serves; "Job", "CronJob",
// "Pod" resolve without apiVersion through discovery), a name or a label
// selector, and a namespace (default: Config.Namespace).
//
//   - name: the object must exist (absent: must not), then match and expect hold.
//   - selector: the number of matching objects that also satisfy match must
//     be within count (default min 1; absent means max 0).
//
// match is a partial object: maps are subsets; scalars are equal, numbers by
// value (1 matches int64(1) and 1.0); lists whose elements are all maps with a
// "type" key (conditions) or a "name" key (containers, env) match by that key
// and "contains"; other lists match exactly, element by element. Each asserted
// field that does not hold is a Field{Path, Want, Got} with paths such as
// status.conditions[type=Complete].status; Diff is a pruned expected-vs-actual
// YAML of only the asserted keys.
//
// expect holds CEL expressions (cel-go with the strings, lists, sets, math
// and optional extensions) over the bindings:
//
//   - object: the named object (with a selector, the first match by name; null if none);
//   - pods: a Job's Pods (label batch.kubernetes.io/job-name), a CronJob's
//     Jobs' Pods, a Pod itself, a workload's Pods (spec.selector.matchLabels),
//     or a selector's matches;
//   - jobs: a CronJob's Jobs (by ownerReference, which `kubectl create job
//     --from=cronjob/…` sets too), or a Job itself;
//   - logs: the concatenated logs of those Pods' containers, fetched only
//     when an expression uses it.
//
// Expressions are compiled once. A false expression fails with its msg; a
// runtime error (a key the object does not have yet) fails with the error; a
// non-boolean result is an error. Script objectives run through the runner
// lab: exit 0 passes, and the last output line is the message. One run is
// bounded by the objective's ScriptTimeout (its step's verifyTimeout), else
// DefaultScriptTimeout (10 s). A RunScript answering ErrUntrusted (the
// lesson's scripts are not trusted) gives an error result marked Untrusted
// that names Config.TrustHint; the script does not run.
//
// history follows one named target through the step, in order: each stage is
//
//   - seen: {match, expect}: a version of the object in that state (expect sees only object);
//   - gone: true: the object deleted;
//   - changed: FIELD.PATH: the field holding another value than when the stage began.
//
// Watch with WithHistory feeds a History with every version its informers
// deliver (each resourceVersion once, deletions included) and judges the
// stages from it; Evaluate and FromHistory only judge. An objective with a
// history passes when its present state holds (match, expect, absent as
// above) and every stage was seen; while a stage is awaited the message says
// which one (and which field of the object does not match it yet), since
// that is what the learner has to make happen. Without a History it fails,
// asking to be followed live. History.Snapshot is small and restorable
// (NewHistory), so progress survives a restart.
//
// Statuses: pass, fail, error (unreachable cluster, RBAC, unknown kind,
// broken lesson: with the reason) and pending (a script not run yet).
// Messages come from assets/i18n/verify.<lang>.yaml.
package verify
