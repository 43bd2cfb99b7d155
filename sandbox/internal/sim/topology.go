// Package sim simulates what the kubelets and kube-proxy of a real cluster would do for the sandbox's
// KWOK nodes: for every pod KWOK reports Running it creates a network namespace holding the pod's IP and
// runs the pod's program there, inside its node's cgroup; it keeps Service DNAT rules and the cluster DNS
// records current; and for every FlowLens agent pod it runs the real flowlens-agent for that node.
package sim

import "fmt"

// Node is one simulated node.
type Node struct {
	Name string
	Zone string
	// IP is the node's InternalIP, on the sandbox bridge in the host namespace.
	IP string
	// PodCIDR is where KWOK allocates the node's pod IPs.
	PodCIDR string
	// AgentAPI is the loopback address of this node's agent flow API. Each node gets its own 127.0.1.x
	// (all of 127.0.0.0/8 is loopback on Linux, no interface needed), as each real node has its own
	// loopback; port-forward to the node's agent pod reaches it.
	AgentAPI string
}

// Nodes are the sandbox's three nodes, one per zone.
var Nodes = []Node{
	{Name: "node-a", Zone: "zone-a", IP: "198.19.0.1", PodCIDR: "198.18.1.0/24", AgentAPI: "127.0.1.1:9102"},
	{Name: "node-b", Zone: "zone-b", IP: "198.19.0.2", PodCIDR: "198.18.2.0/24", AgentAPI: "127.0.1.2:9102"},
	{Name: "node-c", Zone: "zone-c", IP: "198.19.0.3", PodCIDR: "198.18.3.0/24", AgentAPI: "127.0.1.3:9102"},
}

// OutsideHost is a host outside the cluster: a cloud service endpoint or an internet server.
type OutsideHost struct {
	Name string
	IP   string
	// DNSNames resolve to IP through the cluster DNS.
	DNSNames []string
	Port     int
}

// OutsideHosts: "S3" and "DynamoDB" in 203.0.113.0/24 (the ip-ranges.json test fixture maps those
// addresses to the services) and an "internet" host in 198.51.100.0/24.
var OutsideHosts = []OutsideHost{
	{Name: "s3", IP: "203.0.113.10", DNSNames: []string{"flowlens-photos.s3.us-east-1.amazonaws.com"}, Port: 80},
	{Name: "dynamodb", IP: "203.0.113.20", DNSNames: []string{"dynamodb.us-east-1.amazonaws.com"}, Port: 80},
	{Name: "internet", IP: "198.51.100.10", DNSNames: []string{"images.example.test"}, Port: 80},
}

// NodeByName finds a node.
func NodeByName(name string) (Node, bool) {
	for _, n := range Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// BridgeAddresses are the host-namespace addresses on the sandbox bridge: the node IPs.
func BridgeAddresses() []string {
	var out []string
	for _, n := range Nodes {
		out = append(out, n.IP+"/16")
	}
	return out
}

// BridgeRoutes send pod addresses from the host namespace to the bridge (node IPs are on it already).
// The outside hosts' ranges are deliberately not routed from the host: pods reach those hosts over the
// bridge, and the host's own view of 203.0.113.0/24 and 198.51.100.0/24 must stay as it was (a machine
// may reach real services through them, as this one reaches its package registries).
var BridgeRoutes = []string{"198.18.0.0/16"}

// PodNamespace names the network namespace of a pod.
func PodNamespace(namespace, pod string) string { return fmt.Sprintf("%s.%s", namespace, pod) }
