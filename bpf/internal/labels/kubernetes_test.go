package labels

import (
	"context"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"flowlens.dev/agent/internal/flow"
)

func pod(name, ip string, hostNetwork bool, owner *metav1.OwnerReference, labels map[string]string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID("uid-" + name), Labels: labels},
		Spec:       corev1.PodSpec{NodeName: "node-a", HostNetwork: hostNetwork},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: ip}}},
	}
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return p
}

func ctrl(kind, name string) *metav1.OwnerReference {
	yes := true
	return &metav1.OwnerReference{Kind: kind, Name: name, Controller: &yes}
}

func label(tab *Table, ip string) flow.Endpoint {
	var e flow.Endpoint
	tab.Label(netip.MustParseAddr(ip), &e)
	return e
}

// The informer path: pods on the node are labelled with namespace, pod and
// workload (a Deployment recognised through its ReplicaSet), host-network
// pods and node addresses as host traffic, and deleted pods are forgotten.
func TestWatchLabelsNodePods(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "198.19.0.10"}}}}
	client := fake.NewClientset(node,
		pod("web-7d9f8c6b5-abcde", "198.18.1.5", false, ctrl("ReplicaSet", "web-7d9f8c6b5"), map[string]string{"pod-template-hash": "7d9f8c6b5"}),
		pod("db-0", "198.18.1.6", false, ctrl("StatefulSet", "db"), nil),
		pod("kube-proxy-x", "198.19.0.10", true, ctrl("DaemonSet", "kube-proxy"), nil),
	)
	tab := NewTable("node-a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	synced, err := Watch(ctx, client, "node-a", tab)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !synced(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("informer did not sync")
		}
	}
	if e := label(tab, "198.18.1.5"); e.Pod != "web-7d9f8c6b5-abcde" || e.Namespace != "shop" || e.Node != "node-a" ||
		e.Workload == nil || *e.Workload != (flow.Workload{Kind: "Deployment", Name: "web"}) {
		t.Errorf("deployment pod: %+v", e)
	}
	if e := label(tab, "198.18.1.6"); e.Workload == nil || *e.Workload != (flow.Workload{Kind: "StatefulSet", Name: "db"}) {
		t.Errorf("statefulset pod: %+v", e)
	}
	if e := label(tab, "198.19.0.10"); e.Pod != "" || !e.HostNetwork || e.Node != "node-a" {
		t.Errorf("node address / host-network pod: %+v", e)
	}
	if e := label(tab, "198.18.9.9"); e != (flow.Endpoint{}) {
		t.Errorf("unknown address labelled: %+v", e)
	}
	if err := client.CoreV1().Pods("shop").Delete(ctx, "db-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); label(tab, "198.18.1.6").Pod != ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("deleted pod still labelled")
		}
	}
}
