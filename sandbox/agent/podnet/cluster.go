package podnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// ClusterDNS is the address pods' /etc/resolv.conf names (the kube-dns Service of a kubeadm cluster); it
// appears in resolution errors as a resolver's address does.
const ClusterDNS = "10.96.0.10:53"

// route is where a connection to a Service port goes.
type route struct {
	to        netip.AddrPort // the chosen endpoint and its target port
	refused   bool           // the Service has no ready endpoint (kube-proxy rejects)
	blackhole bool           // the Service has no such port (nothing answers)
}

// serviceView is what the network knows of Services: routes for ClusterIPs and cluster DNS names.
type serviceView interface {
	route(ip netip.Addr, port uint16) (route, bool) // false: ip is no Service's
	resolve(fqdn string) []netip.Addr               // nil: no such name
}

const clusterIPIndex = "clusterIP"

// Watch makes the network follow the cluster's Services and EndpointSlices (from informers on client)
// until ctx ends. Only the first call on a network does anything: several agents can share one network.
func (n *Network) Watch(ctx context.Context, client kubernetes.Interface) error {
	var err error
	n.watch.Do(func() { err = n.startWatch(ctx, client) })
	return err
}

func (n *Network) startWatch(ctx context.Context, client kubernetes.Interface) error {
	factory := informers.NewSharedInformerFactory(client, 0)
	svcInformer := factory.Core().V1().Services().Informer()
	if err := svcInformer.AddIndexers(cache.Indexers{clusterIPIndex: func(obj any) ([]string, error) {
		svc, ok := obj.(*corev1.Service)
		if !ok {
			return nil, nil
		}
		var ips []string
		for _, ip := range append([]string{svc.Spec.ClusterIP}, svc.Spec.ClusterIPs...) {
			if ip != "" && ip != corev1.ClusterIPNone {
				ips = append(ips, ip)
			}
		}
		return ips, nil
	}}); err != nil {
		return fmt.Errorf("pod network: service index: %w", err)
	}
	slices := factory.Discovery().V1().EndpointSlices()
	sliceInformer := slices.Informer()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), svcInformer.HasSynced, sliceInformer.HasSynced) {
		factory.Shutdown()
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("pod network: Service and EndpointSlice informers did not sync")
	}
	go func() {
		<-ctx.Done()
		factory.Shutdown()
	}()
	n.mu.Lock()
	n.services = &informerView{services: svcInformer.GetIndexer(), slices: slices.Lister()}
	n.mu.Unlock()
	return nil
}

// LinkedServices are the Services whose environment variables the kubelet gives a pod of namespace ns
// (getServiceEnvVarMap): the kubernetes Service of the default namespace always, and with links (the pod's
// enableServiceLinks) every Service of ns that has a ClusterIP. Nil before Watch.
func (n *Network) LinkedServices(ns string, links bool) []*corev1.Service {
	v, ok := n.view().(*informerView)
	if !ok || v == nil {
		return nil
	}
	var out []*corev1.Service
	for _, obj := range v.services.List() {
		svc, ok := obj.(*corev1.Service)
		if !ok || svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		if svc.Namespace == "default" && svc.Name == "kubernetes" || links && svc.Namespace == ns {
			out = append(out, svc)
		}
	}
	return out
}

type informerView struct {
	services cache.Indexer
	slices   discoverylisters.EndpointSliceLister
}

func (v *informerView) service(ns, name string) *corev1.Service {
	obj, ok, err := v.services.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil
	}
	svc, _ := obj.(*corev1.Service)
	return svc
}

// endpoints lists the Service's endpoints for the port named portName (with their target ports), the
// ready ones; when none is ready, the serving terminating ones, as kube-proxy falls back to.
func (v *informerView) endpoints(svc *corev1.Service, portName string, hostname string) []netip.AddrPort {
	list, err := v.slices.EndpointSlices(svc.Namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc.Name}))
	if err != nil {
		return nil
	}
	var ready, terminating []netip.AddrPort
	for _, s := range list {
		if s.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		port, found := int32(0), portName == "*"
		for _, p := range s.Ports {
			if (p.Name == nil && portName == "" || p.Name != nil && *p.Name == portName) && p.Port != nil {
				port, found = *p.Port, true
			}
		}
		if !found {
			continue
		}
		for _, e := range s.Endpoints {
			if hostname != "" && (e.Hostname == nil || *e.Hostname != hostname) {
				continue
			}
			isTrue := func(b *bool) bool { return b == nil || *b }
			for _, a := range e.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				ap := netip.AddrPortFrom(ip, uint16(port))
				switch {
				case isTrue(e.Conditions.Ready) && !(e.Conditions.Terminating != nil && *e.Conditions.Terminating):
					ready = append(ready, ap)
				case isTrue(e.Conditions.Serving):
					terminating = append(terminating, ap)
				}
			}
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return terminating
}

func (v *informerView) route(ip netip.Addr, port uint16) (route, bool) {
	objs, err := v.services.ByIndex(clusterIPIndex, ip.String())
	if err != nil || len(objs) == 0 {
		return route{}, false
	}
	svc, ok := objs[0].(*corev1.Service)
	if !ok {
		return route{}, false
	}
	for _, sp := range svc.Spec.Ports {
		if sp.Port != int32(port) || (sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP) {
			continue
		}
		eps := v.endpoints(svc, sp.Name, "")
		if len(eps) == 0 {
			return route{refused: true}, true
		}
		return route{to: pick(eps)}, true
	}
	return route{blackhole: true}, true
}

func (v *informerView) resolve(fqdn string) []netip.Addr {
	rest, ok := strings.CutSuffix(fqdn, ".cluster.local")
	if !ok {
		return nil
	}
	parts := strings.Split(rest, ".")
	switch {
	case len(parts) == 3 && parts[2] == "svc": // <service>.<namespace>.svc
		svc := v.service(parts[1], parts[0])
		if svc == nil {
			return nil
		}
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			if target := strings.TrimSuffix(strings.ToLower(svc.Spec.ExternalName), "."); target != fqdn {
				return v.resolve(target)
			}
			return nil
		}
		if svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
			ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
			if err != nil {
				return nil
			}
			return []netip.Addr{ip}
		}
		return addrs(v.endpoints(svc, "*", ""))
	case len(parts) == 4 && parts[3] == "svc": // <hostname>.<headless service>.<namespace>.svc
		svc := v.service(parts[2], parts[1])
		if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
			return nil
		}
		return addrs(v.endpoints(svc, "*", parts[0]))
	case len(parts) == 3 && parts[2] == "pod": // <a-b-c-d>.<namespace>.pod
		ip, err := netip.ParseAddr(strings.ReplaceAll(parts[0], "-", "."))
		if err != nil {
			return nil
		}
		return []netip.Addr{ip}
	}
	return nil
}

func addrs(eps []netip.AddrPort) []netip.Addr {
	var out []netip.Addr
	for _, e := range eps {
		if !containsAddr(out, e.Addr()) {
			out = append(out, e.Addr())
		}
	}
	return out
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// LookupHost resolves name as a pod's resolver does with the cluster DNS: localhost and the pod's own
// hostname, then, for a name with fewer than 5 dots, the search path <ns>.svc.cluster.local,
// svc.cluster.local, cluster.local, then the name as given. The node (no namespace) resolves only
// localhost and IP addresses. Names outside the cluster do not resolve (the sandbox has no Internet).
func (h *Host) LookupHost(_ context.Context, name string) ([]string, error) {
	if ip, err := netip.ParseAddr(name); err == nil {
		return []string{ip.String()}, nil
	}
	lower := strings.ToLower(name)
	fqdn, absolute := strings.CutSuffix(lower, ".")
	switch {
	case fqdn == "localhost":
		return []string{"127.0.0.1"}, nil
	case h.hostname != "" && fqdn == strings.ToLower(h.hostname):
		return []string{h.ip.String()}, nil
	}
	notFound := &net.DNSError{Err: "no such host", Name: name, Server: ClusterDNS, IsNotFound: true}
	v := h.n.view()
	if v == nil || h.namespace == "" {
		return nil, notFound
	}
	var candidates []string
	if !absolute && strings.Count(fqdn, ".") < 5 {
		for _, suffix := range []string{h.namespace + ".svc.cluster.local", "svc.cluster.local", "cluster.local"} {
			candidates = append(candidates, fqdn+"."+suffix)
		}
	}
	candidates = append(candidates, fqdn)
	for _, c := range candidates {
		if ips := v.resolve(c); len(ips) > 0 {
			out := make([]string, len(ips))
			for i, ip := range ips {
				out[i] = ip.String()
			}
			return out, nil
		}
	}
	return nil, notFound
}
