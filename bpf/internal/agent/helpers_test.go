package agent

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"flowlens.dev/agent/internal/flow"
	"flowlens.dev/agent/internal/labels"
	"flowlens.dev/agent/internal/probe"
	"flowlens.dev/agent/internal/testnet"
)

// requireKernel skips tests that need root, BTF and the tools the Makefile installs.
func requireKernel(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (eBPF, network namespaces)")
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skip("kernel has no BTF")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make -C bpf deps)", tool)
		}
	}
}

// cgroupRoot is the cgroup v2 root the probe attaches to.
func cgroupRoot() string {
	if p := os.Getenv("FLOWLENS_CGROUP"); p != "" {
		return p
	}
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "/sys/fs/cgroup/unified"
	}
	return "/sys/fs/cgroup"
}

func newNet(t *testing.T, hosts int) *testnet.Net {
	t.Helper()
	nw, err := testnet.New(hosts)
	if err != nil {
		t.Fatalf("create test network: %v", err)
	}
	t.Cleanup(func() {
		if err := nw.Close(); err != nil {
			t.Errorf("remove test network: %v", err)
		}
	})
	return nw
}

// newAgent starts an agent whose windows the test closes with Flush.
func newAgent(t *testing.T, tune func(*Config)) *Agent {
	t.Helper()
	cfg := testConfig()
	if tune != nil {
		tune(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("start agent: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("stop agent: %v", err)
		}
	})
	return a
}

func testConfig() Config {
	return Config{
		Probe:     probe.Config{CgroupPath: cgroupRoot(), MaxConnections: 65536, MaxUDPFlows: 16384},
		Interval:  time.Hour,
		Retention: time.Hour,
		Node:      "test-node",
		Labels:    labels.NewTable("test-node"),
	}
}

// sum adds up the records of every retained window matching the key.
func sum(recs []flow.Record, proto string, client, server netip.Addr, port uint16, observed string) (flow.Record, int) {
	var s flow.Record
	windows := 0
	for _, r := range recs {
		if r.Protocol != proto || r.Client.IP != client.String() || r.Server.IP != server.String() ||
			r.Server.Port != port || r.ObservedAt != observed {
			continue
		}
		windows++
		s.BytesToServer += r.BytesToServer
		s.BytesToClient += r.BytesToClient
		s.PacketsToServer += r.PacketsToServer
		s.PacketsToClient += r.PacketsToClient
		s.Connections += r.Connections
		s.Retransmits += r.Retransmits
		s.RTO += r.RTO
		s.Resets += r.Resets
		s.FailedConnections += r.FailedConnections
		if r.RttUs > 0 {
			s.RttUs = r.RttUs
		}
	}
	return s, windows
}

// settle flushes windows until done holds for the summed records (or 5s pass),
// then flushes once more so that a late double count would show.
func settle(t *testing.T, a *Agent, done func([]flow.Record) bool) []flow.Record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := a.Flush(); err != nil {
			t.Fatalf("flush: %v", err)
		}
		if done(a.Store.Since(time.Time{})) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if err := a.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	return a.Store.Since(time.Time{})
}

// tcpServer accepts connections in h: each client sends an 8-byte reply size
// and a request, half-closes; the server reads to EOF, answers and closes.
// It returns the listening address and a channel of bytes received per connection.
func tcpServer(t *testing.T, h testnet.Host, port int) (netip.AddrPort, chan int64) {
	t.Helper()
	var ln net.Listener
	if err := h.Do(func() (err error) {
		ln, err = net.Listen("tcp4", net.JoinHostPort(h.Addr.String(), fmt.Sprint(port)))
		return err
	}); err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan int64, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var hdr [8]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					got <- -1
					return
				}
				n, _ := io.Copy(io.Discard, c)
				got <- n + 8
				_, _ = c.Write(make([]byte, binary.BigEndian.Uint64(hdr[:])))
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String()), got
}

// exchange runs one request/response against a tcpServer from h and returns
// the bytes sent (header included) and received.
func exchange(t *testing.T, h testnet.Host, srv netip.AddrPort, request, reply int) (int64, int64) {
	t.Helper()
	var c net.Conn
	if err := h.Do(func() (err error) {
		c, err = net.Dial("tcp4", srv.String())
		return err
	}); err != nil {
		t.Fatalf("dial %s: %v", srv, err)
	}
	defer c.Close()
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(reply))
	if _, err := c.Write(append(hdr[:], make([]byte, request)...)); err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatalf("half-close: %v", err)
	}
	n, err := io.Copy(io.Discard, c)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return int64(request + 8), n
}

func tcpInfo(t *testing.T, c net.Conn) *unix.TCPInfo {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) { info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatalf("TCP_INFO: %v", gerr)
	}
	return info
}
