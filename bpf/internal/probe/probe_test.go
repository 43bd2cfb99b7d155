package probe

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"flowlens.dev/agent/internal/testnet"
)

// The kernel side on its own, over IPv6 (loopback of a namespace the test
// creates): one entry per socket with exact payload bytes, and per-peer UDP entries.
func TestProbeIPv6Loopback(t *testing.T) {
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
