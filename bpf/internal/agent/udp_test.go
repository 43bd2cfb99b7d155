package agent

import (
	"net"
	"net/netip"
	"testing"

	"flowlens.dev/agent/internal/flow"
	"flowlens.dev/agent/internal/testnet"
)

// udpEcho serves DNS-like exchanges on h:port: each datagram is answered
// with a datagram of the size given in its first byte times 10.
func udpEcho(t *testing.T, h testnet.Host, port int) netip.AddrPort {
	t.Helper()
	var pc net.PacketConn
	if err := h.Do(func() (err error) {
		pc, err = net.ListenPacket("udp4", netip.AddrPortFrom(h.Addr, uint16(port)).String())
		return err
	}); err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n > 0 {
				_, _ = pc.WriteTo(make([]byte, int(buf[0])*10), from)
			}
		}
	}()
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

// query sends datagrams of the given sizes from one new socket in h and waits for each answer.
func query(t *testing.T, h testnet.Host, srv netip.AddrPort, sizes []int) (sent, recv int) {
	t.Helper()
	var c net.Conn
	if err := h.Do(func() (err error) {
		c, err = net.Dial("udp4", srv.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 65536)
	for _, n := range sizes {
		q := make([]byte, n)
		q[0] = byte(n % 200)
		if _, err := c.Write(q); err != nil {
			t.Fatal(err)
		}
		m, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		sent += n
		recv += m
	}
	return sent, recv
}

// DNS-like traffic to port 53: exact payload bytes and datagrams, seen from
// the client's and the server's sockets.
func TestUDPDNSExact(t *testing.T) {
	requireKernel(t)
	nw := newNet(t, 2)
	cli, srvHost := nw.Hosts[0], nw.Hosts[1]
	a := newAgent(t, nil)
	srv := udpEcho(t, srvHost, 53)

	s1, r1 := query(t, cli, srv, []int{33, 45, 160})
	s2, r2 := query(t, cli, srv, []int{1200, 57})
	sent, recv := uint64(s1+s2), uint64(r1+r2)
	const datagrams = 5
	recs := settle(t, a, func(r []flow.Record) bool {
		c, _ := sum(r, flow.UDP, cli.Addr, srvHost.Addr, 53, flow.ObservedClient)
		s, _ := sum(r, flow.UDP, cli.Addr, srvHost.Addr, 53, flow.ObservedServer)
		return c.BytesToClient >= recv && s.BytesToClient >= recv
	})
	for _, side := range []string{flow.ObservedClient, flow.ObservedServer} {
		r, _ := sum(recs, flow.UDP, cli.Addr, srvHost.Addr, 53, side)
		if r.BytesToServer != sent || r.BytesToClient != recv {
			t.Errorf("%s side: bytes %d/%d, want %d/%d", side, r.BytesToServer, r.BytesToClient, sent, recv)
		}
		if r.PacketsToServer != datagrams || r.PacketsToClient != datagrams {
			t.Errorf("%s side: packets %d/%d, want %d each way", side, r.PacketsToServer, r.PacketsToClient, datagrams)
		}
		// Two client sockets: two (socket, peer) pairs on the client, two peers on the server.
		if r.Connections != 2 {
			t.Errorf("%s side: %d UDP flows, want 2", side, r.Connections)
		}
	}
}
