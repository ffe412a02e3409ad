package busybox

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// tarApplet is busybox's tar over the pod's FS: create (c), extract (x) or list (t) an archive, from
// or to a file (f FILE, "-" for standard input/output), with -C DIR, v, z (gzip), m (do not restore
// modification times), o and --no-same-owner (files belong to root whatever the archive says),
// p/--same-permissions and --no-same-permissions (the umask 022 applies). The options may come in
// the old style without a dash (`tar cf - dir`). That is what `kubectl cp` runs: `tar cf - PATH` to
// copy out of a pod, `tar --no-same-permissions --no-same-owner -xmf - -C DIR` (or `tar -xmf -`) to
// copy in. Archived files belong to root (uid 0), as the container sees them; leading slashes are
// removed from member names, and extraction never leaves the pod's file system (os.Root).
func tarApplet(p *proc) int {
	o, err := parseTarArgs(p.args)
	if err != nil {
		return p.errf("%v", err)
	}
	switch o.mode {
	case 'c':
		return o.create(p)
	case 'x', 't':
		return o.extract(p)
	}
	return p.errf("need exactly one of 'c', 'x' or 't'")
}

type tarOptions struct {
	mode      byte // c, x, t
	file      string
	dir       string
	verbose   bool
	gzip      bool
	keepMtime bool // false with m: extracted files get the current time
	umask     bool // --no-same-permissions
	toStdout  bool // O
	names     []string
}

// tarShort maps tar's short options to their long names.
var tarShort = map[byte]string{'c': "create", 'x': "extract", 't': "list", 'v': "verbose", 'z': "gzip", 'm': "touch",
	'o': "no-same-owner", 'p': "same-permissions", 'O': "to-stdout", 'f': "file", 'C': "directory"}

func tarTakesValue(long string) bool { return long == "file" || long == "directory" }

// set applies the option long (with its value v, for file and directory).
func (o *tarOptions) set(long, v string) error {
	switch long {
	case "no-same-owner", "same-owner", "numeric-owner", "no-overwrite-dir", "overwrite":
	case "no-same-permissions":
		o.umask = true
	case "same-permissions", "preserve-permissions":
		o.umask = false
	case "touch":
		o.keepMtime = false
	case "gzip":
		o.gzip = true
	case "verbose":
		o.verbose = true
	case "to-stdout":
		o.toStdout = true
	case "create", "extract", "list":
		mode := map[string]byte{"create": 'c', "extract": 'x', "list": 't'}[long]
		if o.mode != 0 && o.mode != mode {
			return errors.New("only one of 'c', 'x' or 't' may be given")
		}
		o.mode = mode
	case "file":
		o.file = v
	case "directory":
		o.dir = v
	default:
		return fmt.Errorf("unrecognized option '--%s'", long)
	}
	return nil
}

func parseTarArgs(args []string) (*tarOptions, error) {
	o := &tarOptions{file: "-", keepMtime: true}
	args = slices.Clone(args)
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' { // old style: "cf" is "-cf"
		args[0] = "-" + args[0]
	}
	names, err := getoptLong(args, tarShort, tarTakesValue, o.set)
	if err != nil {
		return nil, err
	}
	o.names = names
	return o, nil
}

func (o *tarOptions) base(p *proc) string {
	if o.dir == "" {
		return p.hc.Dir
	}
	return p.abs(o.dir)
}

func (o *tarOptions) create(p *proc) int {
	if len(o.names) == 0 {
		return p.errf("empty archive")
	}
	out := io.Writer(p.out())
	var closeFile func() error
	if o.file != "-" {
		f, err := p.sh.FS.OpenFile(p.abs(o.file), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return p.errf("can't open '%s': %s", o.file, describe(unwrapPath(err)))
		}
		out, closeFile = f, f.Close
	}
	var gz *gzip.Writer
	if o.gzip {
		gz = gzip.NewWriter(out)
		out = gz
	}
	tw := tar.NewWriter(out)
	verbose := p.hc.Stderr
	if o.file != "-" {
		verbose = p.out()
	}
	base := o.base(p)
	code := 0
	warned := false
	for _, name := range o.names {
		member := strings.TrimLeft(path.Clean(name), "/")
		if member != path.Clean(name) && !warned {
			fmt.Fprintln(p.hc.Stderr, "tar: removing leading '/' from member names")
			warned = true
		}
		if member == "" {
			member = "."
		}
		err := o.add(p, tw, Abs(base, name), member, verbose)
		if err != nil {
			if errors.Is(err, errTarWrite) {
				return p.errf("%v", err)
			}
			fmt.Fprintf(p.hc.Stderr, "tar: %s\n", errMsg(err))
			code = 1
		}
	}
	if err := tw.Close(); err != nil {
		return p.errf("write archive: %v", err)
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return p.errf("write archive: %v", err)
		}
	}
	if closeFile != nil {
		if err := closeFile(); err != nil {
			return p.errf("write archive: %v", err)
		}
	}
	return code
}

var errTarWrite = errors.New("write archive")

// add writes the file at pod path src (and, for a folder, what it holds) as member.
func (o *tarOptions) add(p *proc, tw *tar.Writer, src, member string, verbose io.Writer) error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	fi, err := p.sh.FS.Lstat(src)
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: member, Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime().Truncate(time.Second),
		Uname: "root", Gname: "root", Format: tar.FormatUSTAR}
	if len(member) > 100 {
		hdr.Format = tar.FormatGNU
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := p.sh.FS.Readlink(src)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		if len(target) > 100 {
			hdr.Format = tar.FormatGNU
		}
	case fi.IsDir():
		hdr.Typeflag = tar.TypeDir
		if !strings.HasSuffix(hdr.Name, "/") {
			hdr.Name += "/"
		}
	case fi.Mode().IsRegular():
		hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
	default:
		fmt.Fprintf(p.hc.Stderr, "tar: %s: unknown file type\n", member)
		return nil
	}
	if o.verbose {
		fmt.Fprintln(verbose, hdr.Name)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%w: %w", errTarWrite, err)
	}
	if hdr.Typeflag == tar.TypeReg {
		f, err := p.sh.FS.Open(src)
		if err != nil {
			return err
		}
		_, err = io.CopyN(tw, f, hdr.Size)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("%w: %s: %w", errTarWrite, member, err)
		}
	}
	if hdr.Typeflag != tar.TypeDir {
		return nil
	}
	ents, err := p.sh.FS.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := o.add(p, tw, path.Join(src, e.Name()), path.Join(member, e.Name()), verbose); err != nil {
			return err
		}
	}
	return nil
}

func (o *tarOptions) extract(p *proc) int {
	in := io.Reader(p.stdin())
	if o.file != "-" {
		f, err := p.sh.FS.Open(p.abs(o.file))
		if err != nil {
			return p.errf("can't open '%s': %s", o.file, describe(unwrapPath(err)))
		}
		defer func() { _ = f.Close() }()
		in = f
	}
	if o.gzip {
		gz, err := gzip.NewReader(in)
		if err != nil {
			return p.errf("invalid gzip magic")
		}
		in = gz
	}
	tr := tar.NewReader(in)
	base := o.base(p)
	if o.mode == 'x' && !o.toStdout {
		if fi, err := p.sh.FS.Stat(base); err != nil || !fi.IsDir() {
			return p.errf("can't change directory to '%s': %s", o.dir, describe(unwrapPath(orNotDir(err))))
		}
	}
	type dirTime struct {
		p string
		t time.Time
	}
	var dirTimes []dirTime
	code := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if interrupted(err) {
				return killedStatus(p.ctx)
			}
			return p.errf("short read")
		}
		name := strings.TrimLeft(path.Clean(hdr.Name), "/")
		if name == "" || name == "." {
			name = "."
		}
		if !o.wanted(name) {
			continue
		}
		if o.mode == 't' {
			fmt.Fprintln(p.out(), hdr.Name)
			continue
		}
		if o.verbose {
			fmt.Fprintln(p.out(), hdr.Name)
		}
		if o.toStdout {
			if hdr.Typeflag == tar.TypeReg {
				if _, err := io.Copy(p.out(), tr); err != nil {
					return p.errf("short read")
				}
			}
			continue
		}
		dst := Abs(base, name)
		xerr := o.extractEntry(p, tr, hdr, base, dst)
		if xerr == nil && hdr.Typeflag == tar.TypeDir && o.keepMtime {
			dirTimes = append(dirTimes, dirTime{dst, hdr.ModTime})
		}
		if xerr != nil {
			fmt.Fprintf(p.hc.Stderr, "tar: %s\n", errMsg(xerr))
			code = 1
		}
	}
	for i := len(dirTimes) - 1; i >= 0; i-- { // after their content was written
		_ = p.sh.FS.Chtimes(dirTimes[i].p, dirTimes[i].t, dirTimes[i].t)
	}
	return code
}

// extractEntry writes one archive member at dst (base is the extraction directory).
func (o *tarOptions) extractEntry(p *proc, tr io.Reader, hdr *tar.Header, base, dst string) error {
	mode := fs.FileMode(hdr.Mode).Perm()
	if o.umask {
		mode &^= 0o022
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := p.sh.FS.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		return p.sh.FS.Chmod(dst, mode)
	case tar.TypeReg:
		return o.writeFile(p, tr, dst, mode, hdr.ModTime)
	case tar.TypeSymlink:
		_ = p.sh.FS.Remove(dst)
		return p.sh.FS.Symlink(hdr.Linkname, dst)
	case tar.TypeLink:
		_ = p.sh.FS.Remove(dst)
		return p.sh.FS.Link(Abs(base, strings.TrimLeft(path.Clean(hdr.Linkname), "/")), dst)
	default:
		fmt.Fprintf(p.hc.Stderr, "tar: %s: unsupported file type, skipped\n", hdr.Name)
		return nil
	}
}

func orNotDir(err error) error {
	if err == nil {
		return errors.New("not a directory")
	}
	return err
}

func (o *tarOptions) writeFile(p *proc, r io.Reader, dst string, mode fs.FileMode, mtime time.Time) error {
	if err := p.sh.FS.MkdirAll(path.Dir(dst), 0o755); err != nil {
		return err
	}
	if fi, err := p.sh.FS.Lstat(dst); err == nil && !fi.IsDir() {
		_ = p.sh.FS.Remove(dst) // busybox unlinks what it replaces (a symlink is not followed)
	}
	f, err := p.sh.FS.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", dst, err)
	}
	if err := p.sh.FS.Chmod(dst, mode); err != nil {
		return err
	}
	if o.keepMtime {
		return p.sh.FS.Chtimes(dst, mtime, mtime)
	}
	return nil
}

// wanted reports whether member is one of the names given on the command line (all when none), or
// inside one of them.
func (o *tarOptions) wanted(member string) bool {
	if len(o.names) == 0 || o.mode == 'c' {
		return true
	}
	for _, n := range o.names {
		n = strings.Trim(path.Clean(n), "/")
		if member == n || strings.HasPrefix(member, n+"/") {
			return true
		}
	}
	return false
}
