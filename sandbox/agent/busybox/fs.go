package busybox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Mount maps a folder of the host (always one the agent created under its data dir) to a path inside the pod.
type Mount struct {
	Path     string // absolute path inside the pod, e.g. /var/log
	Dir      string // host folder backing it
	File     string // if set, a file mount: Path is the file named File in Dir (a subPath to a file)
	ReadOnly bool
	// Root, if set, is used instead of opening Dir (NewFS takes it over): a subPath opened from its
	// volume's own os.Root, so that a symlink planted in the volume cannot lead outside it.
	Root *os.Root
}

type mountRoot struct {
	path     string // cleaned pod path, "/" for the pod root
	root     *os.Root
	file     string // file mounts: the name in root that path is
	readOnly bool
}

// FS is a pod's file system: the pod root plus its volume mounts, each opened as an os.Root so that no
// path, `..` or symlink can leave it. Every path given to FS is a pod path (absolute, or relative to "/").
type FS struct {
	mounts []mountRoot // longest path first
}

// NewFS opens rootDir as the pod's "/" and each mount on its own os.Root. The mount points are created
// inside the pod root so that `ls` shows them.
func NewFS(rootDir string, mounts []Mount) (*FS, error) {
	r, err := os.OpenRoot(rootDir)
	if err != nil {
		return nil, fmt.Errorf("open pod root: %w", err)
	}
	f := &FS{mounts: []mountRoot{{path: "/", root: r}}}
	ok := false
	defer func() {
		if !ok { // NewFS owns the given roots, even when it fails
			for _, m := range mounts {
				if m.Root != nil {
					_ = m.Root.Close()
				}
			}
		}
	}()
	for _, m := range mounts {
		p := Clean(m.Path)
		if p == "/" {
			_ = f.Close()
			return nil, fmt.Errorf("mount %s: cannot mount over the pod root", m.Path)
		}
		point := strings.TrimPrefix(p, "/")
		var err error
		if m.File != "" {
			if strings.Contains(m.File, "/") || m.File == "." || m.File == ".." {
				_ = f.Close()
				return nil, fmt.Errorf("mount %s: file %q must be a plain name", p, m.File)
			}
			if err = r.MkdirAll(path.Dir(point), 0o755); err == nil {
				var fh *os.File
				if fh, err = r.OpenFile(point, os.O_WRONLY|os.O_CREATE, 0o644); err == nil {
					err = fh.Close()
				}
			}
		} else {
			err = r.MkdirAll(point, 0o755)
		}
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("create mount point %s: %w", p, err)
		}
		mr := m.Root
		if mr == nil {
			if mr, err = os.OpenRoot(m.Dir); err != nil {
				_ = f.Close()
				return nil, fmt.Errorf("open volume for %s: %w", p, err)
			}
		}
		f.mounts = append(f.mounts, mountRoot{path: p, root: mr, file: m.File, readOnly: m.ReadOnly})
	}
	sort.SliceStable(f.mounts, func(i, j int) bool { return len(f.mounts[i].path) > len(f.mounts[j].path) })
	ok = true
	return f, nil
}

// MakeRootReadOnly makes the pod root read-only (securityContext.readOnlyRootFilesystem): writes fail with
// "Read-only file system"; volumes keep their own mode.
func (f *FS) MakeRootReadOnly() {
	for i := range f.mounts {
		if f.mounts[i].path == "/" {
			f.mounts[i].readOnly = true
		}
	}
}

// Close closes every root.
func (f *FS) Close() error {
	var errs []error
	for _, m := range f.mounts {
		errs = append(errs, m.root.Close())
	}
	return errors.Join(errs...)
}

// Clean turns any path into a clean absolute pod path; `..` never goes above "/".
func Clean(p string) string {
	return path.Clean("/" + p)
}

// Abs resolves p against the pod working directory dir.
func Abs(dir, p string) string {
	if strings.HasPrefix(p, "/") {
		return Clean(p)
	}
	return Clean(path.Join(dir, p))
}

func (f *FS) resolve(p string) (*mountRoot, string) {
	p = Clean(p)
	for i := range f.mounts {
		m := &f.mounts[i]
		if m.path == "/" {
			return m, relOrDot(strings.TrimPrefix(p, "/"))
		}
		if p == m.path {
			if m.file != "" {
				return m, m.file
			}
			return m, "."
		}
		if strings.HasPrefix(p, m.path+"/") {
			if m.file != "" { // below a file: fails with ENOTDIR
				return m, m.file + "/" + strings.TrimPrefix(p, m.path+"/")
			}
			return m, relOrDot(strings.TrimPrefix(p, m.path+"/"))
		}
	}
	panic("unreachable: no root mount")
}

func relOrDot(s string) string {
	if s == "" {
		return "."
	}
	return s
}

// IsMountPoint says whether p is a mount point (or "/").
func (f *FS) IsMountPoint(p string) bool {
	p = Clean(p)
	for _, m := range f.mounts {
		if m.path == p {
			return true
		}
	}
	return false
}

func perr(op, p string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: op, Path: p, Err: pe.Err}
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return &fs.PathError{Op: op, Path: p, Err: le.Err}
	}
	return &fs.PathError{Op: op, Path: p, Err: err}
}

func (m *mountRoot) writable(op, p string) error {
	if m.readOnly {
		return &fs.PathError{Op: op, Path: p, Err: syscall.EROFS}
	}
	return nil
}

const writeFlags = os.O_WRONLY | os.O_RDWR | os.O_CREATE | os.O_TRUNC | os.O_APPEND

// devices are the character devices a pod may open: they hold no host data (null, zero, random bytes).
// Only /dev/null may be opened for writing.
var devices = map[string]string{"/dev/null": os.DevNull, "/dev/zero": "/dev/zero", "/dev/urandom": "/dev/urandom", "/dev/random": "/dev/urandom"}

func device(p string) (string, bool) {
	d, ok := devices[Clean(p)]
	return d, ok
}

// OpenFile opens a pod path.
func (f *FS) OpenFile(p string, flag int, perm fs.FileMode) (*os.File, error) {
	if dev, ok := device(p); ok {
		if dev != os.DevNull {
			flag = os.O_RDONLY
		}
		fh, err := os.OpenFile(dev, flag&^(os.O_CREATE|os.O_TRUNC|os.O_EXCL), 0)
		if err != nil {
			return nil, perr("open", p, err)
		}
		return fh, nil
	}
	m, rel := f.resolve(p)
	if flag&writeFlags != 0 {
		if err := m.writable("open", p); err != nil {
			return nil, err
		}
	}
	fh, err := m.root.OpenFile(rel, flag, perm)
	if err != nil {
		if rp, ok := f.follow(p, err); ok {
			return f.OpenFile(rp, flag, perm)
		}
		return nil, perr("open", p, err)
	}
	return fh, nil
}

// follow resolves p at the pod's level when an os.Root refused it because a symbolic link leads out of
// its volume or root (an absolute link such as /data/link -> /data/file, or .. across a mount point): a
// container resolves links through its own mounts, so p is the pod path RealPath gives, itself opened
// through the mounts' roots. false when p is not such a link (or resolves to itself).
func (f *FS) follow(p string, err error) (string, bool) {
	if !escapes(err) {
		return "", false
	}
	rp, rerr := f.RealPath(p)
	if rerr != nil || rp == Clean(p) {
		return "", false
	}
	return rp, true
}

// escapes reports an os.Root refusal of a path that leaves it.
func escapes(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "escapes from parent") || strings.Contains(err.Error(), "path escapes"))
}

// Open opens a pod path for reading.
func (f *FS) Open(p string) (*os.File, error) { return f.OpenFile(p, os.O_RDONLY, 0) }

// ReadFile reads a whole file.
func (f *FS) ReadFile(p string) ([]byte, error) {
	m, rel := f.resolve(p)
	b, err := m.root.ReadFile(rel)
	if err != nil {
		if rp, ok := f.follow(p, err); ok {
			return f.ReadFile(rp)
		}
		return nil, perr("open", p, err)
	}
	return b, nil
}

// WriteFile writes a whole file.
func (f *FS) WriteFile(p string, data []byte, perm fs.FileMode) error {
	m, rel := f.resolve(p)
	if err := m.writable("open", p); err != nil {
		return err
	}
	if err := m.root.WriteFile(rel, data, perm); err != nil {
		return perr("open", p, err)
	}
	return nil
}

// Stat follows symlinks, through the pod's mounts as a container does.
func (f *FS) Stat(p string) (fs.FileInfo, error) {
	if dev, ok := device(p); ok {
		fi, err := os.Stat(dev)
		if err != nil {
			return nil, perr("stat", p, err)
		}
		return fi, nil
	}
	m, rel := f.resolve(p)
	fi, err := m.root.Stat(rel)
	if err != nil {
		if rp, ok := f.follow(p, err); ok {
			return f.Stat(rp)
		}
		return nil, perr("stat", p, err)
	}
	return fi, nil
}

// Lstat does not follow a final symlink.
func (f *FS) Lstat(p string) (fs.FileInfo, error) {
	if _, ok := device(p); ok {
		return f.Stat(p)
	}
	m, rel := f.resolve(p)
	fi, err := m.root.Lstat(rel)
	if err != nil {
		return nil, perr("lstat", p, err)
	}
	return fi, nil
}

// ReadDir lists a directory, sorted by name.
func (f *FS) ReadDir(p string) ([]fs.DirEntry, error) {
	m, rel := f.resolve(p)
	d, err := m.root.Open(rel)
	if err != nil {
		return nil, perr("open", p, err)
	}
	defer func() { _ = d.Close() }()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, perr("readdir", p, err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	return ents, nil
}

// Mkdir creates one directory.
func (f *FS) Mkdir(p string, perm fs.FileMode) error {
	m, rel := f.resolve(p)
	if err := m.writable("mkdir", p); err != nil {
		return err
	}
	if rel == "." {
		return &fs.PathError{Op: "mkdir", Path: p, Err: fs.ErrExist}
	}
	if err := m.root.Mkdir(rel, perm); err != nil {
		return perr("mkdir", p, err)
	}
	return nil
}

// MkdirAll creates a directory and its parents.
func (f *FS) MkdirAll(p string, perm fs.FileMode) error {
	p = Clean(p)
	if fi, err := f.Stat(p); err == nil {
		if fi.IsDir() {
			return nil
		}
		return &fs.PathError{Op: "mkdir", Path: p, Err: syscall.ENOTDIR}
	}
	if parent := path.Dir(p); parent != p {
		if err := f.MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	err := f.Mkdir(p, perm)
	if err != nil && errors.Is(err, fs.ErrExist) {
		return nil
	}
	return err
}

// Remove removes a file or an empty directory. A mount point cannot be removed.
func (f *FS) Remove(p string) error {
	m, rel := f.resolve(p)
	if f.IsMountPoint(p) {
		return &fs.PathError{Op: "remove", Path: p, Err: syscall.EBUSY}
	}
	if err := m.writable("remove", p); err != nil {
		return err
	}
	if err := m.root.Remove(rel); err != nil {
		return perr("remove", p, err)
	}
	return nil
}

// Rename moves a file inside one root; across mounts it answers EXDEV like the kernel.
func (f *FS) Rename(oldp, newp string) error {
	m1, r1 := f.resolve(oldp)
	m2, r2 := f.resolve(newp)
	if m1 != m2 {
		return &fs.PathError{Op: "rename", Path: oldp, Err: syscall.EXDEV}
	}
	if f.IsMountPoint(oldp) || f.IsMountPoint(newp) {
		return &fs.PathError{Op: "rename", Path: oldp, Err: syscall.EBUSY}
	}
	if err := m1.writable("rename", newp); err != nil {
		return err
	}
	if err := m1.root.Rename(r1, r2); err != nil {
		return perr("rename", oldp, err)
	}
	return nil
}

// Symlink creates newp pointing to target. The link is stored as given; following it later only ever
// resolves inside the root holding it (an absolute or escaping target fails to resolve).
func (f *FS) Symlink(target, newp string) error {
	m, rel := f.resolve(newp)
	if err := m.writable("symlink", newp); err != nil {
		return err
	}
	if err := m.root.Symlink(target, rel); err != nil {
		return perr("symlink", newp, err)
	}
	return nil
}

// Link makes newp a hard link to oldp; both must be on the same mount (EXDEV otherwise, as across
// file systems).
func (f *FS) Link(oldp, newp string) error {
	om, orel := f.resolve(oldp)
	nm, nrel := f.resolve(newp)
	if om != nm {
		return perr("link", newp, syscall.EXDEV)
	}
	if err := nm.writable("link", newp); err != nil {
		return err
	}
	if err := nm.root.Link(orel, nrel); err != nil {
		return perr("link", newp, err)
	}
	return nil
}

// RealPath resolves every symbolic link of p inside the pod (readlink -f), as an absolute pod path.
func (f *FS) RealPath(p string) (string, error) {
	parts := strings.Split(strings.TrimPrefix(Clean(p), "/"), "/")
	cur := "/"
	for hops := 0; len(parts) > 0; {
		name := parts[0]
		parts = parts[1:]
		if name == "" || name == "." {
			continue
		}
		next := path.Join(cur, name)
		fi, err := f.Lstat(next)
		if err != nil {
			if len(parts) == 0 && errors.Is(err, fs.ErrNotExist) {
				return next, nil // readlink -f accepts a missing last element
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", perr("readlink", p, syscall.ELOOP)
		}
		t, err := f.Readlink(next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(t, "/") {
			cur = "/"
		}
		parts = append(strings.Split(strings.TrimPrefix(t, "/"), "/"), parts...)
	}
	return cur, nil
}

// Readlink reads a symlink.
func (f *FS) Readlink(p string) (string, error) {
	m, rel := f.resolve(p)
	s, err := m.root.Readlink(rel)
	if err != nil {
		return "", perr("readlink", p, err)
	}
	return s, nil
}

// Chtimes sets access and modification times.
func (f *FS) Chtimes(p string, atime, mtime time.Time) error {
	m, rel := f.resolve(p)
	if err := m.writable("chtimes", p); err != nil {
		return err
	}
	if err := m.root.Chtimes(rel, atime, mtime); err != nil {
		return perr("chtimes", p, err)
	}
	return nil
}

// Chmod changes permission bits.
func (f *FS) Chmod(p string, mode fs.FileMode) error {
	m, rel := f.resolve(p)
	if err := m.writable("chmod", p); err != nil {
		return err
	}
	if err := m.root.Chmod(rel, mode); err != nil {
		return perr("chmod", p, err)
	}
	return nil
}

// RemoveAll removes p and everything below it, walking mounts too; mount points themselves stay (EBUSY,
// reported after everything removable was removed).
func (f *FS) RemoveAll(p string) error {
	p = Clean(p)
	fi, err := f.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	if fi.IsDir() {
		ents, err := f.ReadDir(p)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if err := f.RemoveAll(path.Join(p, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return f.Remove(p)
}
