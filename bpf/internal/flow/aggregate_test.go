package flow

import (
	"net/netip"
	"testing"
	"time"

	"flowlens.dev/agent/internal/probe"
)

type fakeSource struct {
	conns      map[uint64]probe.Conn
	udp        map[probe.UDPKey]probe.UDPFlow
	deletedTCP []uint64
	deletedUDP []probe.UDPKey
}

func (f *fakeSource) Conns(fn func(uint64, *probe.Conn)) error {
	for k, v := range f.conns {
		fn(k, &v)
	}
	return nil
}

func (f *fakeSource) UDPFlows(fn func(probe.UDPKey, *probe.UDPFlow)) error {
	for k, v := range f.udp {
		fn(k, &v)
	}
	return nil
}

func (f *fakeSource) DeleteConns(c []uint64) error {
	for _, k := range c {
		delete(f.conns, k)
	}
	f.deletedTCP = append(f.deletedTCP, c...)
	return nil
}

func (f *fakeSource) DeleteUDP(keys []probe.UDPKey) error {
	for _, k := range keys {
		delete(f.udp, k)
	}
	f.deletedUDP = append(f.deletedUDP, keys...)
	return nil
}

func ip16(s string) (b [16]byte) {
	a := netip.MustParseAddr(s).As4()
	copy(b[:], a[:])
	return b
}

func clientConn(acked, received uint64, flags uint8) probe.Conn {
	return probe.Conn{Laddr: ip16("198.18.0.1"), Raddr: ip16("198.18.0.2"), Lport: 40000, Rport: 80, Family: 2,
		Role: probe.RoleClient, Flags: flags, BytesAcked: acked, BytesReceived: received, SegsOut: 3, SegsIn: 2, SrttUs: 50}
}

func collect(t *testing.T, a *Aggregator) []Record {
	t.Helper()
	recs, err := a.Collect(time.Unix(0, 0), time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestDeltasPerWindowAndClose(t *testing.T) {
	src := &fakeSource{conns: map[uint64]probe.Conn{7: clientConn(100, 10, probe.FlagEstablished)}}
	a := NewAggregator(src, nil, "n", 32768, 60999, nil, nil)
	steps := []struct {
		conn             probe.Conn
		out, in, conns   uint64
		records, tracked int
	}{
		{clientConn(100, 10, probe.FlagEstablished), 100, 10, 1, 1, 1},
		{clientConn(250, 10, probe.FlagEstablished), 150, 0, 0, 1, 1},
		{clientConn(250, 10, probe.FlagEstablished), 0, 0, 0, 0, 1}, // idle: no record
		{clientConn(300, 20, probe.FlagEstablished|probe.FlagClosed), 50, 10, 0, 1, 0},
	}
	for i, s := range steps {
		src.conns[7] = s.conn
		recs := collect(t, a)
		if len(recs) != s.records {
			t.Fatalf("window %d: %d records, want %d", i, len(recs), s.records)
		}
		if s.records == 1 {
			r := recs[0]
			if r.BytesToServer != s.out || r.BytesToClient != s.in || r.Connections != s.conns ||
				r.ObservedAt != ObservedClient || r.Server.Port != 80 || r.Client.IP != "198.18.0.1" {
				t.Errorf("window %d: %+v", i, r)
			}
		}
		if tcp, _ := a.Tracked(); tcp != s.tracked {
			t.Errorf("window %d: tracking %d", i, tcp)
		}
	}
	if len(src.deletedTCP) != 1 || src.deletedTCP[0] != 7 {
		t.Errorf("closed connection not deleted from the kernel map: %v", src.deletedTCP)
	}
}

func TestHandoffResumesWithoutRecounting(t *testing.T) {
	src := &fakeSource{conns: map[uint64]probe.Conn{7: clientConn(150, 10, probe.FlagEstablished)}}
	done := map[uint64]probe.Reported{7: {BytesOut: 100, BytesIn: 10, PktsOut: 3, PktsIn: 2, Pad: 1}}
	a := NewAggregator(src, nil, "n", 32768, 60999, done, nil)
	recs := collect(t, a)
	if len(recs) != 1 || recs[0].BytesToServer != 50 || recs[0].BytesToClient != 0 || recs[0].Connections != 0 {
		t.Fatalf("after handoff: %+v", recs)
	}
	tcp, _ := a.Handoff()
	if tcp[7].BytesOut != 150 || tcp[7].Pad&1 == 0 {
		t.Errorf("handoff %+v", tcp[7])
	}
}

func TestFailedConnection(t *testing.T) {
	c := clientConn(0, 0, probe.FlagClosed|probe.FlagFailed)
	c.Resets = 1
	src := &fakeSource{conns: map[uint64]probe.Conn{9: c}}
	recs := collect(t, NewAggregator(src, nil, "n", 32768, 60999, nil, nil))
	if len(recs) != 1 || recs[0].FailedConnections != 1 || recs[0].Connections != 0 || recs[0].Resets != 1 {
		t.Fatalf("%+v", recs)
	}
}

func TestUDPServerSide(t *testing.T) {
	a := NewAggregator(nil, nil, "n", 32768, 60999, nil, nil)
	lo, hi := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	for _, c := range []struct {
		lport, rport uint16
		local        netip.Addr
		server       bool
	}{
		{53, 40000, lo, true},    // DNS server
		{40000, 53, lo, false},   // DNS client
		{8125, 9000, lo, true},   // neither ephemeral: lower port serves
		{33000, 34000, hi, true}, // both ephemeral: lower port
		{5353, 5353, lo, true},   // same port: lower address
		{5353, 5353, hi, false},
	} {
		remote := hi
		if c.local == hi {
			remote = lo
		}
		if got := a.localIsServer(c.local, remote, c.lport, c.rport); got != c.server {
			t.Errorf("local %s:%d remote :%d: server=%v, want %v", c.local, c.lport, c.rport, got, c.server)
		}
	}
}

func TestUDPDeltasAndIdleRemoval(t *testing.T) {
	k := probe.UDPKey{Cookie: 1, Raddr: ip16("198.18.0.2"), Rport: 53}
	f := probe.UDPFlow{Laddr: ip16("198.18.0.1"), Lport: 40000, Family: 2, BytesOut: 40, PktsOut: 1, BytesIn: 120, PktsIn: 1}
	src := &fakeSource{udp: map[probe.UDPKey]probe.UDPFlow{k: f}}
	a := NewAggregator(src, nil, "n", 32768, 60999, nil, nil)
	recs := collect(t, a)
	if len(recs) != 1 || recs[0].Protocol != UDP || recs[0].Server.Port != 53 || recs[0].BytesToServer != 40 ||
		recs[0].BytesToClient != 120 || recs[0].Connections != 1 || recs[0].ObservedAt != ObservedClient {
		t.Fatalf("%+v", recs)
	}
	f.BytesOut, f.PktsOut = 70, 2
	src.udp[k] = f
	if recs := collect(t, a); len(recs) != 1 || recs[0].BytesToServer != 30 || recs[0].PacketsToServer != 1 || recs[0].Connections != 0 {
		t.Fatalf("second window %+v", recs)
	}
	for i := 0; i < udpIdleWindows; i++ {
		if recs := collect(t, a); len(recs) != 0 {
			t.Fatalf("idle window: %+v", recs)
		}
	}
	if len(src.deletedUDP) != 1 {
		t.Errorf("idle UDP entry not removed")
	}
}
