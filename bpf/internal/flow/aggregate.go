package flow

import (
	"fmt"
	"net/netip"
	"time"

	"flowlens.dev/agent/internal/probe"
)

// Source is what the aggregator needs from the kernel side (probe.Probe in
// production, a fake in unit tests).
type Source interface {
	Conns(fn func(cookie uint64, c *probe.Conn)) error
	UDPFlows(fn func(k probe.UDPKey, f *probe.UDPFlow)) error
	DeleteConns(cookies []uint64) error
	DeleteUDP(keys []probe.UDPKey) error
}

// Labeler adds what is known about an address (pod, workload, node).
type Labeler interface {
	Label(ip netip.Addr, e *Endpoint)
}

// reported is what has already been published for one socket (or UDP socket
// and peer): the next window reports only what lies beyond it.
type reported = probe.Reported

type udpState struct {
	rep  reported
	idle int // consecutive windows without traffic
}

// udpIdleWindows is how many quiet windows a UDP entry survives before it is
// removed from the kernel map (a later datagram simply recreates it).
const udpIdleWindows = 2

// Aggregator turns cumulative kernel counters into per-window deltas.
// It is not safe for concurrent use.
type Aggregator struct {
	src      Source
	labels   Labeler
	node     string
	ephemLo  uint16
	ephemHi  uint16
	tcp      map[uint64]reported
	udp      map[probe.UDPKey]*udpState
	deadConn []uint64
	deadUDP  []probe.UDPKey
}

// NewAggregator starts from the counters a previous agent already reported
// (the probe's handoff), so a restart neither repeats nor skips anything.
// ephemLo..ephemHi is the client port range used to tell UDP clients from servers.
func NewAggregator(src Source, labels Labeler, node string, ephemLo, ephemHi uint16,
	tcpDone map[uint64]probe.Reported, udpDone map[probe.UDPKey]probe.Reported) *Aggregator {
	a := &Aggregator{src: src, labels: labels, node: node, ephemLo: ephemLo, ephemHi: ephemHi,
		tcp: map[uint64]reported{}, udp: map[probe.UDPKey]*udpState{}}
	for k, v := range tcpDone {
		a.tcp[k] = v
	}
	for k, v := range udpDone {
		a.udp[k] = &udpState{rep: v}
	}
	return a
}

// Handoff returns what has been reported for sockets still open, for SaveHandoff.
func (a *Aggregator) Handoff() (map[uint64]probe.Reported, map[probe.UDPKey]probe.Reported) {
	tcp := make(map[uint64]probe.Reported, len(a.tcp))
	for k, v := range a.tcp {
		tcp[k] = v
	}
	udp := make(map[probe.UDPKey]probe.Reported, len(a.udp))
	for k, v := range a.udp {
		udp[k] = v.rep
	}
	return tcp, udp
}

// Tracked returns how many TCP connections and UDP (socket, peer) pairs the
// aggregator follows.
func (a *Aggregator) Tracked() (tcp, udp int) { return len(a.tcp), len(a.udp) }

func addr(family uint8, b [16]byte) netip.Addr {
	if family == 2 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b).Unmap()
}

func delta(now, before uint64) uint64 {
	if now < before { // cannot happen with cumulative counters; never report negatives
		return 0
	}
	return now - before
}

// window collects one window's records.
type window struct {
	a          *Aggregator
	start, end time.Time
	recs       map[Key]*Record
}

func (w *window) record(proto string, client, server netip.Addr, port uint16, observed string) *Record {
	k := Key{proto, client, server, port, observed}
	if r, ok := w.recs[k]; ok {
		return r
	}
	r := &Record{V: 1, Start: w.start, End: w.end, Node: w.a.node, Protocol: proto, ObservedAt: observed,
		Client: Endpoint{IP: client.String()}, Server: Endpoint{IP: server.String(), Port: port}}
	if w.a.labels != nil {
		w.a.labels.Label(client, &r.Client)
		w.a.labels.Label(server, &r.Server)
	}
	w.recs[k] = r
	return r
}

// Collect reads the kernel maps and returns the records of the window
// [start, end), deleting kernel entries the window has finished with.
func (a *Aggregator) Collect(start, end time.Time) ([]Record, error) {
	w := &window{a: a, start: start, end: end, recs: map[Key]*Record{}}
	a.deadConn, a.deadUDP = a.deadConn[:0], a.deadUDP[:0]
	if err := a.src.Conns(w.tcpConn); err != nil {
		return nil, fmt.Errorf("collect TCP: %w", err)
	}
	if err := a.src.UDPFlows(w.udpFlow); err != nil {
		return nil, fmt.Errorf("collect UDP: %w", err)
	}
	if err := a.src.DeleteConns(a.deadConn); err != nil {
		return nil, fmt.Errorf("collect TCP: %w", err)
	}
	for _, c := range a.deadConn {
		delete(a.tcp, c)
	}
	if err := a.src.DeleteUDP(a.deadUDP); err != nil {
		return nil, fmt.Errorf("collect UDP: %w", err)
	}
	for _, k := range a.deadUDP {
		delete(a.udp, k)
	}
	out := make([]Record, 0, len(w.recs))
	for _, r := range w.recs {
		out = append(out, *r)
	}
	return out, nil
}

func (w *window) tcpConn(cookie uint64, c *probe.Conn) {
	a := w.a
	rep := a.tcp[cookie]
	closed := c.Flags&probe.FlagClosed != 0
	established := c.Flags&probe.FlagEstablished != 0
	now := reported{BytesOut: c.BytesAcked, BytesIn: c.BytesReceived, PktsOut: uint64(c.SegsOut),
		PktsIn: uint64(c.SegsIn), Retrans: uint64(c.TotalRetrans), Rto: uint64(c.Rto), Resets: uint64(c.Resets)}
	// Pad bit 0 marks a connection already counted in "connections".
	opened := established && rep.Pad&1 == 0
	failed := c.Flags&probe.FlagFailed != 0 && closed
	d := reported{
		BytesOut: delta(now.BytesOut, rep.BytesOut), BytesIn: delta(now.BytesIn, rep.BytesIn),
		PktsOut: delta(now.PktsOut, rep.PktsOut), PktsIn: delta(now.PktsIn, rep.PktsIn),
		Retrans: delta(now.Retrans, rep.Retrans), Rto: delta(now.Rto, rep.Rto), Resets: delta(now.Resets, rep.Resets),
	}
	if closed {
		a.deadConn = append(a.deadConn, cookie)
	} else {
		now.Pad = rep.Pad
		if established {
			now.Pad |= 1
		}
		a.tcp[cookie] = now
	}
	active := d.BytesOut|d.BytesIn|d.PktsOut|d.PktsIn|d.Retrans|d.Rto|d.Resets != 0
	if !active && !opened && !failed {
		return
	}
	local, remote := addr(c.Family, c.Laddr), addr(c.Family, c.Raddr)
	var r *Record
	if c.Role == probe.RoleClient {
		r = w.record(TCP, local, remote, c.Rport, ObservedClient)
		r.BytesToServer += d.BytesOut
		r.BytesToClient += d.BytesIn
		r.PacketsToServer += d.PktsOut
		r.PacketsToClient += d.PktsIn
	} else {
		r = w.record(TCP, remote, local, c.Lport, ObservedServer)
		r.BytesToServer += d.BytesIn
		r.BytesToClient += d.BytesOut
		r.PacketsToServer += d.PktsIn
		r.PacketsToClient += d.PktsOut
	}
	r.Retransmits += d.Retrans
	r.RTO += d.Rto
	r.Resets += d.Resets
	if opened {
		r.Connections++
	}
	if failed {
		r.FailedConnections++
	}
	// Several connections share a record: keep the largest of their latest smoothed RTTs.
	if uint64(c.SrttUs) > r.RttUs {
		r.RttUs = uint64(c.SrttUs)
	}
}

func (a *Aggregator) ephemeral(p uint16) bool { return p >= a.ephemLo && p <= a.ephemHi }

// localIsServer decides which side of a UDP exchange is the server: the side
// whose port is not an ephemeral one, else the lower port, else the lower address.
func (a *Aggregator) localIsServer(local, remote netip.Addr, lport, rport uint16) bool {
	le, re := a.ephemeral(lport), a.ephemeral(rport)
	switch {
	case le != re:
		return re
	case lport != rport:
		return lport < rport
	default:
		return local.Less(remote)
	}
}

func (w *window) udpFlow(k probe.UDPKey, f *probe.UDPFlow) {
	a := w.a
	st, seen := a.udp[k]
	if !seen {
		st = &udpState{}
		a.udp[k] = st
	}
	d := reported{BytesOut: delta(f.BytesOut, st.rep.BytesOut), BytesIn: delta(f.BytesIn, st.rep.BytesIn),
		PktsOut: delta(f.PktsOut, st.rep.PktsOut), PktsIn: delta(f.PktsIn, st.rep.PktsIn)}
	st.rep.BytesOut, st.rep.BytesIn, st.rep.PktsOut, st.rep.PktsIn = f.BytesOut, f.BytesIn, f.PktsOut, f.PktsIn
	if d.BytesOut|d.BytesIn|d.PktsOut|d.PktsIn == 0 {
		if st.idle++; st.idle >= udpIdleWindows {
			a.deadUDP = append(a.deadUDP, k)
		}
		return
	}
	st.idle = 0
	local, remote := addr(f.Family, f.Laddr), addr(f.Family, k.Raddr)
	var r *Record
	if a.localIsServer(local, remote, f.Lport, k.Rport) {
		r = w.record(UDP, remote, local, f.Lport, ObservedServer)
		r.BytesToServer += d.BytesIn
		r.BytesToClient += d.BytesOut
		r.PacketsToServer += d.PktsIn
		r.PacketsToClient += d.PktsOut
	} else {
		r = w.record(UDP, local, remote, k.Rport, ObservedClient)
		r.BytesToServer += d.BytesOut
		r.BytesToClient += d.BytesIn
		r.PacketsToServer += d.PktsOut
		r.PacketsToClient += d.PktsIn
	}
	// A UDP "connection" is a (socket, peer) pair seen for the first time.
	if st.rep.Pad&1 == 0 {
		st.rep.Pad |= 1
		r.Connections++
	}
}
