package labels

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"flowlens.dev/agent/internal/flow"
)

// Watch keeps t in sync with the pods scheduled on node and with the node's
// addresses. It returns once the informer is started; synced reports when the
// first list has been applied.
func Watch(ctx context.Context, client kubernetes.Interface, node string, t *Table) (synced func() bool, err error) {
	n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get node %s: %w", node, err)
	}
	var hostIPs []netip.Addr
	for _, a := range n.Status.Addresses {
		if ip, err := netip.ParseAddr(a.Address); err == nil {
			hostIPs = append(hostIPs, ip)
		}
	}
	t.SetHostIPs(hostIPs)

	// Only this node's pods: the field selector keeps the watch (and memory) per node.
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", node).String()
		}))
	inf := factory.Core().V1().Pods().Informer()
	// Slim pods down to what labelling needs before they enter the cache.
	if err := inf.SetTransform(slimPod); err != nil {
		return nil, fmt.Errorf("set pod transform: %w", err)
	}
	ips := map[string][]netip.Addr{} // pod UID -> IPs it was indexed under; informer callbacks are serialized
	set := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		for _, ip := range ips[string(p.UID)] {
			t.DeletePod(ip)
		}
		delete(ips, string(p.UID))
		if p.Spec.HostNetwork || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			return // host-network pods share the node's IPs: labelled as host traffic
		}
		for _, pip := range p.Status.PodIPs {
			if ip, err := netip.ParseAddr(pip.IP); err == nil {
				t.SetPod(ip, Pod{Namespace: p.Namespace, Name: p.Name, Workload: workloadOf(p)})
				ips[string(p.UID)] = append(ips[string(p.UID)], ip)
			}
		}
	}
	del := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if p, ok := obj.(*corev1.Pod); ok {
			for _, ip := range ips[string(p.UID)] {
				t.DeletePod(ip)
			}
			delete(ips, string(p.UID))
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: set, UpdateFunc: func(_, n any) { set(n) }, DeleteFunc: del,
	}); err != nil {
		return nil, fmt.Errorf("add pod handler: %w", err)
	}
	factory.Start(ctx.Done())
	return inf.HasSynced, nil
}

func slimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID, Labels: p.Labels,
			OwnerReferences: p.OwnerReferences, ResourceVersion: p.ResourceVersion},
		Spec:   corev1.PodSpec{NodeName: p.Spec.NodeName, HostNetwork: p.Spec.HostNetwork},
		Status: corev1.PodStatus{Phase: p.Status.Phase, PodIPs: p.Status.PodIPs},
	}, nil
}

// workloadOf names the pod's controller; a ReplicaSet created by a Deployment
// is reported as the Deployment (its name minus the pod-template-hash), which
// avoids needing RBAC on ReplicaSets.
func workloadOf(p *corev1.Pod) *flow.Workload {
	ref := metav1.GetControllerOf(p)
	if ref == nil {
		return nil
	}
	if h := p.Labels["pod-template-hash"]; ref.Kind == "ReplicaSet" && h != "" && strings.HasSuffix(ref.Name, "-"+h) {
		return &flow.Workload{Kind: "Deployment", Name: strings.TrimSuffix(ref.Name, "-"+h)}
	}
	return &flow.Workload{Kind: ref.Kind, Name: ref.Name}
}
