package agent

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// servePods answers the kubelet's GET /pods: the pods bound to this node, as a v1.PodList. It is what
// `kubectl get --raw /api/v1/nodes/<node>/proxy/pods` and the e2e framework's failure dumps read.
func (a *agent) servePods(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" /pods is not allowed")
		return
	}
	n := requestNode(r)
	if n == nil {
		writeStatus(w, http.StatusNotFound, "NotFound", "no node answers here")
		return
	}
	list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
	for _, obj := range a.podIndex.List() {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName == n.Name {
			list.Items = append(list.Items, *p)
		}
	}
	sort.Slice(list.Items, func(i, j int) bool {
		x, y := list.Items[i], list.Items[j]
		return x.Namespace+"/"+x.Name < y.Namespace+"/"+y.Name
	})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(list)
}

// serveMetrics answers the kubelet's GET /metrics in the Prometheus text format with what the agent
// knows of its node: the running pods and containers (kubelet_running_pods, kubelet_running_containers by
// state) and kubelet_node_name. A kubelet exports far more (cAdvisor, runtime operations); the e2e
// framework's failure dumps read this endpoint through the node proxy and only need it to parse.
func (a *agent) serveMetrics(w http.ResponseWriter, r *http.Request) {
	n := requestNode(r)
	if n == nil {
		writeStatus(w, http.StatusNotFound, "NotFound", "no node answers here")
		return
	}
	reg := prometheus.NewRegistry()
	nodeName := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kubelet_node_name", Help: "[ALPHA] The node's name. The count is always 1."}, []string{"node"})
	runningPods := prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubelet_running_pods", Help: "[ALPHA] Number of pods that have a running pod sandbox"})
	containers := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kubelet_running_containers", Help: "[ALPHA] Number of containers currently running"}, []string{"container_state"})
	reg.MustRegister(nodeName, runningPods, containers)
	nodeName.WithLabelValues(n.Name).Set(1)
	for _, state := range []string{"created", "exited", "running", "unknown"} {
		containers.WithLabelValues(state)
	}
	for _, obj := range a.podIndex.List() {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.Spec.NodeName != n.Name {
			continue
		}
		if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending && p.Status.PodIP != "" {
			runningPods.Inc()
		}
		for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses, p.Status.EphemeralContainerStatuses) {
			switch {
			case cs.State.Running != nil:
				containers.WithLabelValues("running").Inc()
			case cs.State.Terminated != nil:
				containers.WithLabelValues("exited").Inc()
			case cs.State.Waiting != nil && cs.ContainerID != "":
				containers.WithLabelValues("created").Inc()
			}
		}
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}
