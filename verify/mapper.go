package verify

import (
	"errors"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/restmapper"
)

// kindMapper is the part of a RESTMapper verify uses.
type kindMapper interface {
	RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error)
	KindsFor(resource schema.GroupVersionResource) ([]schema.GroupVersionKind, error)
	Reset()
}

// discoveryMapper builds a discovery RESTMapper on first use and again after
// Reset or a failed discovery. Unlike client-go's memory-cached discovery it
// logs nothing: failures come back as errors (and become error results).
type discoveryMapper struct {
	dc discovery.DiscoveryInterface
	mu sync.Mutex
	m  meta.RESTMapper
}

func (d *discoveryMapper) get() (meta.RESTMapper, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m != nil {
		return d.m, nil
	}
	groups, err := restmapper.GetAPIGroupResources(d.dc)
	if err != nil {
		var partial *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &partial) || len(groups) == 0 {
			return nil, fmt.Errorf("discover API resources: %w", err)
		}
		// Some aggregated API is down: use what was found, retry later.
		return restmapper.NewDiscoveryRESTMapper(groups), nil
	}
	d.m = restmapper.NewDiscoveryRESTMapper(groups)
	return d.m, nil
}

func (d *discoveryMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	m, err := d.get()
	if err != nil {
		return nil, err
	}
	return m.RESTMapping(gk, versions...) //nolint:wrapcheck // NoKindMatch is tested by callers
}

func (d *discoveryMapper) KindsFor(r schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	m, err := d.get()
	if err != nil {
		return nil, err
	}
	return m.KindsFor(r) //nolint:wrapcheck // NoResourceMatch is tested by callers
}

func (d *discoveryMapper) Reset() {
	d.mu.Lock()
	d.m = nil
	d.mu.Unlock()
}
