// Package images is the sandbox's image catalogue: which images a pod can run, what each does when the
// pod gives no command, and how pulling any other reference fails, with the messages a kubelet and
// containerd give. Nothing is downloaded: a "pull" only looks the reference up here.
package images

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/distribution/reference"
)

// Image is one entry of the catalogue.
type Image struct {
	Name   string         // the familiar name ("nginx", "registry.k8s.io/pause")
	Tags   *regexp.Regexp // the tags the registry has (whole match)
	Shell  string         // default command: this shell, which exits at once without a terminal
	Server bool           // default process: a server that runs until the container is stopped
	Ports  []int32        // the ports its default process listens on
	Daemon string         // the server (package servers) its default process runs; "" for one that only sleeps
	// Entrypoint is the program the image's entrypoint runs ("/agnhost"): a command naming it (by path or
	// name) runs the default process with the rest of the command line as its args.
	Entrypoint string
	Links      []string // other paths of the entrypoint's program in the image (agnhost's /agnhost-2 link)
	Commands   []string // commands it ships besides busybox's (busybox.ImageCommands), e.g. curl
	User       int64    // the uid its USER runs as (0, root, when it sets none)
	Cmd        []string // a server image's default args (its CMD) when the pod gives none: kitten's test-webserver
	// Files are the image's own content beyond its server's (servers.Server.Files) and the shell's /bin
	// and /etc: what a container of it and an image volume of it see.
	Files map[string]string
	// ProgramArgs is the program its entrypoint script runs args with when they do not start with a
	// command (curlimages/curl's entrypoint.sh: `-s URL` runs `curl -s URL`).
	ProgramArgs string

	repo  string // the normalized repository ("docker.io/library/nginx"), what Lookup compares
	Size  int64  // bytes, for the "Successfully pulled" event
	About string // what the sandbox does with it (README)
}

// Ref is a pull that succeeds: the normalized reference and its catalogue entry.
type Ref struct {
	Normalized string // docker.io/library/nginx:1.27
	Image      *Image
}

// InvalidNameError is a reference that does not parse (the kubelet's InvalidImageName).
type InvalidNameError struct{ Msg string }

func (e *InvalidNameError) Error() string { return e.Msg }

// PullError is a reference the registry does not have (ErrImagePull): Msg is containerd's message.
type PullError struct{ Msg string }

func (e *PullError) Error() string { return e.Msg }

// version is the pattern of version numbers with one of majors and up to two more parts.
func version(majors string) string { return `(` + majors + `)(\.\d+){0,2}` }

// catalogue is the whole list, built (its patterns compiled, its names normalized) once, at the first
// pull, and never changed.
var catalogue = sync.OnceValue(func() []Image {
	c := buildCatalogue()
	for i := range c {
		if n, err := reference.ParseNormalizedNamed(c[i].Name); err == nil {
			c[i].repo = n.Name()
		}
	}
	return c
})

// buildCatalogue makes the list. Tag patterns follow the registries' real tag schemes (numbers within
// the versions that exist, with their usual variants), so a typo in a tag fails like it would there.
func buildCatalogue() []Image {
	shellTags := func(vers string, variants ...string) *regexp.Regexp {
		alt := strings.Join(append([]string{"latest"}, variants...), "|")
		return regexp.MustCompile(`^(` + alt + `|` + version(vers) + `(-(` + strings.Join(append([]string{"glibc", "musl", "uclibc"}, variants...), "|") + `))?)$`)
	}
	return []Image{
		{Name: "busybox", Tags: shellTags(`1`, "stable", "unstable", "glibc", "musl", "uclibc"), Shell: "sh", Size: 2166802,
			About: "a shell with the busybox commands (sandbox/agent/busybox)"},
		{Name: "registry.k8s.io/e2e-test-images/busybox", Tags: regexp.MustCompile(`^1\.\d+(\.\d+)?(-\d+)?$`), Shell: "sh", Size: 1374155,
			About: "the upstream e2e tests' busybox"},
		{Name: "alpine", Tags: shellTags(`3`, "edge"), Shell: "/bin/sh", Size: 3653068, About: "a shell (busybox commands)"},
		{Name: "debian", Tags: regexp.MustCompile(`^(latest|stable|testing|unstable|sid|(bookworm|bullseye|buster|trixie)(-slim)?|(9|10|11|12|13)(\.\d+)?(-slim)?)$`), Shell: "bash", Size: 48494272, About: "bash with the busybox commands"},
		{Name: "ubuntu", Tags: regexp.MustCompile(`^(latest|rolling|devel|jammy|noble|focal|bionic|plucky|questing|(14|16|18|20|22|24)\.04|(23|24|25)\.10)$`), Shell: "/bin/bash", Size: 29754290, About: "bash with the busybox commands"},
		{Name: "bash", Tags: regexp.MustCompile(`^(latest|devel|(3|4|5)(\.\d+){0,2})(-alpine[\d.]*)?$`), Shell: "bash", Size: 6012312, About: "bash with the busybox commands"},
		{Name: "curlimages/curl", Tags: regexp.MustCompile(`^(latest|[78]\.\d+\.\d+)$`), Shell: "curl", ProgramArgs: "curl", Commands: []string{"curl"}, Size: 11934621,
			About: "curl 8 (its args run curl, as its entrypoint does: `kubectl run c --image=curlimages/curl -- -s http://web`), a shell with the busybox commands"},
		{Name: "nginx", Tags: regexp.MustCompile(`^(latest|stable|mainline|alpine|perl|alpine-perl|1\.(\d|1\d|2\d)(\.\d+)?(-(alpine|perl|alpine-perl|bookworm|alpine-slim))?|(stable|mainline)-(alpine|perl|bookworm))$`), Server: true, Daemon: "nginx", Ports: []int32{80}, Commands: []string{"curl"}, Size: 72188133,
			About: "nginx serving /usr/share/nginx/html on port 80 (welcome page, 404s, access log), until stopped"},
		{Name: "httpd", Tags: regexp.MustCompile(`^(latest|alpine|2(\.[24](\.\d+)?)?(-alpine|-bookworm)?)$`), Server: true, Daemon: "httpd", Ports: []int32{80}, Size: 58144402, About: "Apache httpd serving /usr/local/apache2/htdocs on port 80 (It works!)"},
		{Name: "redis", Tags: regexp.MustCompile(`^(latest|alpine|[2-8](\.\d+){0,2}(-alpine|-bookworm)?)$`), Server: true, Daemon: "redis", Ports: []int32{6379}, Size: 45093110, About: "redis on port 6379: RESP and inline PING, ECHO, SET, GET, DEL, EXISTS, INCR, KEYS, DBSIZE, FLUSHALL, INFO, QUIT (in memory)"},
		{Name: "postgres", Tags: regexp.MustCompile(`^(latest|alpine|(9\.\d|1[0-8])(\.\d+)?(-alpine|-bookworm)?)$`), Server: true, Daemon: "postgres", Ports: []int32{5432}, Size: 158450000, About: "accepts TCP connections on port 5432 (the database protocol is not spoken)"},
		{Name: "mysql", Tags: regexp.MustCompile(`^(latest|lts|innovation|5\.[567](\.\d+)?|8(\.[0-4](\.\d+)?)?|9(\.\d+){0,2})(-oracle|-debian)?$`), Server: true, Daemon: "mysql", Ports: []int32{3306}, Size: 234000000, About: "accepts TCP connections on port 3306 (the database protocol is not spoken)"},
		{Name: "mariadb", Tags: regexp.MustCompile(`^(latest|lts|1[01](\.\d+){0,2})$`), Server: true, Daemon: "mariadb", Ports: []int32{3306}, Size: 120000000, About: "accepts TCP connections on port 3306 (the database protocol is not spoken)"},
		{Name: "mongo", Tags: regexp.MustCompile(`^(latest|[3-8](\.\d+){0,2})$`), Server: true, Daemon: "mongo", Ports: []int32{27017}, Size: 270000000, About: "accepts TCP connections on port 27017 (the database protocol is not spoken)"},
		{Name: "memcached", Tags: regexp.MustCompile(`^(latest|alpine|1(\.\d+){0,2}(-alpine)?)$`), Server: true, Daemon: "memcached", Ports: []int32{11211}, Size: 32000000, About: "accepts TCP connections on port 11211 (the database protocol is not spoken)"},
		{Name: "registry.k8s.io/e2e-test-images/agnhost", Tags: regexp.MustCompile(`^2\.\d+(\.\d+)?$`), Server: true, Daemon: "agnhost", Entrypoint: "/agnhost", Links: []string{"/agnhost-2", "agnhost-2"}, Ports: []int32{80, 8080, 9376}, Commands: []string{"curl"}, Size: 51246371,
			About: "the upstream e2e tests' multi-purpose image: its args name the subcommand (pause by default); pause, serve-hostname, test-webserver, netexec, liveness and grpc-health-checking run (sandbox/agent/servers/agnhost.go), the others exit 1 saying so"},
		{Name: "registry.k8s.io/e2e-test-images/glibc-dns-testing", Tags: regexp.MustCompile(`^2\.\d+\.\d+$`), Shell: "sh", Size: 2943502,
			About: "the upstream e2e tests' shell image with a glibc resolver (`hostname -f` from /etc/hosts)"},
		{Name: "registry.k8s.io/e2e-test-images/nonroot", Tags: regexp.MustCompile(`^1\.\d+$`), Shell: "sh", User: 1234, Size: 1401112,
			About: "the upstream e2e tests' busybox whose USER is 1234"},
		{Name: "registry.k8s.io/e2e-test-images/nonewprivs", Tags: regexp.MustCompile(`^1\.\d+$`), Shell: "nnp", Commands: []string{"nnp"}, Size: 1381402,
			About: "the upstream e2e tests' setuid-root nnp program, which prints its effective uid (0 unless allowPrivilegeEscalation is false)"},
		{Name: "registry.k8s.io/e2e-test-images/kitten", Tags: regexp.MustCompile(`^1\.\d+$`), Server: true, Daemon: "agnhost", Entrypoint: "/agnhost",
			Cmd: []string{"test-webserver"}, Ports: []int32{80}, Size: 52063745, Files: kittenFiles(),
			About: "the upstream e2e tests' agnhost with a kitten picture (/kitten.jpg, /data.json) on Alpine, serving them with test-webserver; image volumes mount it"},
		{Name: "registry.k8s.io/e2e-test-images/httpd", Tags: regexp.MustCompile(`^2\.4\.\d+-\d+$`), Server: true, Daemon: "httpd", Ports: []int32{80}, Size: 40764680,
			About: "the upstream e2e tests' Apache httpd (as httpd)"},
		{Name: "registry.k8s.io/e2e-test-images/nginx", Tags: regexp.MustCompile(`^1\.\d+(\.\d+)?-\d+$`), Server: true, Daemon: "nginx", Ports: []int32{80}, Commands: []string{"curl"}, Size: 7215920,
			About: "the upstream e2e tests' nginx (as nginx)"},
		{Name: "registry.k8s.io/pause", Tags: regexp.MustCompile(`^(latest|3\.\d+(\.\d+)?)$`), Server: true, Size: 320368, About: "sleeps until stopped"},
		{Name: "perl", Tags: regexp.MustCompile(`^(latest|slim|5(\.\d+){0,2}(-slim)?)$`), Shell: "perl", Size: 350000000,
			About: "only the documented pi program (perl -Mbignum=bpi -wle 'print bpi(N)')"},
	}
}

// Programs are the names a command may give the image's entrypoint program: its path, its base name, and
// the links the image has to it (agnhost's /agnhost-2).
func (im *Image) Programs() []string {
	if im.Entrypoint == "" {
		return nil
	}
	return append([]string{im.Entrypoint, path.Base(im.Entrypoint)}, im.Links...)
}

// Lookup resolves an image reference as a kubelet pull would: the catalogue entry, or the error the
// kubelet reports (*InvalidNameError for a reference that does not parse, *PullError for one the
// registry does not have).
func Lookup(image string) (Ref, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return Ref{}, &InvalidNameError{Msg: fmt.Sprintf("Failed to apply default image tag %q: couldn't parse image name %q: %v", image, image, err)}
	}
	named = reference.TagNameOnly(named)
	full := named.String()
	repo := named.Name()
	tag := ""
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	for i := range catalogue() {
		im := &catalogue()[i]
		if im.repo != repo {
			continue
		}
		if _, digested := named.(reference.Digested); digested || im.Tags.MatchString(tag) {
			return Ref{Normalized: full, Image: im}, nil
		}
		return Ref{}, &PullError{Msg: fmt.Sprintf("failed to pull and unpack image %q: failed to resolve reference %q: %s: not found", full, full, full)}
	}
	return Ref{}, &PullError{Msg: fmt.Sprintf("failed to pull and unpack image %q: failed to resolve reference %q: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed", full, full)}
}

// Names lists the catalogue's familiar names, for lint and the docs.
func Names() []string {
	var out []string
	for _, im := range catalogue() {
		out = append(out, im.Name)
	}
	slices.Sort(out)
	return out
}

// IsPullError reports whether err is a pull failure (not a bad name).
func IsPullError(err error) bool {
	var pe *PullError
	return errors.As(err, &pe)
}

// kittenFiles is the content the kitten image adds to agnhost's (test/images/kitten): its picture (a
// stand-in of the same name: the sandbox carries no binaries), data.json, and Alpine's os-release.
func kittenFiles() map[string]string {
	return map[string]string{
		"/kitten.jpg": "\xff\xd8\xff\xe0 kitten.jpg (klab sandbox stand-in)\xff\xd9",
		"/data.json":  "{\n  \"image\": \"kitten.jpg\"\n}\n",
		"/etc/os-release": "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.21.3\nPRETTY_NAME=\"Alpine Linux v3.21\"\n" +
			"HOME_URL=\"https://alpinelinux.org/\"\nBUG_REPORT_URL=\"https://gitlab.alpinelinux.org/alpine/aports/-/issues\"\n",
	}
}
