package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/klabdev/klab/sandbox/agent/busybox"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// KubeletVersion is what the node reports; the sandbox runs Kubernetes 1.37.2.
const KubeletVersion = "v1.37.2"

const notReadyTaint = "node.kubernetes.io/not-ready"

func (a *agent) nodeCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("16"),
		corev1.ResourceMemory:           resource.MustParse("32Gi"),
		corev1.ResourcePods:             resource.MustParse("250"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
}

// shellNode is what pods' commands see of the node (nproc, free, uptime): its registered capacity.
func (a *agent) shellNode() busybox.Node {
	capacity := a.nodeCapacity()
	return busybox.Node{CPUs: capacity.Cpu().Value(), MemoryBytes: capacity.Memory().Value(), Started: a.started}
}

func (a *agent) nodeStatus(now metav1.Time) corev1.NodeStatus {
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return corev1.NodeStatus{
		Capacity:    a.nodeCapacity(),
		Allocatable: a.nodeCapacity(),
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: a.cfg.NodeIP},
			{Type: corev1.NodeHostName, Address: a.cfg.NodeName},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(a.port)}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               "klab-sandbox",
			SystemUUID:              "klab-sandbox",
			BootID:                  fmt.Sprintf("klab-%d", time.Now().UnixNano()),
			KernelVersion:           "klab",
			OSImage:                 "klab sandbox (in-process pods)",
			ContainerRuntimeVersion: "klab://" + KubeletVersion,
			KubeletVersion:          KubeletVersion,
			OperatingSystem:         "linux",
			Architecture:            runtime.GOARCH,
		},
	}
}

// registerNode creates or refreshes the Node, marks it Ready and removes the not-ready taint that
// admission adds to new nodes (there is no node-lifecycle controller to do it).
func (a *agent) registerNode(ctx context.Context) error {
	nodes := a.client.CoreV1().Nodes()
	now := metav1.Now()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: a.cfg.NodeName,
			Labels: map[string]string{
				"kubernetes.io/hostname":                                  a.cfg.NodeName,
				"kubernetes.io/os":                                        "linux",
				"kubernetes.io/arch":                                      runtime.GOARCH,
				"node-role.kubernetes.io/control-plane":                   "",
				"node.kubernetes.io/exclude-from-external-load-balancers": "",
			},
		},
		Status: a.nodeStatus(now),
	}
	_, err := nodes.Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", a.cfg.NodeName, err)
	}
	if err := a.updateNodeStatus(ctx, true); err != nil {
		return err
	}
	return a.removeNotReadyTaint(ctx)
}

func (a *agent) removeNotReadyTaint(ctx context.Context) error {
	nodes := a.client.CoreV1().Nodes()
	for attempt := 0; ; attempt++ {
		n, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get node %s: %w", a.cfg.NodeName, err)
		}
		var keep []corev1.Taint
		for _, t := range n.Spec.Taints {
			if t.Key != notReadyTaint && t.Key != "node.kubernetes.io/unreachable" {
				keep = append(keep, t)
			}
		}
		if len(keep) == len(n.Spec.Taints) {
			return nil
		}
		n.Spec.Taints = keep
		_, err = nodes.Update(ctx, n, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt > 5 {
			return fmt.Errorf("remove the not-ready taint from node %s: %w", a.cfg.NodeName, err)
		}
	}
}

// updateNodeStatus patches the node's status (full on registration, heartbeat times otherwise).
func (a *agent) updateNodeStatus(ctx context.Context, full bool) error {
	st := a.nodeStatus(metav1.Now())
	if !full {
		// Keep the transition times: only the heartbeat moves.
		if n, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{}); err == nil {
			for i, c := range st.Conditions {
				for _, old := range n.Status.Conditions {
					if old.Type == c.Type && old.Status == c.Status {
						st.Conditions[i].LastTransitionTime = old.LastTransitionTime
					}
				}
			}
			st.NodeInfo.BootID = n.Status.NodeInfo.BootID
		}
	}
	patch, err := json.Marshal(map[string]any{"status": st})
	if err != nil {
		return fmt.Errorf("node status patch: %w", err)
	}
	_, err = a.client.CoreV1().Nodes().Patch(ctx, a.cfg.NodeName, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return fmt.Errorf("update node %s status: %w", a.cfg.NodeName, err)
	}
	return nil
}

// renewLease creates or renews the node's Lease in kube-node-lease.
func (a *agent) renewLease(ctx context.Context) error {
	leases := a.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		owner := []metav1.OwnerReference{}
		if n, nerr := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{}); nerr == nil {
			owner = append(owner, metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: n.Name, UID: n.UID})
		}
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Namespace: corev1.NamespaceNodeLease, OwnerReferences: owner},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(a.cfg.NodeName),
				LeaseDurationSeconds: ptr.To[int32](LeaseDuration),
				RenewTime:            &now,
			},
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create lease: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get lease: %w", err)
	}
	l.Spec.HolderIdentity = ptr.To(a.cfg.NodeName)
	l.Spec.LeaseDurationSeconds = ptr.To[int32](LeaseDuration)
	l.Spec.RenewTime = &now
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	return nil
}

// heartbeat keeps the Lease and the Ready condition fresh until ctx ends.
func (a *agent) heartbeat(ctx context.Context) {
	beat := func(full bool) {
		if err := a.renewLease(ctx); err != nil && ctx.Err() == nil {
			a.logf("agent: %v", err)
		}
		if err := a.updateNodeStatus(ctx, full); err != nil && ctx.Err() == nil {
			a.logf("agent: %v", err)
		}
	}
	beat(false)
	t := time.NewTicker(HeartbeatPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			beat(false)
		}
	}
}
