// Command flowlens-bench measures what the FlowLens agent costs, side by side
// in one run: the same workloads between two network namespaces with the
// agent binary attached and without it, alternating (bulk throughput: agent
// started and stopped; connection rate: observed and unobserved cgroups with
// one agent running), plus the agent's own CPU and memory, its programs'
// kernel time and its maps' memory under a connection storm and with 100,000
// tracked sockets.
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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"flowlens.dev/agent/internal/testnet"
)

var (
	agentBin = flag.String("agent", "bin/flowlens-agent", "agent binary to benchmark")
	cgroup   = flag.String("cgroup", "/sys/fs/cgroup/unified", "cgroup v2 root the agent attaches to")
	only     = flag.String("only", "", "run one part only: throughput, connrate, storm or tracked")
	tpPairs  = flag.Int("throughput-pairs", 240, "observed/unobserved pairs of the throughput run")
	tpHalf   = flag.Int("throughput-seconds", 1, "length of each half of a throughput pair (iperf3 -t)")
	pairs    = flag.Int("pairs", 200, "observed/unobserved pairs of the connection-rate run")
	half     = flag.Duration("half", 250*time.Millisecond, "length of each half of a connection-rate pair")
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

// costHeader formats one line of the agent's own CPU and memory.
const costHeader = "%-44s %6.3f core %6.1f MiB %6.1f MiB   target < 0.25 core, < 64 MiB"

// settle is the quiet pause before a paired measurement, so that it does not
// inherit the CPU burst of starting the agent (BTF parsing, verification) or
// the tail of the previous part.
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

	fmt.Printf("FlowLens agent benchmark: %s, interval 5s (default); throughput: %d pairs of %ds; connection rate: %d pairs of %s\n",
		*agentBin, *tpPairs, *tpHalf, *pairs, *half)
	fmt.Println("client and server in two network namespaces on a bridge; agent attached to", *cgroup,
		"(for the pairs: to a cgroup of ours below it, with a sibling it does not observe)")

	want := func(part string) bool { return *only == "" || *only == part }
	var report []string
	defer func() {
		fmt.Println()
		for _, l := range report {
			fmt.Println(l)
		}
	}()

	var baselineRate float64 // connections/s without the agent, from the paired run
	if want("throughput") || want("connrate") {
		lines, rate, err := pairedParts(ctx, nw, want)
		if err != nil {
			return err
		}
		report, baselineRate = append(report, lines...), rate
	}

	if want("storm") {
		lines, err := storm(cli, srv, baselineRate)
		if err != nil {
			return fmt.Errorf("connection storm: %w", err)
		}
		report = append(report, lines...)
	}

	if want("tracked") {
		// The agent's own cost with many tracked sockets, each active in every window.
		a, err := startAgent(*cgroup)
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

type agentProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// storm measures the agent's own cost at 10,000 new connections per second,
// its programs' kernel time per connection (against baselineRate, the
// unobserved connection rate, when known) and its maps' memory.
func storm(cli, srv testnet.Host, baselineRate float64) ([]string, error) {
	const length = 10 * time.Second
	a, err := startAgent(*cgroup)
	if err != nil {
		return nil, err
	}
	defer a.stop()
	rs, err := startRawServer(srv, 7001, 4)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	progs, mapMem, err := agentKernelObjects(a.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	defer closeAll(progs)
	usage := a.usage()
	var achieved float64
	cost, err := measureProgCost(progs, func() (err error) {
		achieved, err = rawConnRate(cli, netip.AddrPortFrom(srv.Addr, 7001), length, 10000)
		return err
	})
	if err != nil {
		return nil, err
	}
	cores, rss, peak := usage()
	conns := achieved * length.Seconds()
	kernel := fmt.Sprintf("    its kernel programs: %.1f µs per connection (%.1f runs, bpf_stats)",
		cost.runtime.Seconds()*1e6/conns, float64(cost.runs)/conns)
	if baselineRate > 0 {
		kernel += fmt.Sprintf(" of the %.0f µs of CPU a connection costs at full rate without the agent",
			float64(runtime.NumCPU())*1e6/baselineRate)
	}
	return []string{
		fmt.Sprintf(costHeader, fmt.Sprintf("agent at %.0f new connections/s, %s", achieved, length), cores, rss, peak),
		kernel,
		fmt.Sprintf("    its maps: %.1f MiB of kernel memory (charged to its memory cgroup beside the RSS)", float64(mapMem)/(1<<20)),
	}, nil
}

// startAgent runs the agent binary standalone on cgroupDir and waits until its probes are attached.
func startAgent(cgroupDir string) (*agentProc, error) {
	cmd := exec.Command(*agentBin, "--standalone", "--cgroup", cgroupDir, "--pin-dir", "",
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

// iperf runs one iperf3 client (its own ground truth) and returns bits/s received.
func iperf(cli testnet.Host, server netip.Addr, port, seconds int) (float64, error) {
	out, err := exec.Command("ip", "netns", "exec", cli.NS, "iperf3", "-c", server.String(), "-p", strconv.Itoa(port),
		"-t", strconv.Itoa(seconds), "-J").Output()
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
