// Package labels maps addresses to what the agent knows about them: pods on
// this node (from a Kubernetes informer, or set directly in standalone mode
// and tests) and the node's own addresses.
package labels

import (
	"net"
	"net/netip"
	"sync"

	"flowlens.dev/agent/internal/flow"
)

// Pod is the slim view of a pod kept per IP.
type Pod struct {
	Namespace string
	Name      string
	Workload  *flow.Workload
}

// Table is a concurrency-safe IP -> labels index; it implements flow.Labeler.
type Table struct {
	node    string
	mu      sync.RWMutex
	pods    map[netip.Addr]Pod
	hostIPs map[netip.Addr]bool
}

// NewTable returns an empty table for the given node name.
func NewTable(node string) *Table {
	return &Table{node: node, pods: map[netip.Addr]Pod{}, hostIPs: map[netip.Addr]bool{}}
}

// SetPod labels ip as the given pod.
func (t *Table) SetPod(ip netip.Addr, p Pod) {
	t.mu.Lock()
	t.pods[ip.Unmap()] = p
	t.mu.Unlock()
}

// DeletePod forgets ip.
func (t *Table) DeletePod(ip netip.Addr) {
	t.mu.Lock()
	delete(t.pods, ip.Unmap())
	t.mu.Unlock()
}

// SetHostIPs replaces the node's own addresses.
func (t *Table) SetHostIPs(ips []netip.Addr) {
	m := make(map[netip.Addr]bool, len(ips))
	for _, ip := range ips {
		m[ip.Unmap()] = true
	}
	t.mu.Lock()
	t.hostIPs = m
	t.mu.Unlock()
}

// Label implements flow.Labeler.
func (t *Table) Label(ip netip.Addr, e *flow.Endpoint) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if p, ok := t.pods[ip]; ok {
		e.Namespace, e.Pod, e.Workload, e.Node = p.Namespace, p.Name, p.Workload, t.node
		return
	}
	if t.hostIPs[ip] {
		e.Node, e.HostNetwork = t.node, true
	}
}

// InterfaceIPs returns the addresses of this network namespace's interfaces
// (the node's own addresses when the agent runs on the host network).
func InterfaceIPs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && !ip.IsLoopback() {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
}
