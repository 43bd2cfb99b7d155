// Package agent wires the probe, the aggregator, the window store and the
// metrics together and runs the window loop.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"flowlens.dev/agent/internal/flow"
	"flowlens.dev/agent/internal/metrics"
	"flowlens.dev/agent/internal/probe"
	"flowlens.dev/agent/internal/server"
)

// Config configures one agent.
type Config struct {
	Probe     probe.Config
	Interval  time.Duration
	Retention time.Duration // how long /v1/flows can look back
	// MaxStored caps the records kept for /v1/flows (0: no cap beyond Retention).
	MaxStored int
	Node      string
	Labels    flow.Labeler
	Log       *slog.Logger
}

// MinInterval is the shortest window the agent accepts.
const MinInterval = time.Second

// Agent is a running node agent.
type Agent struct {
	cfg     Config
	probe   *probe.Probe
	agg     *flow.Aggregator
	Store   *server.Store
	Metrics *metrics.Metrics

	mu     sync.Mutex // serialises windows (the loop, Flush from tests, Close)
	start  time.Time
	closed bool
}

// New loads and attaches the kernel programs and picks up where a previous
// agent on this node stopped (pinned maps and its handoff).
func New(cfg Config) (*Agent, error) {
	if cfg.Interval < MinInterval {
		return nil, fmt.Errorf("interval %s is below the minimum %s", cfg.Interval, MinInterval)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	p, err := probe.Load(cfg.Probe)
	if err != nil {
		return nil, err
	}
	if p.Reset {
		cfg.Log.Warn("pinned maps were incompatible and have been recreated empty", "dir", cfg.Probe.PinDir)
	}
	tcpDone, udpDone, err := p.TakeHandoff()
	if err != nil {
		p.Close()
		return nil, err
	}
	lo, hi := ephemeralRange()
	maxStored := cfg.MaxStored
	if maxStored <= 0 {
		maxStored = math.MaxInt
	}
	a := &Agent{cfg: cfg, probe: p,
		agg:     flow.NewAggregator(p, cfg.Labels, cfg.Node, lo, hi, tcpDone, udpDone),
		Store:   server.NewStore(cfg.Node, cfg.Retention, maxStored),
		Metrics: metrics.New(cfg.Node),
		start:   time.Now().UTC(),
	}
	cfg.Log.Info("probe attached", "cgroup", cfg.Probe.CgroupPath, "pinned", p.Pinned,
		"resumedConnections", len(tcpDone), "resumedUDP", len(udpDone))
	return a, nil
}

// ephemeralRange reads the client port range used to tell UDP clients from servers.
func ephemeralRange() (uint16, uint16) {
	var lo, hi uint16 = 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		_, _ = fmt.Sscan(string(b), &lo, &hi)
	}
	return lo, hi
}

// Run closes a window every interval until ctx ends.
func (a *Agent) Run(ctx context.Context) {
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.Flush(); err != nil {
				a.cfg.Log.Error("window", "err", err)
			}
		}
	}
}

// Flush closes the current window now and publishes it.
func (a *Agent) Flush() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	return a.flushLocked()
}

func (a *Agent) flushLocked() error {
	begin := time.Now()
	end := begin.UTC()
	recs, err := a.agg.Collect(a.start, end)
	if err != nil {
		return err
	}
	a.start = end
	a.Metrics.Observe(recs)
	a.Store.Publish(end, recs)
	dc, du, err := a.probe.Dropped()
	if err != nil {
		return err
	}
	tc, tu := a.agg.Tracked()
	cc, cu := a.probe.Capacity()
	a.Metrics.Window(time.Since(begin), tc, tu, int(cc), int(cu), dc, du)
	return nil
}

// Close publishes a last, partial window, hands what it reported to the next
// agent and detaches the programs.
func (a *Agent) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	err := a.flushLocked()
	if a.probe.Pinned {
		tcp, udp := a.agg.Handoff()
		if herr := a.probe.SaveHandoff(tcp, udp); herr != nil && err == nil {
			err = herr
		}
	}
	if cerr := a.probe.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// Unpin removes the pinned maps (tests, and uninstalling the agent).
func (a *Agent) Unpin() error { return a.probe.Unpin() }
