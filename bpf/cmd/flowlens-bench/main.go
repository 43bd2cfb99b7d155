// Command flowlens-bench measures what the FlowLens agent costs, side by side
// in one run: the same workloads between two network namespaces with the
// agent binary attached and without it, alternating, plus the agent's own CPU
// and memory under a connection storm and with 100,000 tracked sockets.
// Run it with `make -C bpf bench` (root; it removes everything it creates).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"flowlens.dev/agent/internal/testnet"
)

var (
	agentBin = flag.String("agent", "bin/flowlens-agent", "agent binary to benchmark")
	cgroup   = flag.String("cgroup", "/sys/fs/cgroup/unified", "cgroup v2 root the agent attaches to")
	duration = flag.Duration("duration", 3*time.Second, "length of each throughput and connection-rate run")
	rounds   = flag.Int("rounds", 5, "alternating baseline/agent rounds (the median is reported)")
	only     = flag.String("only", "", "run one part only: throughput, connrate, storm or tracked")
	holdN    = flag.Int("connections", 50000, "connections held open for the tracked-flows run (two sockets each)")

	// Holder mode: a child process that keeps a share of the held connections
	// open (a process may only have 20,000 descriptors here).
	holder   = flag.Bool("holder", false, "internal: run as a connection holder")
	clientNS = flag.String("client-ns", "", "internal: holder's client namespace")
	serverNS = flag.String("server-ns", "", "internal: holder's server namespace")
	serverIP = flag.String("server-ip", "", "internal: holder's server address")
	port     = flag.Int("port", 0, "internal: holder's server port")
	count    = flag.Int("n", 0, "internal: connections this holder keeps")
)

// settle is the quiet pause before every measured run, agent or not, so
// that neither inherits the CPU burst of starting the agent (BTF parsing,
// verification) or the tail of the previous run.
const settle = 2 * time.Second

// perHolder keeps each holder below the descriptor limit (two per connection).
const perHolder = 8000

func main() {
	flag.Parse()
	run := run
	if *holder {
		run = holdConnections
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "flowlens-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	nw, err := testnet.New(2)
	if err != nil {
		return fmt.Errorf("create namespaces: %w", err)
	}
	defer nw.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli, srv := nw.Hosts[0], nw.Hosts[1]
	// The client namespace needs ports for 10k connections/s and the held set.
	if err := cli.Exec("sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=1024 65000"); err != nil {
		return err
	}
	for _, s := range []string{"net.core.somaxconn=65535", "net.ipv4.tcp_max_syn_backlog=65535"} {
		if err := srv.Exec("sysctl", "-q", "-w", s); err != nil {
			return err
		}
	}

	fmt.Printf("FlowLens agent benchmark: %s, %d rounds of %s, interval 5s (default)\n", *agentBin, *rounds, *duration)
	fmt.Println("client and server in two network namespaces on a bridge; agent attached to", *cgroup)

	want := func(part string) bool { return *only == "" || *only == part }
	var report []string
	defer func() {
		fmt.Println()
		for _, l := range report {
			fmt.Println(l)
		}
	}()
	const costHeader = "%-44s %6.3f core %6.1f MiB %6.1f MiB   target < 0.25 core, < 64 MiB"

	if want("throughput") {
		// Bulk TCP throughput with iperf3 (its own ground truth).
		iperfSrv := exec.Command("ip", "netns", "exec", srv.NS, "iperf3", "-s", "-B", srv.Addr.String(), "-p", "5201")
		if err := iperfSrv.Start(); err != nil {
			return fmt.Errorf("start iperf3 server: %w", err)
		}
		defer func() { _ = iperfSrv.Process.Kill(); _ = iperfSrv.Wait() }()
		time.Sleep(300 * time.Millisecond)
		b, v, r, err := sideBySide(ctx, "throughput b/s", func() (float64, error) { return iperf(cli, srv.Addr) })
		if err != nil {
			return fmt.Errorf("throughput: %w", err)
		}
		report = append(report, fmt.Sprintf("%-44s baseline %6.2f Gb/s, agent %6.2f Gb/s: %5.1f%%   target >= 99%%",
			"bulk TCP throughput (iperf3, 1 stream)", b/1e9, v/1e9, 100*r))
	}

	ln, err := listen(srv, 7000)
	if err != nil {
		return err
	}
	defer ln.Close()
	go serveShort(ln)
	addr := netip.AddrPortFrom(srv.Addr, 7000)
	if want("connrate") {
		// Short connections per second: connect, send 64 bytes, close.
		b, v, r, err := sideBySide(ctx, "connections/s", func() (float64, error) { return connRate(cli, addr, *duration, 0) })
		if err != nil {
			return fmt.Errorf("connection rate: %w", err)
		}
		report = append(report, fmt.Sprintf("%-44s baseline %8.0f/s, agent %8.0f/s: %5.1f%%   target >= 95%%",
			"short connections (connect-send-close)", b, v, 100*r))
	}

	if want("storm") {
		// The agent's own cost at (up to) 10,000 new connections per second.
		a, err := startAgent()
		if err != nil {
			return err
		}
		usage := a.usage()
		achieved, err := connRate(cli, addr, 10*time.Second, 10000)
		cores, rss, peak := usage()
		a.stop()
		if err != nil {
			return fmt.Errorf("connection storm: %w", err)
		}
		report = append(report, fmt.Sprintf(costHeader, fmt.Sprintf("agent at %.0f new connections/s, 10s", achieved), cores, rss, peak))
	}

	if want("tracked") {
		// The agent's own cost with many tracked sockets, each active in every window.
		a, err := startAgent()
		if err != nil {
			return err
		}
		tracked, cores, rss, peak, err := hold(ctx, cli, srv, *holdN, a)
		a.stop()
		if err != nil {
			return fmt.Errorf("tracked flows: %w", err)
		}
		report = append(report, fmt.Sprintf(costHeader, fmt.Sprintf("agent with %d tracked sockets, 15s", tracked), cores, rss, peak))
	}
	return nil
}

// sideBySide measures baseline and agent back to back in every round,
// alternating which goes first, and returns the median of each and the
// median of the per-round ratios (which cancels slow drifts in the load
// other processes put on the machine).
func sideBySide(ctx context.Context, name string, measure func() (float64, error)) (base, withAgent, ratio float64, err error) {
	var bs, as, rs []float64
	for i := 0; i < *rounds; i++ {
		if ctx.Err() != nil {
			return 0, 0, 0, ctx.Err()
		}
		var b, v float64
		withAgentRun := func() error {
			a, err := startAgent()
			if err != nil {
				return err
			}
			defer a.stop()
			time.Sleep(settle)
			v, err = measure()
			return err
		}
		baselineRun := func() (err error) {
			time.Sleep(settle)
			b, err = measure()
			return err
		}
		order := []func() error{baselineRun, withAgentRun}
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, f := range order {
			if err := f(); err != nil {
				return 0, 0, 0, err
			}
		}
		bs, as, rs = append(bs, b), append(as, v), append(rs, v/b)
		fmt.Printf("  %s round %d: baseline %.4g, agent %.4g (%.1f%%)\n", name, i+1, b, v, 100*v/b)
	}
	return median(bs), median(as), median(rs), nil
}

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

type agentProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startAgent runs the agent binary standalone and waits until its probes are attached.
func startAgent() (*agentProc, error) {
	cmd := exec.Command(*agentBin, "--standalone", "--cgroup", *cgroup, "--pin-dir", "",
		"--api-address", "127.0.0.1:0", "--max-connections", "262144", "--max-udp-flows", "65536")
	cmd.Env = append(os.Environ(), "NODE_NAME=bench", "OPEN_METRICS=off")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start agent: %w", err)
	}
	a := &agentProc{cmd: cmd, done: make(chan struct{})}
	attached := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "probe attached") {
				once.Do(func() { close(attached) })
			}
		}
		_ = cmd.Wait()
		close(a.done)
	}()
	select {
	case <-attached:
		return a, nil
	case <-a.done:
		return nil, errors.New("agent exited before attaching")
	case <-time.After(10 * time.Second):
		a.stop()
		return nil, errors.New("agent did not attach within 10s")
	}
}

func (a *agentProc) stop() {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

// usage starts measuring the agent's CPU; the returned function gives cores
// used since then, and current and peak RSS in MiB.
func (a *agentProc) usage() func() (cores, rssMiB, peakMiB float64) {
	t0, c0 := time.Now(), cpuTicks(a.cmd.Process.Pid)
	return func() (float64, float64, float64) {
		c1 := cpuTicks(a.cmd.Process.Pid)
		cores := float64(c1-c0) / 100 / time.Since(t0).Seconds() // USER_HZ is 100 on Linux
		rss, peak := memKiB(a.cmd.Process.Pid)
		return cores, float64(rss) / 1024, float64(peak) / 1024
	}
}

func cpuTicks(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseUint(f[11], 10, 64) // utime, stime: fields 14 and 15
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return ut + st
}

func memKiB(pid int) (rss, peak uint64) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			rss, _ = strconv.ParseUint(f[1], 10, 64)
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			peak, _ = strconv.ParseUint(f[1], 10, 64)
		}
	}
	return rss, peak
}

func iperf(cli testnet.Host, server netip.Addr) (float64, error) {
	out, err := exec.Command("ip", "netns", "exec", cli.NS, "iperf3", "-c", server.String(), "-p", "5201",
		"-t", strconv.Itoa(int(duration.Seconds())), "-J").Output()
	if err != nil {
		return 0, fmt.Errorf("iperf3 client: %w", err)
	}
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("parse iperf3 output: %w", err)
	}
	return res.End.SumReceived.BitsPerSecond, nil
}

func listen(h testnet.Host, port int) (net.Listener, error) {
	var ln net.Listener
	err := h.Do(func() (err error) {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(h.Addr, uint16(port)).String())
		return err
	})
	return ln, err
}

// serveShort reads each connection's 64 bytes and closes it first, so that
// TIME_WAIT stays on the server and the client never runs out of ports.
func serveShort(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			buf := make([]byte, 64)
			_, _ = io.ReadFull(c, buf)
			c.Close()
		}()
	}
}

// connRate runs connect-send-close loops for d from cli and returns completed
// connections per second; rate > 0 paces the loops to that total rate.
func connRate(cli testnet.Host, addr netip.AddrPort, d time.Duration, rate int) (float64, error) {
	const workers = 8
	var done atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	msg := make([]byte, 64)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := cli.Do(func() error {
				var gap time.Duration
				if rate > 0 {
					gap = time.Second * workers / time.Duration(rate)
				}
				next := time.Now()
				buf := make([]byte, 1)
				for time.Now().Before(deadline) {
					if gap > 0 {
						if w := time.Until(next); w > 0 {
							time.Sleep(w)
						}
						next = next.Add(gap)
					}
					c, err := net.Dial("tcp4", addr.String())
					if err != nil {
						return err
					}
					_, _ = c.Write(msg)
					_, _ = c.Read(buf) // EOF once the server has closed
					c.Close()
					done.Add(1)
				}
				return nil
			})
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}

// hold starts holder processes for n connections in all, then, while each
// holder has every connection send a byte each second, measures the agent for 15s.
func hold(ctx context.Context, cli, srv testnet.Host, n int, a *agentProc) (tracked int, cores, rss, peak float64, err error) {
	type child struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
	}
	var children []child
	defer func() {
		for _, c := range children {
			c.stdin.Close() // the holder exits (closing its connections) at EOF
			_ = c.cmd.Wait()
		}
	}()
	for i := 0; i*perHolder < n; i++ {
		k := min(perHolder, n-i*perHolder)
		cmd := exec.Command(os.Args[0], "-holder", "-client-ns", cli.NS, "-server-ns", srv.NS,
			"-server-ip", srv.Addr.String(), "-port", strconv.Itoa(8000+i), "-n", strconv.Itoa(k))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return 0, 0, 0, 0, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return 0, 0, 0, 0, err
		}
		if err := cmd.Start(); err != nil {
			return 0, 0, 0, 0, fmt.Errorf("start holder: %w", err)
		}
		children = append(children, child{cmd, stdin})
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "ready" {
			return 0, 0, 0, 0, fmt.Errorf("holder %d did not get ready: %q %v", i, line, err)
		}
		tracked += 2 * k
	}
	time.Sleep(6 * time.Second) // let a window take in the new sockets
	usage := a.usage()
	select {
	case <-ctx.Done():
		return 0, 0, 0, 0, ctx.Err()
	case <-time.After(15 * time.Second):
	}
	cores, rss, peak = usage()
	return tracked, cores, rss, peak, nil
}

// holdConnections is the holder process: it opens -n connections from the
// client namespace to its own listener, prints "ready", then writes a byte on
// each every second until its stdin closes.
func holdConnections() error {
	srv := testnet.Host{NS: *serverNS, Addr: netip.MustParseAddr(*serverIP)}
	cli := testnet.Host{NS: *clientNS}
	ln, err := listen(srv, *port)
	if err != nil {
		return err
	}
	accepted := make(chan net.Conn, *count)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	conns := make([]net.Conn, 0, *count)
	if err := cli.Do(func() error {
		for i := 0; i < *count; i++ {
			c, err := net.Dial("tcp4", netip.AddrPortFrom(srv.Addr, uint16(*port)).String())
			if err != nil {
				return fmt.Errorf("open connection %d: %w", i, err)
			}
			conns = append(conns, c)
		}
		return nil
	}); err != nil {
		return err
	}
	for i := 0; i < *count; i++ {
		c := <-accepted
		go func() { _, _ = io.Copy(io.Discard, c) }()
	}
	fmt.Println("ready")
	stdinClosed := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(stdinClosed) }()
	one := []byte{1}
	for {
		select {
		case <-stdinClosed:
			return nil
		case <-time.After(time.Second):
			for _, c := range conns {
				_, _ = c.Write(one)
			}
		}
	}
}
