package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/klabdev/klab/sandbox/agent/images"
)

// Image pull back-off, as the kubelet's (pkg/kubelet: imageBackOffPeriod, MaxImageBackOff).
const (
	imageBackoffInitial = 10 * time.Second
	imageBackoffMax     = 300 * time.Second
	// imageResync is how soon the kubelet's pod worker looks again after a failed pull: it then
	// reports the back-off (ImagePullBackOff) until the next pull.
	imageResync = time.Second
)

// pulledImages is what the node "has": references pulled once are present for IfNotPresent.
type pulledImages struct {
	mu   sync.Mutex
	refs map[string]bool
}

func (p *pulledImages) has(ref string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refs[ref]
}

func (p *pulledImages) add(ref string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refs == nil {
		p.refs = map[string]bool{}
	}
	p.refs[ref] = true
}

// pull "pulls" the container's image as a kubelet does, with its events and waiting states: a
// reference the catalogue has succeeds (Pulling, then Successfully pulled, or under IfNotPresent
// "already present on machine and can be accessed by the pod", v1.37's words with its default
// KubeletEnsureSecretPulledImages); any other fails with ErrImagePull, then ImagePullBackOff until the
// next try, 10 s doubling to 5 min. The image is read again from the pod before each try, so fixing it in
// the pod spec takes effect at the next one. It returns the image's catalogue entry, or nil when ctx
// ended.
func (w *podWorker) pull(ctx context.Context, st *ctrState, c *corev1.Container) *images.Image {
	backoff := imageBackoffInitial
	for {
		image := w.currentImage(c)
		ref, err := images.Lookup(image)
		var invalid *images.InvalidNameError
		switch {
		case err == nil:
			w.pulled(st, c, image, ref)
			return ref.Image
		case errors.As(err, &invalid):
			w.waiting(st, "InvalidImageName", invalid.Msg)
			w.event(st, corev1.EventTypeWarning, "InspectFailed", invalid.Msg)
			w.event(st, corev1.EventTypeWarning, "Failed", "Error: InvalidImageName")
			if !sleepCtx(ctx, backoff) {
				return nil
			}
			continue
		}
		w.event(st, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", image))
		w.event(st, corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q: %v", image, err))
		w.waiting(st, "ErrImagePull", err.Error())
		w.event(st, corev1.EventTypeWarning, "Failed", "Error: ErrImagePull")
		if !sleepCtx(ctx, imageResync) {
			return nil
		}
		if w.currentImage(c) == image {
			w.event(st, corev1.EventTypeNormal, "BackOff", fmt.Sprintf("Back-off pulling image %q", image))
			w.waiting(st, "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q: ErrImagePull: %v", image, err))
			w.event(st, corev1.EventTypeWarning, "Failed", "Error: ImagePullBackOff")
			if !w.sleepUnlessImageChanges(ctx, c, image, backoff-imageResync) {
				return nil
			}
			backoff = min(2*backoff, imageBackoffMax)
		}
	}
}

func (w *podWorker) pulled(st *ctrState, c *corev1.Container, image string, ref images.Ref) {
	node := &w.node().images
	if c.ImagePullPolicy != corev1.PullAlways && node.has(ref.Normalized) {
		w.event(st, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine and can be accessed by the pod", image))
		return
	}
	start := time.Now()
	w.event(st, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", image))
	node.add(ref.Normalized)
	took := time.Since(start).Truncate(time.Millisecond)
	w.event(st, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q in %v (%v including waiting). Image size: %v bytes.",
		image, took, took, ref.Image.Size))
}

func (w *podWorker) waiting(st *ctrState, reason, msg string) {
	w.set(func() {
		st.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
	})
}

// currentImage is the container's image in the latest pod spec (it may be edited while pulls fail).
func (w *podWorker) currentImage(c *corev1.Container) string {
	if p := w.latest(); p != nil {
		for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
			for i := range list {
				if list[i].Name == c.Name {
					return list[i].Image
				}
			}
		}
	}
	return c.Image
}

// sleepUnlessImageChanges waits d, or less when the pod's image for c changes; false when ctx ended.
func (w *podWorker) sleepUnlessImageChanges(ctx context.Context, c *corev1.Container, image string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !sleepCtx(ctx, min(time.Until(deadline), 500*time.Millisecond)) {
			return false
		}
		if w.currentImage(c) != image {
			return true
		}
	}
	return true
}
