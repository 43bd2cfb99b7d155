// Package flow holds flow record v1 (the contract in the product brief) and
// the aggregator that turns the kernel's cumulative per-socket counters into
// per-window records keyed by (protocol, client ip, server ip, server port,
// observed side).
package flow

import (
	"net/netip"
	"time"
)

// Workload is the controller that owns a pod.
type Workload struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Endpoint is one side of a flow with whatever enrichment the agent knows.
type Endpoint struct {
	IP        string    `json:"ip"`
	Port      uint16    `json:"port,omitempty"` // set on the server side only
	Namespace string    `json:"namespace,omitempty"`
	Pod       string    `json:"pod,omitempty"`
	Workload  *Workload `json:"workload,omitempty"`
	Node      string    `json:"node,omitempty"`
	// HostNetwork marks the node's own addresses: host-network pods and node
	// processes, which cannot be told apart by IP.
	HostNetwork bool `json:"hostNetwork,omitempty"`
}

// Record is flow record v1. Counters are deltas for [Start, End).
type Record struct {
	V                 int       `json:"v"`
	Start             time.Time `json:"start"`
	End               time.Time `json:"end"`
	Node              string    `json:"node"`
	Protocol          string    `json:"protocol"`
	Client            Endpoint  `json:"client"`
	Server            Endpoint  `json:"server"`
	ObservedAt        string    `json:"observedAt"`
	BytesToServer     uint64    `json:"bytesToServer"`
	BytesToClient     uint64    `json:"bytesToClient"`
	PacketsToServer   uint64    `json:"packetsToServer"`
	PacketsToClient   uint64    `json:"packetsToClient"`
	Connections       uint64    `json:"connections"`
	Retransmits       uint64    `json:"retransmits"`
	RTO               uint64    `json:"rto"`
	RttUs             uint64    `json:"rttUs"`
	Resets            uint64    `json:"resets"`
	FailedConnections uint64    `json:"failedConnections"`
}

// Observed sides and protocols as the contract spells them.
const (
	ObservedClient = "client"
	ObservedServer = "server"
	TCP            = "TCP"
	UDP            = "UDP"
)

// Key identifies a record within a window.
type Key struct {
	Protocol   string
	Client     netip.Addr
	Server     netip.Addr
	ServerPort uint16
	ObservedAt string
}

// LocalEndpoint returns the endpoint on the reporting node's side.
func (r *Record) LocalEndpoint() *Endpoint {
	if r.ObservedAt == ObservedClient {
		return &r.Client
	}
	return &r.Server
}
