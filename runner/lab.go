package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klabdev/klab/internal/dirs"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Labels put on the namespaces a lab creates; Reset deletes only those.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelLesson    = "klab.dev/lesson"
	managedBy      = "klab"
)

// LabOptions tune NewLab.
type LabOptions struct {
	// Namespace is the lab namespace (default klab-<lesson-id>); "default" works in default.
	Namespace string
	// StateDir is the root of the lab folders (default $XDG_STATE_HOME/klab/labs).
	StateDir string
}

// Lab is the environment a lesson's commands run in: a workspace (their
// working directory, kept between runs), a lab kubeconfig whose current
// context points at the lab namespace, and a shim folder first on PATH where
// kubectl, k, microk8s and microk8s.kubectl reach the selected cluster.
type Lab struct {
	LessonID   string
	Namespace  string
	Workspace  string // working directory of every command (files persist between runs)
	Kubeconfig string // lab kubeconfig (mode 0600)
	ShimDir    string // first on PATH
	Cluster    *Cluster
	// Env is the learner's environment plus KLAB_LESSON, KLAB_NAMESPACE,
	// KLAB_WORKSPACE, KLAB_ROOT, KUBECONFIG and PATH (shims first); nothing secret is added.
	Env []string
	// Dir is the lab folder holding Workspace, Kubeconfig, ShimDir and the shell rc file.
	Dir string

	bash string

	mu     sync.Mutex
	procs  map[int]*proc          // by process group id
	terms  map[*Terminal]struct{} // interactive shells (terminal.go), ended by Close only
	bgs    []*bgJob               // background scripts, in start order (background.go)
	paths  []pathMap              // scenario paths of installed assets (assets.go)
	closed bool
	wg     sync.WaitGroup
	cols   uint16
	rows   uint16
}

// proc is a process group the lab started.
type proc struct {
	pgid       int
	sid        int
	done       chan struct{}
	foreground bool     // a Run (not a background script)
	master     *os.File // klab's end of its terminal
	// interrupted is set when Interrupt, Reset or Close ended the process.
	interrupted atomic.Bool
}

// NewLab prepares the lab folder of lessonID for cluster c and creates the
// lab namespace when it is missing.
func NewLab(ctx context.Context, c *Cluster, lessonID string, o LabOptions) (*Lab, error) {
	l, err := prepareLab(c, lessonID, o)
	if err != nil {
		return nil, err
	}
	if err := l.ensureNamespace(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// prepareLab writes the lab folder (workspace, kubeconfig, shims, shell rc)
// without reaching the cluster.
func prepareLab(c *Cluster, lessonID string, o LabOptions) (*Lab, error) {
	if c == nil {
		return nil, errors.New("new lab: no cluster")
	}
	if len(c.Kubectl) == 0 {
		return nil, errors.New("new lab: cluster has no kubectl command")
	}
	if err := checkLessonID(lessonID); err != nil {
		return nil, err
	}
	ns := o.Namespace
	if ns == "" {
		ns = DefaultNamespace(lessonID)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return nil, fmt.Errorf("lab namespace %q: %s", ns, strings.Join(errs, "; "))
	}
	root := o.StateDir
	if root == "" {
		root = filepath.Join(dirs.State(), "labs")
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("lab state dir: %w", err)
	}
	dir := filepath.Join(root, lessonID)
	l := &Lab{
		LessonID:   lessonID,
		Namespace:  ns,
		Dir:        dir,
		Workspace:  filepath.Join(dir, "workspace"),
		Kubeconfig: filepath.Join(dir, "kubeconfig"),
		ShimDir:    filepath.Join(dir, "bin"),
		Cluster:    c,
		procs:      map[int]*proc{},
		terms:      map[*Terminal]struct{}{},
		cols:       80,
		rows:       24,
	}
	for _, d := range []string{dir, l.Workspace, l.ShimDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create lab folder: %w", err)
		}
	}
	if l.bash, err = exec.LookPath("bash"); err != nil {
		return nil, fmt.Errorf("lab commands need bash: %w", err)
	}
	if err := l.writeKubeconfig(); err != nil {
		return nil, err
	}
	if err := l.writeShims(); err != nil {
		return nil, err
	}
	l.Env = l.buildEnv(os.Environ())
	if err := l.writeBashrc(); err != nil {
		return nil, err
	}
	return l, nil
}

// DefaultNamespace is the lab namespace of a lesson: klab-<id>, made a valid DNS label.
func DefaultNamespace(lessonID string) string {
	s := "klab-" + labelSafe(lessonID)
	if len(s) > validation.DNS1123LabelMaxLength {
		s = strings.TrimRight(s[:validation.DNS1123LabelMaxLength], "-")
	}
	return s
}

// labelSafe lowercases id and turns runs of other characters than [a-z0-9]
// into one dash ("lab" when nothing is left), fit for DNS labels and label values.
func labelSafe(id string) string {
	var b strings.Builder
	dash := true
	for _, r := range strings.ToLower(id) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > 56 {
		s = strings.TrimRight(s[:56], "-")
	}
	if s == "" {
		s = "lab"
	}
	return s
}

// checkLessonID refuses ids that are not one plain path element.
func checkLessonID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`) || strings.ContainsRune(id, 0) {
		return fmt.Errorf("lesson id %q cannot name a lab folder", id)
	}
	return nil
}

// loadingRules reads c.Kubeconfig (a file or a KUBECONFIG-style list).
func (c *Cluster) loadingRules() *clientcmd.ClientConfigLoadingRules {
	paths := filepath.SplitList(c.Kubeconfig)
	if len(paths) == 1 {
		return &clientcmd.ClientConfigLoadingRules{ExplicitPath: paths[0]}
	}
	return &clientcmd.ClientConfigLoadingRules{Precedence: paths}
}

// writeKubeconfig writes a self-contained copy of the cluster's context whose
// namespace is the lab namespace.
func (l *Lab) writeKubeconfig() error {
	c := l.Cluster
	raw, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(c.loadingRules(),
		&clientcmd.ConfigOverrides{CurrentContext: c.Context}).RawConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig %s: %w", c.Kubeconfig, err)
	}
	if c.Context != "" {
		raw.CurrentContext = c.Context
	}
	if err := clientcmdapi.MinifyConfig(&raw); err != nil {
		return fmt.Errorf("kubeconfig %s: %w", c.Kubeconfig, err)
	}
	if err := clientcmdapi.FlattenConfig(&raw); err != nil {
		return fmt.Errorf("kubeconfig %s: %w", c.Kubeconfig, err)
	}
	raw.Contexts[raw.CurrentContext].Namespace = l.Namespace
	data, err := clientcmd.Write(raw)
	if err != nil {
		return fmt.Errorf("encode lab kubeconfig: %w", err)
	}
	return writeFileAtomic(l.Kubeconfig, data, 0o600)
}

// buildEnv is base without the lab variables, plus them.
func (l *Lab) buildEnv(base []string) []string {
	path := ""
	env := make([]string, 0, len(base)+5)
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH":
			path = v
			continue
		case "KUBECONFIG", "KLAB_LESSON", "KLAB_NAMESPACE", "KLAB_WORKSPACE", "KLAB_ROOT":
			continue
		}
		env = append(env, kv)
	}
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	return append(env,
		"PATH="+l.ShimDir+string(os.PathListSeparator)+path,
		"KUBECONFIG="+l.Kubeconfig,
		"KLAB_LESSON="+l.LessonID,
		"KLAB_NAMESPACE="+l.Namespace,
		"KLAB_WORKSPACE="+l.Workspace,
		"KLAB_ROOT="+l.Root(),
	)
}

// RestConfig is a client configuration for the lab kubeconfig (the lab
// namespace is its default namespace).
func (l *Lab) RestConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", l.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("lab kubeconfig %s: %w", l.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

func (l *Lab) client() (kubernetes.Interface, error) {
	cfg, err := l.RestConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", l.Kubeconfig, err)
	}
	return cs, nil
}

// ensureNamespace creates the lab namespace when it is missing (waiting for
// a terminating one to go first).
func (l *Lab) ensureNamespace(ctx context.Context) error {
	cs, err := l.client()
	if err != nil {
		return err
	}
	for {
		ns, err := cs.CoreV1().Namespaces().Get(ctx, l.Namespace, metav1.GetOptions{})
		switch {
		case err == nil && ns.DeletionTimestamp == nil:
			return nil
		case err == nil:
			if err := l.waitNamespaceGone(ctx, cs); err != nil {
				return err
			}
			continue
		case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
		default:
			return fmt.Errorf("get namespace %s: %w", l.Namespace, err)
		}
		_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:   l.Namespace,
			Labels: map[string]string{LabelManagedBy: managedBy, LabelLesson: labelSafe(l.LessonID)},
		}}, metav1.CreateOptions{})
		switch {
		case err == nil, apierrors.IsAlreadyExists(err):
			return nil
		default:
			return fmt.Errorf("create namespace %s: %w", l.Namespace, err)
		}
	}
}

func (l *Lab) waitNamespaceGone(ctx context.Context, cs kubernetes.Interface) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := cs.CoreV1().Namespaces().Get(ctx, l.Namespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("get namespace %s: %w", l.Namespace, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s still terminating: %w", l.Namespace, ctx.Err())
		case <-tick.C:
		}
	}
}

// Reset starts the lab over: it ends the lab's processes, deletes the lab
// namespace (waiting until it is gone) and creates it again, and empties the
// workspace. It refuses to delete a namespace klab did not create.
func (l *Lab) Reset(ctx context.Context) error {
	l.killAll()
	l.forgetBackgrounds()
	if err := l.emptyWorkspace(); err != nil {
		return err
	}
	cs, err := l.client()
	if err != nil {
		return err
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, l.Namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return l.ensureNamespace(ctx)
	case err != nil:
		return fmt.Errorf("get namespace %s: %w", l.Namespace, err)
	case ns.Labels[LabelManagedBy] != managedBy:
		return fmt.Errorf("namespace %s was not created by klab: not deleting it", l.Namespace)
	}
	if ns.DeletionTimestamp == nil {
		err := cs.CoreV1().Namespaces().Delete(ctx, l.Namespace, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: %w", l.Namespace, err)
		}
	}
	if err := l.waitNamespaceGone(ctx, cs); err != nil {
		return err
	}
	return l.ensureNamespace(ctx)
}

func (l *Lab) emptyWorkspace() error {
	entries, err := os.ReadDir(l.Workspace)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read workspace: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(l.Workspace, e.Name())); err != nil {
			return fmt.Errorf("empty workspace: %w", err)
		}
	}
	if err := os.MkdirAll(l.Workspace, 0o700); err != nil {
		return fmt.Errorf("create workspace: %w", err)
	}
	return nil
}
