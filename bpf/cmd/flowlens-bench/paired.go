package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"flowlens.dev/agent/internal/testnet"
)

// Throughput and connection rate on this virtual machine drift by several
// percent within seconds, more than the agent costs, so comparing runs
// seconds apart (agent started, then stopped) needs more rounds than a
// benchmark can afford. Instead one agent attaches to a cgroup of our own
// and the benchmark alternates, in short halves, between creating its
// sockets inside that cgroup (observed: every program of the agent runs for
// them) and inside a sibling the agent does not see; each has its own
// server, started in the same cgroup, since accepted sockets inherit the
// listener's cgroup. Adjacent halves see the same machine, so their ratios
// are tight.

// pairedCgroups is the parent cgroup the benchmark created with its two leaves.
type pairedCgroups struct {
	observed, plain string
	home            string   // where this process was, and returns to
	created         []string // the directories made, parent first
}

func newPairedCgroups(root, id string) (*pairedCgroups, error) {
	home, err := ownCgroup()
	if err != nil {
		return nil, err
	}
	parent := filepath.Join(root, "flowlens-bench-"+id)
	p := &pairedCgroups{observed: filepath.Join(parent, "observed"), plain: filepath.Join(parent, "plain"),
		home: filepath.Join(root, home)}
	for _, d := range []string{parent, p.observed, p.plain} {
		if err := os.Mkdir(d, 0o755); err != nil {
			p.Close()
			return nil, fmt.Errorf("create cgroup: %w", err)
		}
		p.created = append(p.created, d)
	}
	return p, nil
}

// ownCgroup returns this process's cgroup v2 path (relative to the v2 root).
func ownCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "0::"); ok {
			return rest, nil
		}
	}
	return "", errors.New("this process has no cgroup v2 membership")
}

// enter moves this whole process (every thread) into dir; sockets created
// afterwards belong to it.
func enter(dir string) error {
	err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0)
	if err != nil {
		return fmt.Errorf("move into cgroup %s: %w", dir, err)
	}
	return nil
}

// Close returns the process home and removes the cgroups it made (they must be empty).
func (p *pairedCgroups) Close() error {
	errs := []error{enter(p.home)}
	for i := len(p.created) - 1; i >= 0; i-- {
		errs = append(errs, os.Remove(p.created[i]))
	}
	return errors.Join(errs...)
}

// pairedRun is one agent observing cg.observed while workloads alternate
// between that cgroup and cg.plain.
type pairedRun struct {
	cg    *pairedCgroups
	agent *agentProc
}

func startPaired(root, id string) (*pairedRun, error) {
	cg, err := newPairedCgroups(root, id)
	if err != nil {
		return nil, err
	}
	a, err := startAgent(cg.observed) // from home: the agent's own sockets stay out of both halves
	if err != nil {
		cg.Close()
		return nil, err
	}
	return &pairedRun{cg: cg, agent: a}, nil
}

// Close stops the agent and removes the cgroups; whatever was started in
// them must have ended.
func (p *pairedRun) Close() error {
	p.agent.stop()
	return p.cg.Close()
}

// inEach runs start once inside each cgroup (servers, whose accepted sockets
// take the listener's cgroup); it returns home afterwards.
func (p *pairedRun) inEach(start func(observed bool) error) error {
	for _, dir := range []string{p.cg.observed, p.cg.plain} {
		if err := enter(dir); err != nil {
			return err
		}
		if err := start(dir == p.cg.observed); err != nil {
			return err
		}
	}
	return enter(p.cg.home)
}

// kernelCost runs fn in the observed cgroup with BPF statistics on and returns
// the agent's programs' runs and run time per second of it.
func (p *pairedRun) kernelCost(fn func() error) (runsPerSec float64, perSec time.Duration, err error) {
	progs, _, err := agentKernelObjects(p.agent.cmd.Process.Pid)
	if err != nil {
		return 0, 0, err
	}
	defer closeAll(progs)
	if err := enter(p.cg.observed); err != nil {
		return 0, 0, err
	}
	defer enter(p.cg.home)
	start := time.Now()
	cost, err := measureProgCost(progs, fn)
	if err != nil {
		return 0, 0, err
	}
	s := time.Since(start).Seconds()
	return float64(cost.runs) / s, time.Duration(float64(cost.runtime) / s), nil
}

// pairedResult is what one paired measurement found.
type pairedResult struct {
	observed, plain []float64 // the figure of each half, in pair order
	agentCores      float64   // the agent's own CPU over the whole measurement
}

// measure runs pairs of measurements, one with the workload's sockets
// observed by the agent and one not, alternating which goes first.
func (p *pairedRun) measure(ctx context.Context, name string, pairs int, run func(observed bool) (float64, error)) (*pairedResult, error) {
	defer enter(p.cg.home)
	time.Sleep(settle)
	usage := p.agent.usage()
	res := &pairedResult{}
	for i := 0; i < pairs; i++ {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for _, observed := range []bool{i%2 == 0, i%2 == 1} {
			dir := p.cg.plain
			if observed {
				dir = p.cg.observed
			}
			if err := enter(dir); err != nil {
				return nil, err
			}
			v, err := run(observed)
			if err != nil {
				return nil, fmt.Errorf("%s half: %w", filepath.Base(dir), err)
			}
			if observed {
				res.observed = append(res.observed, v)
			} else {
				res.plain = append(res.plain, v)
			}
		}
		if (i+1)%max(pairs/5, 1) == 0 {
			fmt.Printf("  %s: %d of %d pairs, median ratio so far %.1f%%\n", name, i+1, pairs, 100*medianRatio(res))
		}
	}
	res.agentCores, _, _ = usage()
	return res, nil
}

// pairSummary condenses a paired run. ratio is the median pair ratio with the
// agent's own CPU charged to it: the agent ran through both halves, taking
// agentCores from each, but all of its work was for the observed half, so
// with every connection observed it would take twice that from the workload
// of a machine with ncpu cores.
type pairSummary struct {
	observed, plain float64 // median connections/s
	median, q1, q3  float64 // pair ratios observed/plain
	ratio           float64
}

func summarizePairs(r *pairedResult, ncpu int) pairSummary {
	q := quartiles(r.ratios())
	s := pairSummary{observed: quartiles(r.observed)[1], plain: quartiles(r.plain)[1], q1: q[0], median: q[1], q3: q[2]}
	s.ratio = s.median * (1 - 2*r.agentCores/float64(ncpu))
	return s
}

func (r *pairedResult) ratios() []float64 {
	ratios := make([]float64, len(r.observed))
	for i := range r.observed {
		ratios[i] = r.observed[i] / r.plain[i]
	}
	return ratios
}

func medianRatio(r *pairedResult) float64 { return quartiles(r.ratios())[1] }

// quartiles returns the lower quartile, median and upper quartile of v.
func quartiles(v []float64) [3]float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	at := func(f float64) float64 { return s[int(f*float64(len(s)-1)+0.5)] }
	return [3]float64{at(0.25), at(0.5), at(0.75)}
}

// pairedParts measures bulk throughput and the connection rate as pairs with
// one agent, and returns the report lines and the unobserved connection rate.
// The agent's tracepoints, unlike its cgroup programs, are global: they also
// run for the unobserved sockets and turn them away on their first load,
// tens of nanoseconds per connection, which the unobserved half pays too.
func pairedParts(ctx context.Context, nw *testnet.Net, want func(string) bool) (lines []string, baselineRate float64, err error) {
	cli, srv := nw.Hosts[0], nw.Hosts[1]
	pr, err := startPaired(*cgroup, nw.ID)
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if cerr := pr.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if want("throughput") {
		ports := map[bool]int{true: 5201, false: 5202}
		var servers []*exec.Cmd
		defer func() {
			for _, c := range servers {
				_ = c.Process.Kill()
				_ = c.Wait()
			}
		}()
		if err := pr.inEach(func(observed bool) error {
			c := exec.Command("ip", "netns", "exec", srv.NS, "iperf3", "-s", "-B", srv.Addr.String(), "-p", strconv.Itoa(ports[observed]))
			if err := c.Start(); err != nil {
				return fmt.Errorf("start iperf3 server: %w", err)
			}
			servers = append(servers, c)
			return nil
		}); err != nil {
			return nil, 0, err
		}
		res, err := pr.measure(ctx, "throughput", *tpPairs, func(observed bool) (float64, error) {
			return iperf(cli, srv.Addr, ports[observed], *tpHalf)
		})
		if err != nil {
			return nil, 0, fmt.Errorf("throughput: %w", err)
		}
		r := summarizePairs(res, runtime.NumCPU())
		lines = append(lines, fmt.Sprintf("%-44s baseline %6.2f Gb/s, agent %6.2f Gb/s: %5.1f%%   target >= 99%%",
			"bulk TCP throughput (iperf3, 1 stream)", r.plain/1e9, r.observed/1e9, 100*r.ratio), r.detail(*tpPairs, fmt.Sprintf("%ds", *tpHalf), res))
		runs, perSec, err := pr.kernelCost(func() error {
			_, err := iperf(cli, srv.Addr, ports[true], 3)
			return err
		})
		if err != nil {
			return nil, 0, fmt.Errorf("throughput: %w", err)
		}
		lines = append(lines, fmt.Sprintf("    its kernel programs during one more observed stream (3s): %.1f ms per second, %.0f runs per second (bpf_stats)",
			perSec.Seconds()*1e3, runs))
	}
	if want("connrate") {
		// Connect, send 64 bytes, wait for the server's close.
		ports := map[bool]int{true: 7100, false: 7101}
		var servers []*rawServer
		defer func() {
			for _, s := range servers {
				s.Close()
			}
		}()
		if err := pr.inEach(func(observed bool) error {
			s, err := startRawServer(srv, ports[observed], 4)
			if err != nil {
				return err
			}
			servers = append(servers, s)
			return nil
		}); err != nil {
			return nil, 0, err
		}
		res, err := pr.measure(ctx, "connections/s", *pairs, func(observed bool) (float64, error) {
			return rawConnRate(cli, netip.AddrPortFrom(srv.Addr, uint16(ports[observed])), *half, 0)
		})
		if err != nil {
			return nil, 0, fmt.Errorf("connection rate: %w", err)
		}
		r := summarizePairs(res, runtime.NumCPU())
		baselineRate = r.plain
		lines = append(lines, fmt.Sprintf("%-44s baseline %8.0f/s, agent %8.0f/s: %5.1f%%   target >= 95%%",
			"short connections (connect-send-close)", r.plain, r.observed, 100*r.ratio), r.detail(*pairs, half.String(), res))
	}
	return lines, baselineRate, nil
}

func (s pairSummary) detail(pairs int, half string, r *pairedResult) string {
	return fmt.Sprintf("    %d pairs of %s: pair ratios %.1f-%.1f%% (quartiles), median %.1f%%; the agent's own %.3f core counted in",
		pairs, half, 100*s.q1, 100*s.q3, 100*s.median, r.agentCores)
}
