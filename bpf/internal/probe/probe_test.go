package probe

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"flowlens.dev/agent/internal/testnet"
)

// newProbe loads the programs on the test cgroup and creates one namespace to run in.
func newProbe(t *testing.T) (*Probe, *testnet.Net) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	cgroup := "/sys/fs/cgroup/unified"
	if p := os.Getenv("FLOWLENS_CGROUP"); p != "" {
		cgroup = p
	}
	nw, err := testnet.New(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nw.Close() })
	p, err := Load(Config{CgroupPath: cgroup, MaxConnections: 1024, MaxUDPFlows: 1024})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, nw
}

// The kernel side on its own, over IPv6 (loopback of a namespace the test
// creates): one entry per socket with exact payload bytes, and per-peer UDP entries.
func TestProbeIPv6Loopback(t *testing.T) {
	p, nw := newProbe(t)

	var ln, closed net.Listener
	var c net.Conn
	var uc net.Conn
	var us net.PacketConn
	if err := nw.Hosts[0].Do(func() (err error) {
		if ln, err = net.Listen("tcp6", "[::1]:0"); err != nil {
			return err
		}
		// A refused attempt is recorded from the reset, not from sock_ops.
		if closed, err = net.Listen("tcp6", "[::1]:0"); err != nil {
			return err
		}
		closed.Close()
		if _, err := net.Dial("tcp6", closed.Addr().String()); err == nil {
			return errors.New("dial to a closed port succeeded")
		}
		if c, err = net.Dial("tcp6", ln.Addr().String()); err != nil {
			return err
		}
		if us, err = net.ListenPacket("udp6", "[::1]:0"); err != nil {
			return err
		}
		uc, err = net.Dial("udp6", us.LocalAddr().String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	defer us.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, s); s.Write([]byte("pong")); s.Close() }()
	c.Write(make([]byte, 12345))
	c.(*net.TCPConn).CloseWrite()
	io.ReadAll(c)
	c.Close()
	uc.Write(make([]byte, 99))
	time.Sleep(200 * time.Millisecond)

	lport := uint16(c.LocalAddr().(*net.TCPAddr).Port)
	found := 0
	if err := p.Conns(func(_ uint64, cn *Conn) {
		if cn.Family != 10 || (cn.Lport != lport && cn.Rport != lport) {
			return
		}
		found++
		out, in := cn.BytesAcked, cn.BytesReceived
		if cn.Role == RoleServer {
			out, in = in, out
		}
		if out != 12345 || in != 4 || cn.Flags&FlagClosed == 0 {
			t.Errorf("role %d: bytes %d/%d flags %b, want 12345/4 closed", cn.Role, out, in, cn.Flags)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if found != 2 {
		t.Errorf("found %d IPv6 sockets of the connection, want 2", found)
	}
	refusedPort := uint16(closed.Addr().(*net.TCPAddr).Port)
	refused := 0
	if err := p.Conns(func(_ uint64, cn *Conn) {
		if cn.Family != 10 || cn.Rport != refusedPort {
			return
		}
		refused++
		loopback := [16]byte{15: 1}
		if cn.Role != RoleClient || cn.Flags&(FlagFailed|FlagClosed) != FlagFailed|FlagClosed || cn.Resets != 1 ||
			cn.Laddr != loopback || cn.Raddr != loopback || cn.Lport == 0 {
			t.Errorf("refused attempt: role %d flags %b resets %d %x:%d -> %x, want a closed, failed client with one reset between ::1 addresses",
				cn.Role, cn.Flags, cn.Resets, cn.Laddr, cn.Lport, cn.Raddr)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if refused != 1 {
		t.Errorf("found %d entries for the refused IPv6 attempt, want 1", refused)
	}
	uport := uint16(uc.LocalAddr().(*net.UDPAddr).Port)
	var udpOut, udpIn uint64
	if err := p.UDPFlows(func(k UDPKey, f *UDPFlow) {
		if f.Family == 10 && f.Lport == uport {
			udpOut += f.BytesOut
		}
		if f.Family == 10 && k.Rport == uport {
			udpIn += f.BytesIn
		}
	}); err != nil {
		t.Fatal(err)
	}
	if udpOut != 99 || udpIn != 99 {
		t.Errorf("UDP bytes out %d, in %d, want 99", udpOut, udpIn)
	}
}

// A connection past BUSY_AFTER snapshots takes no more of them and is read
// live at every Conns (the refresh iterator): its counters are still exact at
// each read, also after one side's FIN while the other stays open, and final
// once both sockets are closed.
func TestProbeBusyConnectionExactAtEveryRead(t *testing.T) {
	p, nw := newProbe(t)
	var ln net.Listener
	var c net.Conn
	if err := nw.Hosts[0].Do(func() (err error) {
		if ln, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
			return err
		}
		c, err = net.Dial("tcp4", ln.Addr().String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	send := func(from, to net.Conn, n int) {
		t.Helper()
		if _, err := from.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(to, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	cport := uint16(c.LocalAddr().(*net.TCPAddr).Port)
	// expect waits (acknowledgements are asynchronous) until both sockets'
	// entries show the client having sent toServer and received toClient.
	expect := func(stage string, toServer, toClient uint64, closed bool) {
		t.Helper()
		var got string
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			var sides []string
			if err := p.Conns(func(_ uint64, cn *Conn) {
				out, in := cn.BytesAcked, cn.BytesReceived
				switch {
				case cn.Role == RoleClient && cn.Lport == cport:
				case cn.Role == RoleServer && cn.Rport == cport:
					out, in = in, out
				default:
					return
				}
				sides = append(sides, fmt.Sprintf("role %d: %d/%d closed %v", cn.Role, out, in, cn.Flags&FlagClosed != 0))
				if out == toServer && in == toClient && (cn.Flags&FlagClosed != 0) == closed {
					sides[len(sides)-1] = "ok"
				}
			}); err != nil {
				t.Fatal(err)
			}
			if got = strings.Join(sides, ", "); got == "ok, ok" {
				return
			}
		}
		t.Fatalf("%s: %s; want both sides %d/%d closed %v", stage, got, toServer, toClient, closed)
	}
	isBusy := func(conn net.Conn) bool {
		t.Helper()
		rc, err := conn.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var b flowlensBusy
		var lookup error
		if err := rc.Control(func(fd uintptr) { lookup = p.objs.Busy.Lookup(int32(fd), &b) }); err != nil {
			t.Fatal(err)
		}
		return lookup == nil
	}

	for i := 0; i < 200; i++ { // request/response rounds: far more than BUSY_AFTER snapshots each side
		send(c, s, 100)
		send(s, c, 50)
	}
	expect("after 200 rounds", 20000, 10000, false)
	if !isBusy(c) || !isBusy(s) {
		t.Fatalf("busy after 200 rounds: client %v, server %v; want both", isBusy(c), isBusy(s))
	}
	send(c, s, 12345)
	expect("after a request while busy", 32345, 10000, false)
	send(s, c, 777)
	if err := s.(*net.TCPConn).CloseWrite(); err != nil { // the server's FIN; the client stays open
		t.Fatal(err)
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("client read after the server's FIN: %d, %v; want EOF", n, err)
	}
	expect("after the server's FIN", 32345, 10777, false)
	send(c, s, 5)
	expect("after a half-closed request", 32350, 10777, false)
	c.Close()
	if n, err := s.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("server read after the client's FIN: %d, %v; want EOF", n, err)
	}
	s.Close()
	expect("closed", 32350, 10777, true)
}

// Busy connections read while they are moving and closing: every read of
// every counter is at most what was really sent and never lower than the
// read before (the iterator's unlocked reads race with the kernel's writers
// here, FINs included), and the final counters are exact.
func TestProbeBusyReadsUnderTrafficNeverOvercount(t *testing.T) {
	p, nw := newProbe(t)
	var ln net.Listener
	if err := nw.Hosts[0].Do(func() (err error) {
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const conns, rounds, tail = 8, 100, 1 << 20
	want := uint64(rounds*100 + tail) // client to server; the server echoes each round's 100 bytes
	ports := map[uint16]bool{}
	var clients []net.Conn
	for i := 0; i < conns; i++ {
		var c net.Conn
		if err := nw.Hosts[0].Do(func() (err error) {
			c, err = net.Dial("tcp4", ln.Addr().String())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ports[uint16(c.LocalAddr().(*net.TCPAddr).Port)] = true
		clients = append(clients, c)
	}
	errs := make(chan error, 2*conns)
	for range clients {
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		go func() { // echo the rounds, then read the tail to EOF and close
			defer s.Close()
			buf := make([]byte, 100)
			for i := 0; i < rounds; i++ {
				if _, err := io.ReadFull(s, buf); err != nil {
					errs <- err
					return
				}
				if _, err := s.Write(buf); err != nil {
					errs <- err
					return
				}
			}
			n, err := io.Copy(io.Discard, s)
			if err == nil && n != tail {
				err = fmt.Errorf("server read a tail of %d bytes", n)
			}
			errs <- err
		}()
	}
	for _, c := range clients {
		go func() {
			buf := make([]byte, 100)
			for i := 0; i < rounds; i++ {
				if _, err := c.Write(buf); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					errs <- err
					return
				}
			}
			for sent := 0; sent < tail; sent += 4096 { // many small writes: many reads on the other side
				if _, err := c.Write(make([]byte, 4096)); err != nil {
					errs <- err
					return
				}
			}
			errs <- c.(*net.TCPConn).CloseWrite()
		}()
	}
	type counters struct{ toServer, toClient uint64 }
	last := map[uint64]counters{}
	done := 0
	for reads := 0; done < 2*conns || reads < 10; reads++ {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
			done++
		default:
		}
		if err := p.Conns(func(cookie uint64, cn *Conn) {
			toServer, toClient := cn.BytesAcked, cn.BytesReceived
			switch {
			case cn.Role == RoleClient && ports[cn.Lport]:
			case cn.Role == RoleServer && ports[cn.Rport]:
				toServer, toClient = toClient, toServer
			default:
				return
			}
			now, before := counters{toServer, toClient}, last[cookie]
			if now.toServer > want || now.toClient > rounds*100 || now.toServer < before.toServer || now.toClient < before.toClient {
				t.Fatalf("role %d read %d/%d after %d/%d: over %d/%d or going down", cn.Role, now.toServer, now.toClient,
					before.toServer, before.toClient, want, rounds*100)
			}
			last[cookie] = now
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range clients {
		c.Close()
	}
	closedExact := 0
	for deadline := time.Now().Add(3 * time.Second); closedExact < 2*conns && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		closedExact = 0
		if err := p.Conns(func(_ uint64, cn *Conn) {
			toServer, toClient := cn.BytesAcked, cn.BytesReceived
			if cn.Role == RoleServer {
				toServer, toClient = toClient, toServer
			}
			if (ports[cn.Lport] || ports[cn.Rport]) && cn.Flags&FlagClosed != 0 && toServer == want && toClient == rounds*100 {
				closedExact++
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if closedExact != 2*conns {
		t.Errorf("%d of %d sockets closed with exact final counters", closedExact, 2*conns)
	}
}
