package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"

	"github.com/klabdev/klab/sandbox/agent/busybox"
	"github.com/klabdev/klab/sandbox/agent/images"
)

// volume is a pod volume: the folder rel inside base, a folder the agent made. Mounts open rel through
// base's os.Root, so no symlink a pod left in a shared folder (hostPath) can lead elsewhere.
type volume struct {
	base     string
	rel      string // "." for the base itself
	readOnly bool
}

// HostPathDir is where a hostPath volume's path lives: never the real host path.
func HostPathDir(dataDir, hostPath string) string {
	return filepath.Join(dataDir, "hostpath", filepath.FromSlash(path.Clean("/"+hostPath)))
}

// ClaimDir is where a PersistentVolumeClaim's data lives.
func ClaimDir(dataDir, namespace, claim string) string {
	return filepath.Join(dataDir, "volumes", safeName(namespace), safeName(claim))
}

func safeName(s string) string {
	s = strings.ReplaceAll(s, "/", "_")
	if s == "" || s == "." || s == ".." {
		return "_"
	}
	return s
}

// prepareVolumes creates every volume of the pod; it waits (FailedMount events) while a ConfigMap or
// Secret it needs is missing, and fails only when the pod is killed meanwhile.
func (w *podWorker) prepareVolumes() (map[string]volume, error) {
	reported := map[string]bool{}
	for {
		vols, name, err := w.tryVolumes()
		if err == nil {
			return vols, nil
		}
		if len(reported) == 0 {
			w.publish()
		}
		if !reported[name] {
			w.event(nil, corev1.EventTypeWarning, "FailedMount", fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", name, err))
			reported[name] = true
		}
		if !sleepCtx(w.runCtx, retryPeriod) {
			return nil, w.runCtx.Err()
		}
	}
}

func (w *podWorker) tryVolumes() (map[string]volume, string, error) {
	pod := w.latest()
	ctx := w.runCtx
	dataDir := w.m.a.cfg.DataDir
	vols := map[string]volume{}
	for _, v := range pod.Spec.Volumes {
		own := filepath.Join(w.dir, "volumes", safeName(v.Name))
		vol := volume{base: own, rel: "."}
		var err error
		ensured := false
		switch {
		case v.HostPath != nil:
			vol, err = hostPathVolume(filepath.Join(dataDir, "hostpath"), v.HostPath)
			ensured = true
		case v.PersistentVolumeClaim != nil:
			vol = volume{base: filepath.Join(dataDir, "volumes"), rel: path.Join(safeName(pod.Namespace), safeName(v.PersistentVolumeClaim.ClaimName)),
				readOnly: v.PersistentVolumeClaim.ReadOnly}
		case v.Image != nil:
			vol.readOnly = true // image volumes are read-only
			err = imageVolume(own, v.Image)
		case v.ConfigMap != nil, v.Secret != nil, v.DownwardAPI != nil, v.Projected != nil:
			vol.readOnly = true
			var files map[string][]byte
			if files, err = w.volumeFiles(ctx, pod, &v); err == nil {
				err = w.writeVolume(v.Name, own, files)
			}
		default: // emptyDir, and anything else the sandbox cannot provide, is an empty folder of the pod
		}
		if err != nil {
			return nil, v.Name, err
		}
		if !ensured {
			if err := ensureVolume(vol); err != nil {
				return nil, v.Name, err
			}
		}
		vols[v.Name] = vol
	}
	return vols, "", nil
}

// relOf turns an absolute host-style path into a clean relative one ("." for /).
func relOf(p string) string {
	if r := strings.TrimPrefix(path.Clean("/"+p), "/"); r != "" {
		return r
	}
	return "."
}

// ensureVolume creates the volume's folder, through base's os.Root.
func ensureVolume(v volume) error {
	if err := os.MkdirAll(v.base, 0o755); err != nil {
		return fmt.Errorf("create volume folder: %w", err)
	}
	if v.rel == "." {
		return nil
	}
	r, err := os.OpenRoot(v.base)
	if err != nil {
		return fmt.Errorf("open volume folder: %w", err)
	}
	defer func() { _ = r.Close() }()
	if err := r.MkdirAll(v.rel, 0o755); err != nil {
		return fmt.Errorf("create volume folder %s: %w", v.rel, err)
	}
	return nil
}

// writeVolume writes a ConfigMap/Secret/downward-API volume like the kubelet's atomic writer: the files
// live in a timestamped folder, "..data" points to it, and each top-level name is a symlink through
// "..data"; an update swaps "..data" in one rename, so a reader sees the old or the new content, never a
// mix. Unchanged content is not rewritten.
func (w *podWorker) writeVolume(name, dir string, files map[string][]byte) error {
	sum := filesHash(files)
	w.mu.Lock()
	same := w.volHash[name] == sum
	w.mu.Unlock()
	if same {
		return nil
	}
	if err := writeAtomic(dir, files); err != nil {
		return err
	}
	w.mu.Lock()
	w.volHash[name] = sum
	w.mu.Unlock()
	return nil
}

func filesHash(files map[string][]byte) string {
	h := sha256.New()
	for _, k := range sortedKeys(files) {
		fmt.Fprintf(h, "%d:%s%d:", len(k), k, len(files[k]))
		h.Write(files[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeAtomic(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create volume: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open volume: %w", err)
	}
	defer func() { _ = root.Close() }()
	ts := ".." + time.Now().UTC().Format("2006_01_02_15_04_05.000000000")
	if err := root.Mkdir(ts, 0o755); err != nil {
		return fmt.Errorf("volume: %w", err)
	}
	top := map[string]bool{}
	for name, data := range files {
		rel := strings.TrimPrefix(path.Clean("/"+name), "/")
		if rel == "" || strings.HasPrefix(rel, "..") {
			continue
		}
		top[strings.SplitN(rel, "/", 2)[0]] = true
		full := path.Join(ts, rel)
		if err := root.MkdirAll(path.Dir(full), 0o755); err != nil {
			return fmt.Errorf("volume file %s: %w", name, err)
		}
		if err := root.WriteFile(full, data, 0o644); err != nil {
			return fmt.Errorf("volume file %s: %w", name, err)
		}
	}
	_ = root.Remove("..data_tmp")
	if err := root.Symlink(ts, "..data_tmp"); err != nil {
		return fmt.Errorf("volume: %w", err)
	}
	if err := root.Rename("..data_tmp", "..data"); err != nil {
		return fmt.Errorf("volume: %w", err)
	}
	for name := range top {
		if t, err := root.Readlink(name); err == nil && t == path.Join("..data", name) {
			continue
		}
		_ = root.RemoveAll(name)
		if err := root.Symlink(path.Join("..data", name), name); err != nil {
			return fmt.Errorf("volume file %s: %w", name, err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("volume: %w", err)
	}
	for _, e := range ents {
		n := e.Name()
		if n == "..data" || n == ts || top[n] {
			continue
		}
		_ = root.RemoveAll(n) // an old timestamped folder, or a key that is gone
	}
	return nil
}

// volumeFiles computes the files of a ConfigMap, Secret, downward-API or projected volume.
func (w *podWorker) volumeFiles(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (map[string][]byte, error) {
	switch {
	case v.ConfigMap != nil:
		return w.configMapFiles(ctx, pod.Namespace, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional)
	case v.Secret != nil:
		return w.secretFiles(ctx, pod.Namespace, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional)
	case v.DownwardAPI != nil:
		return w.downwardFiles(v.DownwardAPI.Items)
	case v.Projected != nil:
		return w.projectedFiles(ctx, pod, v.Projected)
	}
	return nil, nil
}

// refreshVolumes rewrites ConfigMap, Secret and downward-API volumes whose source changed, every
// VolumeRefreshPeriod while the pod runs (the kubelet does it about every minute).
func (w *podWorker) refreshVolumes() {
	t := time.NewTicker(VolumeRefreshPeriod)
	defer t.Stop()
	for {
		select {
		case <-w.runCtx.Done():
			return
		case <-t.C:
		}
		pod := w.latest()
		for i := range pod.Spec.Volumes {
			v := &pod.Spec.Volumes[i]
			if v.ConfigMap == nil && v.Secret == nil && v.DownwardAPI == nil && v.Projected == nil {
				continue
			}
			if strings.HasPrefix(v.Name, "kube-api-access-") { // the root CA and namespace do not change
				continue
			}
			files, err := w.volumeFiles(w.runCtx, pod, v)
			if err != nil {
				continue // keep the last content, as the kubelet does
			}
			if err := w.writeVolume(v.Name, filepath.Join(w.dir, "volumes", safeName(v.Name)), files); err != nil && w.runCtx.Err() == nil {
				w.m.a.logf("agent: refresh volume %s of pod %s/%s: %v", v.Name, pod.Namespace, pod.Name, err)
			}
		}
	}
}

func pick[T any](data map[string]T, items []corev1.KeyToPath, conv func(T) []byte) (map[string][]byte, error) {
	files := map[string][]byte{}
	if len(items) == 0 {
		for k, v := range data {
			files[k] = conv(v)
		}
		return files, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return nil, fmt.Errorf("configmap references non-existent config key: %s", it.Key)
		}
		files[it.Path] = conv(v)
	}
	return files, nil
}

func (w *podWorker) configMapFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool) (map[string][]byte, error) {
	cm, err := w.m.a.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return map[string][]byte{}, nil
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("configmap %q not found", name)
		}
		return nil, fmt.Errorf("get configmap %q: %w", name, err)
	}
	files, err := pick(cm.Data, items, func(s string) []byte { return []byte(s) })
	if err != nil {
		return nil, err
	}
	bin, err := pick(cm.BinaryData, nil, func(b []byte) []byte { return b })
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		for k, v := range bin {
			files[k] = v
		}
	}
	return files, nil
}

func (w *podWorker) secretFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool) (map[string][]byte, error) {
	s, err := w.m.a.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return map[string][]byte{}, nil
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("secret %q not found", name)
		}
		return nil, fmt.Errorf("get secret %q: %w", name, err)
	}
	return pick(s.Data, items, func(b []byte) []byte { return b })
}

func (w *podWorker) downwardFiles(items []corev1.DownwardAPIVolumeFile) (map[string][]byte, error) {
	pod := w.latest()
	files := map[string][]byte{}
	for _, it := range items {
		switch {
		case it.FieldRef != nil:
			v, err := fieldValue(pod, it.FieldRef.FieldPath, w.ip, w.hostIP())
			if err != nil {
				return nil, err
			}
			files[it.Path] = []byte(v)
		case it.ResourceFieldRef != nil:
			v, err := w.resourceValue(pod, "", it.ResourceFieldRef)
			if err != nil {
				return nil, err
			}
			files[it.Path] = []byte(v)
		}
	}
	return files, nil
}

// projectedFiles computes a projected volume (the kube-api-access one every pod gets, among others).
// Token sources are written empty: no process in a pod can call the apiserver.
func (w *podWorker) projectedFiles(ctx context.Context, pod *corev1.Pod, p *corev1.ProjectedVolumeSource) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, src := range p.Sources {
		var part map[string][]byte
		var err error
		switch {
		case src.ConfigMap != nil:
			part, err = w.configMapFiles(ctx, pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional)
		case src.Secret != nil:
			part, err = w.secretFiles(ctx, pod.Namespace, src.Secret.Name, src.Secret.Items, src.Secret.Optional)
		case src.DownwardAPI != nil:
			part, err = w.downwardFiles(src.DownwardAPI.Items)
		case src.ServiceAccountToken != nil:
			part = map[string][]byte{src.ServiceAccountToken.Path: []byte("")}
		}
		if err != nil {
			return nil, err
		}
		for k, v := range part {
			files[k] = v
		}
	}
	return files, nil
}

// containerMounts maps the container's volumeMounts to busybox mounts. A subPath is resolved inside its
// volume with os.Root (a symlink a pod planted in a volume cannot lead outside it); a subPath naming a file
// becomes a file mount.
func containerMounts(c *corev1.Container, vols map[string]volume, env []string) ([]busybox.Mount, error) {
	var mounts []busybox.Mount
	closeAll := func() {
		for _, m := range mounts {
			if m.Root != nil {
				_ = m.Root.Close()
			}
		}
	}
	for _, vm := range c.VolumeMounts {
		v, ok := vols[vm.Name]
		if !ok {
			closeAll()
			return nil, fmt.Errorf("container %s: volume %q not found", c.Name, vm.Name)
		}
		if busybox.Clean(vm.MountPath) == "/" {
			continue
		}
		m := busybox.Mount{Path: vm.MountPath, Dir: filepath.Join(v.base, filepath.FromSlash(v.rel)), ReadOnly: v.readOnly || vm.ReadOnly}
		sub, err := subPath(vm, env)
		if err != nil {
			closeAll()
			return nil, err
		}
		rel := path.Join(v.rel, strings.TrimPrefix(path.Clean("/"+sub), "/"))
		root, err := openVolumePath(v.base, rel, &m)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("container %s volume %s subPath %q: %w", c.Name, vm.Name, sub, err)
		}
		m.Root = root
		mounts = append(mounts, m)
	}
	return mounts, nil
}

// subPath is a volume mount's subPath, or its subPathExpr expanded with the container's environment as
// the kubelet does (kubecontainer.ExpandContainerVolumeMounts, then makeMounts' checks), with the kubelet's
// errors: a variable that is unset or empty ("missing value for ANNOTATION"), an absolute path, "..".
func subPath(vm corev1.VolumeMount, env []string) (string, error) {
	if vm.SubPathExpr == "" {
		return vm.SubPath, nil
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	missing := sets.New[string]()
	sub := expansion.Expand(vm.SubPathExpr, func(key string) string {
		v := vars[key]
		if v == "" {
			missing.Insert(key)
		}
		return v
	})
	switch {
	case missing.Len() > 0:
		return "", fmt.Errorf("missing value for %s", strings.Join(sets.List(missing), ", "))
	case path.IsAbs(sub):
		return "", fmt.Errorf("error SubPath `%s` must not be an absolute path", sub)
	case slices.Contains(strings.Split(sub, "/"), ".."):
		return "", fmt.Errorf("unable to provision SubPath `%s`: must not contain '..'", sub)
	}
	return sub, nil
}

// subPathsReady checks that every subPathExpr of c expands with env (a CreateContainerConfigError otherwise,
// retried as the kubelet does at each sync: a fieldRef to an annotation added later then starts the pod).
func subPathsReady(c *corev1.Container, env []string) error {
	for _, vm := range c.VolumeMounts {
		if _, err := subPath(vm, env); err != nil {
			return err
		}
	}
	return nil
}

// openVolumePath opens rel (clean, relative) inside base with os.Root, creating it as a folder when
// missing; for a file it opens its folder and sets m.File.
func openVolumePath(base, rel string, m *busybox.Mount) (*os.Root, error) {
	vol, err := os.OpenRoot(base)
	if err != nil {
		return nil, fmt.Errorf("open volume: %w", err)
	}
	if rel == "." {
		return vol, nil
	}
	defer func() { _ = vol.Close() }()
	fi, err := vol.Stat(rel)
	switch {
	case err == nil && !fi.IsDir():
		parent := path.Dir(rel)
		m.File = path.Base(rel)
		r, err := vol.OpenRoot(parent)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", parent, err)
		}
		return r, nil
	case err != nil:
		if err := vol.MkdirAll(rel, 0o755); err != nil {
			return nil, fmt.Errorf("create: %w", err)
		}
	}
	r, err := vol.OpenRoot(rel)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	return r, nil
}

// imageVolume lays out an image volume (the ImageVolume feature): the image's files, as its containers see
// them, once; an image the registry lacks fails as a pull would (the kubelet retries it).
func imageVolume(dir string, src *corev1.ImageVolumeSource) error {
	if _, err := os.Stat(filepath.Join(dir, "bin")); err == nil {
		return nil // laid out at an earlier try
	}
	ref, err := images.Lookup(src.Reference)
	if err != nil {
		return fmt.Errorf("failed to pull image %q: %w", src.Reference, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("image volume: %w", err)
	}
	return layImage(dir, "localhost", ref.Image)
}
