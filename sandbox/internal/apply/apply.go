// Package apply applies Kubernetes manifests with server-side apply, as `kubectl apply --server-side` does:
// multi-document YAML, each object mapped to its resource through discovery.
package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// FieldManager owns the fields the sandbox applies.
const FieldManager = "flowlens-sandbox"

// Applier applies manifests to one cluster.
type Applier struct {
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
}

// New builds an Applier; discovery is cached and refreshed when a kind is not found (new CRDs).
func New(dyn dynamic.Interface, disc discovery.DiscoveryInterface) *Applier {
	return &Applier{dynamic: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}
}

// Apply applies every object in the YAML stream; name says where it came from, for errors.
func (a *Applier) Apply(ctx context.Context, name string, manifest []byte) error {
	decoder := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for i := 0; ; i++ {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if err := a.applyOne(ctx, obj); err != nil {
			return fmt.Errorf("%s: %s %s: %w", name, obj.GetKind(), obj.GetName(), err)
		}
	}
}

func (a *Applier) applyOne(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		a.mapper.Reset()
		mapping, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return err
	}
	resource := a.dynamic.Resource(mapping.Resource)
	force := true
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: force}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			obj.SetNamespace("default")
		}
		_, err = resource.Namespace(obj.GetNamespace()).Apply(ctx, obj.GetName(), obj, opts)
	} else {
		_, err = resource.Apply(ctx, obj.GetName(), obj, opts)
	}
	return err
}
