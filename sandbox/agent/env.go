package agent

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/klabdev/klab/sandbox/agent/busybox"
	"github.com/klabdev/klab/sandbox/agent/images"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	resourcehelper "k8s.io/kubernetes/pkg/api/v1/resource"
	"k8s.io/kubernetes/pkg/kubelet/envvars"
	"k8s.io/kubernetes/pkg/kubelet/util/format"
	"k8s.io/kubernetes/pkg/securitycontext"
)

// containerEnv builds a container's environment as the kubelet does: defaults, service links for the
// kubernetes Service, envFrom, then env (with $(VAR) references expanded).
func (w *podWorker) containerEnv(ctx context.Context, c *corev1.Container) ([]string, error) {
	pod := w.latest()
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	set("HOSTNAME", utsHostname(pod))
	set("HOME", "/root")
	// The Services' variables, as the kubelet makes them (envvars.FromServices): the kubernetes Service
	// always, the namespace's Services unless enableServiceLinks is false. envFrom and env win over them.
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	for _, e := range envvars.FromServices(w.m.a.net.LinkedServices(pod.Namespace, links)) {
		set(e.Name, e.Value)
	}
	client := w.m.a.client.CoreV1()
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cm, err := client.ConfigMaps(pod.Namespace).Get(ctx, ef.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				if optional(ef.ConfigMapRef.Optional) && notFound(err) {
					continue
				}
				return nil, fmt.Errorf("configmap %q not found", ef.ConfigMapRef.Name)
			}
			for _, k := range sortedKeys(cm.Data) {
				set(ef.Prefix+k, cm.Data[k])
			}
		case ef.SecretRef != nil:
			s, err := client.Secrets(pod.Namespace).Get(ctx, ef.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				if optional(ef.SecretRef.Optional) && notFound(err) {
					continue
				}
				return nil, fmt.Errorf("secret %q not found", ef.SecretRef.Name)
			}
			for _, k := range sortedKeys(s.Data) {
				set(ef.Prefix+k, string(s.Data[k]))
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expandRefs(e.Value, vars))
			continue
		}
		vf := e.ValueFrom
		switch {
		case vf.FieldRef != nil:
			v, err := fieldValue(pod, vf.FieldRef.FieldPath, w.ip, w.hostIP())
			if err != nil {
				return nil, err
			}
			set(e.Name, v)
		case vf.ResourceFieldRef != nil:
			v, err := w.resourceValue(pod, c.Name, vf.ResourceFieldRef)
			if err != nil {
				return nil, err
			}
			set(e.Name, v)
		case vf.ConfigMapKeyRef != nil:
			r := vf.ConfigMapKeyRef
			cm, err := client.ConfigMaps(pod.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
			if err != nil {
				if optional(r.Optional) && notFound(err) {
					continue
				}
				return nil, fmt.Errorf("configmap %q not found", r.Name)
			}
			v, ok := cm.Data[r.Key]
			if !ok {
				if optional(r.Optional) {
					continue
				}
				return nil, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", r.Key, pod.Namespace, r.Name)
			}
			set(e.Name, v)
		case vf.SecretKeyRef != nil:
			r := vf.SecretKeyRef
			s, err := client.Secrets(pod.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
			if err != nil {
				if optional(r.Optional) && notFound(err) {
					continue
				}
				return nil, fmt.Errorf("secret %q not found", r.Name)
			}
			v, ok := s.Data[r.Key]
			if !ok {
				if optional(r.Optional) {
					continue
				}
				return nil, fmt.Errorf("couldn't find key %s in Secret %s/%s", r.Key, pod.Namespace, r.Name)
			}
			set(e.Name, string(v))
		}
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vars[k])
	}
	return env, nil
}

func optional(b *bool) bool { return b != nil && *b }

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fieldValue resolves a downward-API field path.
func fieldValue(pod *corev1.Pod, fp, ip, hostIP string) (string, error) {
	if k, ok := subscript(fp, "metadata.annotations"); ok {
		return pod.Annotations[k], nil
	}
	if k, ok := subscript(fp, "metadata.labels"); ok {
		return pod.Labels[k], nil
	}
	switch fp {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return hostIP, nil
	case "status.podIP", "status.podIPs":
		return ip, nil
	}
	return "", fmt.Errorf("unsupported fieldPath: %s", fp)
}

// subscript parses `prefix['key']` (or prefix["key"]).
func subscript(fp, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(fp, prefix+"[")
	if !ok || !strings.HasSuffix(rest, "]") || len(rest) < 3 {
		return "", false
	}
	rest = rest[:len(rest)-1]
	if q := rest[0]; (q == '\'' || q == '"') && rest[len(rest)-1] == q {
		return rest[1 : len(rest)-1], true
	}
	return "", false
}

func formatMap(m map[string]string) string {
	var lines []string
	for _, k := range sortedKeys(m) {
		lines = append(lines, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return strings.Join(lines, "\n")
}

// resourceValue is a resourceFieldRef's value as the kubelet computes it (pkg/api/v1/resource): the
// container's limits, or the node's allocatable where it sets none; requests as given.
func (w *podWorker) resourceValue(pod *corev1.Pod, ctr string, r *corev1.ResourceFieldSelector) (string, error) {
	name := r.ContainerName
	if name == "" {
		name = ctr
	}
	v, err := resourcehelper.ExtractResourceValueByContainerNameAndNodeAllocatable(r, pod, name, w.m.a.allocatable)
	if err != nil {
		return "", fmt.Errorf("resourceFieldRef %s: %w", r.Resource, err)
	}
	return v, nil
}

// expandRefs expands $(VAR) from vars, keeps unknown references as they are and turns $$ into $.
func expandRefs(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// containerArgv applies Kubernetes' command/args rules to the image's defaults. server is true for an
// image whose default process is a long-running server: the container then runs until it is stopped, and
// argv is its program and args.
func containerArgv(c *corev1.Container, env []string, img *images.Image) (argv []string, server bool) {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	expand := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = expandRefs(s, vars)
		}
		return out
	}
	if len(c.Command) > 0 {
		argv := append(expand(c.Command), expand(c.Args)...)
		if img != nil && img.Entrypoint != "" && slices.Contains(img.Programs(), argv[0]) {
			return argv, true // the image's own program, e.g. command: [/agnhost, netexec]
		}
		return argv, false
	}
	if img == nil || img.Shell == "" {
		// A server image's entrypoint gets the args (agnhost's name its subcommand; the others ignore them);
		// argv[0] is the program ("" for an image without an Entrypoint).
		prog := ""
		if img != nil {
			prog = img.Entrypoint
		}
		if len(c.Args) == 0 && img != nil {
			return append([]string{prog}, img.Cmd...), true
		}
		return append([]string{prog}, expand(c.Args)...), true
	}
	sh := img.Shell
	if len(c.Args) > 0 {
		args := expand(c.Args)
		// An entrypoint script that runs its program with args that are not a command (curlimages/curl's).
		if img.ProgramArgs != "" && (strings.HasPrefix(args[0], "-") || !isCommand(args[0], img)) {
			return append([]string{img.ProgramArgs}, args...), false
		}
		return args, false // these images have no entrypoint: args replace the default command
	}
	return []string{sh}, false
}

func notFound(err error) bool { return apierrors.IsNotFound(err) }

// shell is a shell for container c's commands: its file system, environment and working dir, the pod's
// hostname and network, what it sees of the node, and the user it runs as.
func (w *podWorker) shell(c *corev1.Container, fsys *busybox.FS, env []string, stdout, stderr io.Writer) *busybox.Shell {
	pod := w.latest()
	sh := &busybox.Shell{FS: fsys, Env: env, Dir: c.WorkingDir, Hostname: utsHostname(pod), Node: w.m.a.shellNode(),
		Stdout: stdout, Stderr: stderr, Net: w.shellNet()}
	sh.UID, sh.GID = runAs(pod, c)
	if ref, err := images.Lookup(c.Image); err == nil {
		sh.Extra = ref.Image.Commands
	}
	sh.NetAdmin, sh.Links = netAdmin(c), w.links
	if sc := c.SecurityContext; sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation &&
		(sc.Privileged == nil || !*sc.Privileged) {
		sh.NoNewPrivs = true // the runtime sets no_new_privs
	}
	return sh
}

// runAs is the user and group a container's commands run as: its securityContext's runAsUser and
// runAsGroup, else the pod's (nil group: the user's own, from the image's /etc/passwd).
func runAs(pod *corev1.Pod, c *corev1.Container) (uid int64, gid *int64) {
	if ref, err := images.Lookup(c.Image); err == nil {
		uid = ref.Image.User // the image's USER, unless the pod says otherwise
	}
	if sc := pod.Spec.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = *sc.RunAsUser
		}
		gid = sc.RunAsGroup
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = *sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
	}
	return uid, gid
}

// verifyRunAsNonRoot is the kubelet's check of runAsNonRoot against the user the container would run as
// (kuberuntime verifyRunAsNonRoot, with its messages): a CreateContainerConfigError when it is root.
func verifyRunAsNonRoot(pod *corev1.Pod, c *corev1.Container) error {
	sc := securitycontext.DetermineEffectiveSecurityContext(pod, c)
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		return nil
	}
	if sc.RunAsUser != nil {
		if *sc.RunAsUser == 0 {
			return fmt.Errorf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", format.Pod(pod), c.Name)
		}
		return nil
	}
	if uid, _ := runAs(pod, c); uid == 0 {
		return fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", format.Pod(pod), c.Name)
	}
	return nil
}

// isCommand says whether name is a command of the image: a path, or a busybox or image command.
func isCommand(name string, img *images.Image) bool {
	return strings.Contains(name, "/") || slices.Contains(busybox.Applets(), name) || slices.Contains(img.Commands, name)
}

// netAdmin says whether the container may change its pod's network: privileged, or CAP_NET_ADMIN (or
// ALL) added.
func netAdmin(c *corev1.Container) bool {
	sc := c.SecurityContext
	if sc == nil {
		return false
	}
	if sc.Privileged != nil && *sc.Privileged {
		return true
	}
	return sc.Capabilities != nil && (slices.Contains(sc.Capabilities.Add, "NET_ADMIN") || slices.Contains(sc.Capabilities.Add, "ALL") ||
		slices.Contains(sc.Capabilities.Add, "CAP_NET_ADMIN"))
}
