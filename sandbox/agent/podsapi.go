package agent

import (
	"encoding/json"
	"net/http"
	"sort"

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
