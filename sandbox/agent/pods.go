package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// podManager starts one worker per pod bound to one of the agent's nodes and routes informer events to it.
type podManager struct {
	a       *agent
	ctx     context.Context // the agent's: API calls end with it
	mu      sync.Mutex
	workers map[types.UID]*podWorker
	nextIP  int
	wg      sync.WaitGroup
	logs    *logRegistry
}

func newPodManager(ctx context.Context, a *agent) *podManager {
	return &podManager{a: a, ctx: ctx, workers: map[types.UID]*podWorker{}, logs: newLogRegistry()}
}

func (m *podManager) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { m.sync(obj) },
		UpdateFunc: func(_, obj any) { m.sync(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				m.remove(pod)
			}
		},
	}
}

func (m *podManager) podDir(uid types.UID) string {
	return filepath.Join(m.a.cfg.DataDir, "pods", string(uid))
}

func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func (m *podManager) sync(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || m.a.nodes[pod.Spec.NodeName] == nil {
		return // a pod of a node the agent does not run
	}
	m.mu.Lock()
	w := m.workers[pod.UID]
	if w == nil {
		if m.ctx.Err() != nil {
			m.mu.Unlock()
			return
		}
		if terminal(pod) {
			m.mu.Unlock()
			if pod.DeletionTimestamp != nil {
				go m.deleteNow(pod)
			}
			return
		}
		m.nextIP++
		w = newPodWorker(m, pod, fmt.Sprintf("10.244.%d.%d", (m.nextIP/250)%250, m.nextIP%250+2))
		m.workers[pod.UID] = w
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			w.run()
		}()
	}
	m.mu.Unlock()
	w.update(pod)
}

// remove forgets a pod the apiserver deleted: its commands stop and its folder is removed.
func (m *podManager) remove(pod *corev1.Pod) {
	m.mu.Lock()
	w := m.workers[pod.UID]
	delete(m.workers, pod.UID)
	m.mu.Unlock()
	if w != nil {
		w.stop()
		<-w.done
	}
	m.logs.forgetPod(pod.UID)
	if err := os.RemoveAll(m.podDir(pod.UID)); err != nil {
		m.a.logf("agent: remove pod %s/%s files: %v", pod.Namespace, pod.Name, err)
	}
}

// deleteNow finishes a graceful deletion the way the kubelet does once the pod's containers stopped:
// a delete with grace period 0, preconditioned on the UID.
func (m *podManager) deleteNow(pod *corev1.Pod) {
	err := m.a.client.CoreV1().Pods(pod.Namespace).Delete(m.ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      metav1.NewUIDPreconditions(string(pod.UID)),
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && m.ctx.Err() == nil {
		m.a.logf("agent: delete pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

// stopAll stops every pod (agent shutdown) and waits for them.
func (m *podManager) stopAll() {
	m.mu.Lock()
	ws := make([]*podWorker, 0, len(m.workers))
	for _, w := range m.workers {
		ws = append(ws, w)
	}
	m.mu.Unlock()
	for _, w := range ws {
		w.stop()
	}
	m.wg.Wait()
}

// cleanOrphans removes the folders of pods that no longer exist (deleted while the agent was down).
func (m *podManager) cleanOrphans(known func(types.UID) bool) {
	ents, err := os.ReadDir(filepath.Join(m.a.cfg.DataDir, "pods"))
	if err != nil {
		return
	}
	for _, e := range ents {
		if !known(types.UID(e.Name())) {
			_ = os.RemoveAll(filepath.Join(m.a.cfg.DataDir, "pods", e.Name()))
		}
	}
}
