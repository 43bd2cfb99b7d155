package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"flowlens.dev/agent/internal/flow"
	"flowlens.dev/agent/internal/testnet"
)

// Exact payload bytes and connection counts for several request/response
// exchanges, as seen from both the client's and the server's socket.
func TestTCPBytesAndConnectionsExact(t *testing.T) {
	requireKernel(t)
	nw := newNet(t, 2)
	cli, srvHost := nw.Hosts[0], nw.Hosts[1]
	a := newAgent(t, nil)
	srv, got := tcpServer(t, srvHost, 0)

	sizes := [][2]int{{0, 0}, {1, 1}, {1000, 70000}, {1234567, 345}, {65536, 2 * 1024 * 1024}}
	var sent, recv int64
	for _, s := range sizes {
		out, in := exchange(t, cli, srv, s[0], s[1])
		if in != int64(s[1]) {
			t.Fatalf("exchange %v: received %d", s, in)
		}
		if n := <-got; n != out {
			t.Fatalf("exchange %v: server read %d, client sent %d", s, n, out)
		}
		sent += out
		recv += in
	}
	want := uint64(len(sizes))
	recs := settle(t, a, func(r []flow.Record) bool {
		c, _ := sum(r, flow.TCP, cli.Addr, srvHost.Addr, srv.Port(), flow.ObservedClient)
		s, _ := sum(r, flow.TCP, cli.Addr, srvHost.Addr, srv.Port(), flow.ObservedServer)
		return c.BytesToClient >= uint64(recv) && s.BytesToClient >= uint64(recv) && s.Connections >= want
	})
	for _, side := range []string{flow.ObservedClient, flow.ObservedServer} {
		r, _ := sum(recs, flow.TCP, cli.Addr, srvHost.Addr, srv.Port(), side)
		if r.BytesToServer != uint64(sent) || r.BytesToClient != uint64(recv) {
			t.Errorf("%s side: bytes to server %d (want %d), to client %d (want %d)",
				side, r.BytesToServer, sent, r.BytesToClient, recv)
		}
		if r.Connections != want || r.FailedConnections != 0 {
			t.Errorf("%s side: connections %d (want %d), failed %d", side, r.Connections, want, r.FailedConnections)
		}
		// Every connection carries at least SYN/ACK/FIN segments each way, and bulk data needs full-size segments.
		if r.PacketsToServer < want*3 || r.PacketsToClient < want*2 || r.PacketsToClient < uint64(recv)/65536 {
			t.Errorf("%s side: packets to server %d, to client %d: too few", side, r.PacketsToServer, r.PacketsToClient)
		}
		if r.RttUs == 0 {
			t.Errorf("%s side: no RTT", side)
		}
	}
}

// dropRule makes h drop a percentage of the TCP segments arriving for port.
func dropRule(t *testing.T, h testnet.Host, id string, port uint16, percent int) func() {
	t.Helper()
	table := "flowlens_test_" + id
	match := fmt.Sprintf("numgen random mod 100 < %d", percent)
	if percent >= 100 {
		match = ""
	}
	if err := h.Nft(fmt.Sprintf(`table inet %s {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport %d %s drop
	}
}`, table, port, match)); err != nil {
		t.Fatal(err)
	}
	removed := false
	remove := func() {
		if !removed {
			removed = true
			if err := h.Exec("nft", "delete", "table", "inet", table); err != nil {
				t.Errorf("remove nft table: %v", err)
			}
		}
	}
	t.Cleanup(remove) // the namespace goes too, but remove the table even if it outlived us
	return remove
}

// lossyTransfer sends size bytes from cli to a one-shot server in srvHost
// while percent of the segments to the server are dropped; the rule is
// removed before the sockets' TCP_INFO is read and they close, so the kernel
// counters are final. It returns the client's and server's TCP_INFO totals.
func lossyTransfer(t *testing.T, nw *testnet.Net, size int, percent int, hold time.Duration) (port uint16, cliRetrans, srvRetrans uint32, cliRTO uint16) {
	t.Helper()
	cli, srvHost := nw.Hosts[0], nw.Hosts[1]
	var ln net.Listener
	if err := srvHost.Do(func() (err error) {
		ln, err = net.Listen("tcp4", srvHost.Addr.String()+":0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port = netip.MustParseAddrPort(ln.Addr().String()).Port()
	type result struct {
		retrans uint32
		err     error
	}
	done := make(chan result, 1)
	release := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		if _, err := io.ReadFull(c, make([]byte, size)); err != nil {
			done <- result{err: err}
			return
		}
		if _, err := c.Write([]byte{1}); err != nil {
			done <- result{err: err}
			return
		}
		<-release
		done <- result{retrans: tcpInfo(t, c).Total_retrans}
	}()
	var c net.Conn
	if err := cli.Do(func() (err error) {
		c, err = net.Dial("tcp4", ln.Addr().String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	remove := dropRule(t, srvHost, nw.ID, port, percent)
	if _, err := c.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(hold)
	remove()
	// The server's one-byte answer acknowledges everything: nothing is left to retransmit.
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	info := tcpInfo(t, c)
	close(release)
	r := <-done
	if r.err != nil {
		t.Fatalf("server: %v", r.err)
	}
	return port, info.Total_retrans, r.retrans, info.Total_rto
}

// Retransmissions caused by nftables random drop are reported and equal the
// kernel's own per-socket count (TCP_INFO total_retrans).
func TestTCPRetransmitsMatchKernel(t *testing.T) {
	requireKernel(t)
	nw := newNet(t, 2)
	a := newAgent(t, nil)
	// Segmentation offload carries a transfer over veth in a few large packets: with 4 MiB a 5 % random
	// drop once hit none of them (a fresh-clone run); four times as many packets make that negligible.
	const size = 16 << 20
	port, cliRetrans, srvRetrans, _ := lossyTransfer(t, nw, size, 5, 0)
	if cliRetrans == 0 {
		t.Fatal("the kernel reports no retransmissions: the drop rule did not work")
	}
	cli, srv := nw.Hosts[0].Addr, nw.Hosts[1].Addr
	recs := settle(t, a, func(r []flow.Record) bool {
		c, _ := sum(r, flow.TCP, cli, srv, port, flow.ObservedClient)
		return c.Retransmits >= uint64(cliRetrans) && c.BytesToServer >= size
	})
	c, _ := sum(recs, flow.TCP, cli, srv, port, flow.ObservedClient)
	s, _ := sum(recs, flow.TCP, cli, srv, port, flow.ObservedServer)
	t.Logf("kernel: client retransmitted %d, server %d; records: %d, %d", cliRetrans, srvRetrans, c.Retransmits, s.Retransmits)
	if c.Retransmits != uint64(cliRetrans) || s.Retransmits != uint64(srvRetrans) {
		t.Errorf("retransmits client %d (kernel %d), server %d (kernel %d)", c.Retransmits, cliRetrans, s.Retransmits, srvRetrans)
	}
	if c.BytesToServer != size || s.BytesToServer != size {
		t.Errorf("bytes to server %d / %d, want %d despite the losses", c.BytesToServer, s.BytesToServer, size)
	}
}

// Dropping everything for a while forces retransmission timeouts.
func TestTCPRetransmissionTimeouts(t *testing.T) {
	requireKernel(t)
	nw := newNet(t, 2)
	a := newAgent(t, nil)
	port, _, _, kernelRTO := lossyTransfer(t, nw, 10000, 100, 1500*time.Millisecond)
	cli, srv := nw.Hosts[0].Addr, nw.Hosts[1].Addr
	recs := settle(t, a, func(r []flow.Record) bool {
		c, _ := sum(r, flow.TCP, cli, srv, port, flow.ObservedClient)
		return c.RTO >= uint64(kernelRTO) && c.RTO > 0
	})
	c, _ := sum(recs, flow.TCP, cli, srv, port, flow.ObservedClient)
	t.Logf("kernel total_rto %d, record rto %d, retransmits %d", kernelRTO, c.RTO, c.Retransmits)
	if c.RTO == 0 || c.RTO != uint64(kernelRTO) {
		t.Errorf("rto %d, kernel counted %d", c.RTO, kernelRTO)
	}
	if c.Retransmits < c.RTO {
		t.Errorf("retransmits %d < rto %d", c.Retransmits, c.RTO)
	}
}

// A connection to a port nobody listens on is a failed connection with a reset.
func TestTCPFailedConnection(t *testing.T) {
	requireKernel(t)
	nw := newNet(t, 2)
	cli, srvHost := nw.Hosts[0], nw.Hosts[1]
	a := newAgent(t, nil)
	// Find a free port by binding and closing.
	var port uint16
	if err := srvHost.Do(func() error {
		ln, err := net.Listen("tcp4", srvHost.Addr.String()+":0")
		if err != nil {
			return err
		}
		port = netip.MustParseAddrPort(ln.Addr().String()).Port()
		return ln.Close()
	}); err != nil {
		t.Fatal(err)
	}
	const attempts = 3
	for i := 0; i < attempts; i++ {
		err := cli.Do(func() error {
			c, err := net.Dial("tcp4", netip.AddrPortFrom(srvHost.Addr, port).String())
			if err == nil {
				c.Close()
			}
			return err
		})
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial closed port: %v, want connection refused", err)
		}
	}
	recs := settle(t, a, func(r []flow.Record) bool {
		c, _ := sum(r, flow.TCP, cli.Addr, srvHost.Addr, port, flow.ObservedClient)
		return c.FailedConnections >= attempts
	})
	c, _ := sum(recs, flow.TCP, cli.Addr, srvHost.Addr, port, flow.ObservedClient)
	if c.FailedConnections != attempts || c.Resets != attempts || c.Connections != 0 {
		t.Errorf("failed %d, resets %d, connections %d; want %d, %d, 0", c.FailedConnections, c.Resets, c.Connections, attempts, attempts)
	}
	if c.BytesToServer != 0 || c.BytesToClient != 0 {
		t.Errorf("bytes %d/%d on a refused connection", c.BytesToServer, c.BytesToClient)
	}
}

// A connect whose SYNs are all dropped, abandoned by the application: one
// failed connection whose retransmissions, RTOs and segments equal the
// kernel's own counts (TCP_INFO just before the close), no reset, no bytes.
func TestTCPConnectTimedOut(t *testing.T) {
	requireKernel(t)
	nw := newNet(t, 2)
	cli, srvHost := nw.Hosts[0], nw.Hosts[1]
	a := newAgent(t, nil)
	const port = 7999
	dropRule(t, srvHost, nw.ID, port, 100)
	var info *unix.TCPInfo
	if err := cli.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		err = unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: srvHost.Addr.As4()})
		if !errors.Is(err, unix.EINPROGRESS) {
			return fmt.Errorf("connect: %v, want EINPROGRESS", err)
		}
		time.Sleep(2500 * time.Millisecond) // the SYN and at least one retransmission
		info, err = unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if info.Total_retrans == 0 || info.Total_rto == 0 {
		t.Fatalf("kernel counted %d retransmissions, %d RTOs: the SYN was not retransmitted", info.Total_retrans, info.Total_rto)
	}
	recs := settle(t, a, func(r []flow.Record) bool {
		c, _ := sum(r, flow.TCP, cli.Addr, srvHost.Addr, port, flow.ObservedClient)
		return c.FailedConnections > 0
	})
	c, _ := sum(recs, flow.TCP, cli.Addr, srvHost.Addr, port, flow.ObservedClient)
	if c.FailedConnections != 1 || c.Connections != 0 || c.Resets != 0 {
		t.Errorf("failed %d, connections %d, resets %d; want 1, 0, 0", c.FailedConnections, c.Connections, c.Resets)
	}
	if c.Retransmits != uint64(info.Total_retrans) || c.RTO != uint64(info.Total_rto) || c.PacketsToServer != uint64(info.Segs_out) {
		t.Errorf("retransmits %d, rto %d, packets %d; kernel counted %d, %d, %d",
			c.Retransmits, c.RTO, c.PacketsToServer, info.Total_retrans, info.Total_rto, info.Segs_out)
	}
	if c.BytesToServer != 0 || c.BytesToClient != 0 || c.PacketsToClient != 0 {
		t.Errorf("bytes %d/%d, packets to client %d on a connection that never opened", c.BytesToServer, c.BytesToClient, c.PacketsToClient)
	}
}

// A connection that lives across several windows (closed by the agent's own
// ticker) contributes per-window deltas that sum to what was sent.
func TestTCPLongLivedAcrossWindows(t *testing.T) {
	requireKernel(t)
	nw := newNet(t, 2)
	cli, srvHost := nw.Hosts[0], nw.Hosts[1]
	a := newAgent(t, func(c *Config) { c.Interval = time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { a.Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })

	srv, got := tcpServer(t, srvHost, 0)
	var c net.Conn
	if err := cli.Do(func() (err error) {
		c, err = net.Dial("tcp4", srv.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const chunk, chunks = 50000, 12
	if _, err := c.Write(make([]byte, 8)); err != nil { // reply size 0
		t.Fatal(err)
	}
	for i := 0; i < chunks; i++ {
		if _, err := c.Write(make([]byte, chunk)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(350 * time.Millisecond)
	}
	c.(*net.TCPConn).CloseWrite()
	_, _ = io.Copy(io.Discard, c)
	c.Close()
	if n := <-got; n != chunk*chunks+8 {
		t.Fatalf("server read %d", n)
	}
	time.Sleep(2500 * time.Millisecond) // two more ticks publish the close
	recs := a.Store.Since(time.Time{})
	for _, side := range []string{flow.ObservedClient, flow.ObservedServer} {
		r, windows := sum(recs, flow.TCP, cli.Addr, srvHost.Addr, srv.Port(), side)
		if r.BytesToServer != chunk*chunks+8 || r.Connections != 1 {
			t.Errorf("%s side: bytes %d (want %d), connections %d", side, r.BytesToServer, chunk*chunks+8, r.Connections)
		}
		if windows < 3 {
			t.Errorf("%s side: traffic spread over %d windows, want at least 3", side, windows)
		}
	}
}

// An agent restart in the middle of a connection neither repeats nor loses
// bytes: the maps are pinned and the stopping agent hands over what it reported.
func TestTCPAgentRestartNoDoubleCount(t *testing.T) {
	requireKernel(t)
	pin := t.TempDir()
	if out, err := exec.Command("mount", "-t", "bpf", "bpf", pin).CombinedOutput(); err != nil {
		t.Fatalf("mount bpffs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", pin).CombinedOutput(); err != nil {
			t.Errorf("unmount bpffs: %v: %s", err, out)
		}
	})
	nw := newNet(t, 2)
	cli, srvHost := nw.Hosts[0], nw.Hosts[1]
	srv, got := tcpServer(t, srvHost, 0)
	pinned := func(c *Config) { c.Probe.PinDir = pin }

	cfg := testConfig()
	pinned(&cfg)
	first, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Close() }) // a no-op unless the test failed before closing it
	var c net.Conn
	if err := cli.Do(func() (err error) {
		c, err = net.Dial("tcp4", srv.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(n int) {
		if _, err := c.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	send(8 + 300000) // header (reply size 0) and the first part
	time.Sleep(200 * time.Millisecond)
	if err := first.Flush(); err != nil {
		t.Fatal(err)
	}
	send(200000)
	time.Sleep(200 * time.Millisecond)
	if err := first.Close(); err != nil { // publishes the partial window and the handoff
		t.Fatal(err)
	}
	before := first.Store.Since(time.Time{})
	send(100000) // while no agent runs

	second := newAgent(t, pinned)
	t.Cleanup(func() { _ = second.Unpin() })
	send(50000)
	c.(*net.TCPConn).CloseWrite()
	_, _ = io.Copy(io.Discard, c)
	const total = 8 + 300000 + 200000 + 100000 + 50000
	if n := <-got; n != total {
		t.Fatalf("server read %d", n)
	}
	after := settle(t, second, func(r []flow.Record) bool {
		s, _ := sum(r, flow.TCP, cli.Addr, srvHost.Addr, srv.Port(), flow.ObservedServer)
		return s.BytesToServer >= 100000+50000
	})
	for _, side := range []string{flow.ObservedClient, flow.ObservedServer} {
		r1, _ := sum(before, flow.TCP, cli.Addr, srvHost.Addr, srv.Port(), side)
		r2, _ := sum(after, flow.TCP, cli.Addr, srvHost.Addr, srv.Port(), side)
		if r1.BytesToServer+r2.BytesToServer != total {
			t.Errorf("%s side: first agent %d + second agent %d bytes, want %d in all", side, r1.BytesToServer, r2.BytesToServer, total)
		}
		if r1.BytesToServer < 300008 {
			t.Errorf("%s side: first agent reported only %d bytes", side, r1.BytesToServer)
		}
		if r1.Connections+r2.Connections != 1 {
			t.Errorf("%s side: connection counted %d+%d times", side, r1.Connections, r2.Connections)
		}
	}
}
