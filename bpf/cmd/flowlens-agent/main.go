// Command flowlens-agent is the FlowLens node agent: it attaches the eBPF
// flow probes to the host's cgroup v2 root, aggregates TCP and UDP flows per
// window and serves them as flow records (loopback flow API) and OpenMetrics.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"flowlens.dev/agent/internal/agent"
	"flowlens.dev/agent/internal/labels"
	"flowlens.dev/agent/internal/probe"
	"flowlens.dev/agent/internal/server"
)

func main() {
	if err := run(); err != nil {
		slog.Error("flowlens-agent", "err", err)
		os.Exit(1)
	}
}

func run() error {
	standalone := flag.Bool("standalone", false, "run without Kubernetes (no pod labels)")
	interval := flag.Duration("interval", 5*time.Second, "window length (minimum 1s)")
	apiAddr := flag.String("api-address", "127.0.0.1:9102", "flow API listen address (keep it on loopback: reach it through port-forward)")
	cgroup := flag.String("cgroup", "/sys/fs/cgroup/unified", "cgroup v2 directory to attach to (the root sees every socket)")
	pinDir := flag.String("pin-dir", "/sys/fs/bpf/flowlens", "bpffs directory for maps that survive restarts (\"\" disables)")
	maxConns := flag.Uint("max-connections", 262144, "TCP connections tracked at once")
	maxUDP := flag.Uint("max-udp-flows", 65536, "UDP (socket, peer) pairs tracked at once")
	retention := flag.Duration("retention", 15*time.Minute, "how far back GET /v1/flows can look")
	maxStored := flag.Int("max-stored-records", 500000, "records kept for GET /v1/flows at most (oldest windows dropped first)")
	flag.Parse()

	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slog.SetDefault(log)
	if *interval < agent.MinInterval {
		return fmt.Errorf("parse flags: --interval %s is below %s", *interval, agent.MinInterval)
	}
	metricsOn, metricsAddr, err := openMetricsEnv()
	if err != nil {
		return err
	}
	node := os.Getenv("NODE_NAME")
	if node == "" {
		if *standalone {
			node, _ = os.Hostname()
		} else {
			return errors.New("read NODE_NAME: not set (set it from the downward API, or use --standalone)")
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	table := labels.NewTable(node)
	var synced atomic.Value
	synced.Store(func() bool { return true })
	if *standalone {
		ips, err := labels.InterfaceIPs()
		if err != nil {
			return fmt.Errorf("list interface addresses: %w", err)
		}
		table.SetHostIPs(ips)
	} else {
		client, err := kubeClient()
		if err != nil {
			return err
		}
		s, err := labels.Watch(ctx, client, node, table)
		if err != nil {
			return err
		}
		synced.Store(s)
	}

	pin := *pinDir
	if pin != "" && !isBPFFS(pin) {
		log.Warn("pin directory is not on a bpf filesystem: maps will not survive restarts", "dir", pin)
		pin = ""
	}
	a, err := agent.New(agent.Config{
		Probe:    probe.Config{CgroupPath: *cgroup, PinDir: pin, MaxConnections: uint32(*maxConns), MaxUDPFlows: uint32(*maxUDP)},
		Interval: *interval, Retention: *retention, MaxStored: *maxStored, Node: node, Labels: table, Log: log,
	})
	if err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	ready := func() bool { return synced.Load().(func() bool)() }

	servers := []*http.Server{{Addr: *apiAddr, Handler: server.APIHandler(a.Store, ready), ReadHeaderTimeout: 10 * time.Second}}
	if metricsOn {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.Metrics.Handler())
		server.AddHealth(mux, ready)
		servers = append(servers, &http.Server{Addr: metricsAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second})
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			a.Close()
			return fmt.Errorf("listen on %s: %w", s.Addr, err)
		}
		log.Info("listening", "address", ln.Addr().String())
		go func() { errc <- s.Serve(ln) }()
	}

	go a.Run(ctx)
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("serve HTTP: %w", err)
	}
	// Publish the last partial window before the stream clients go away.
	if cerr := a.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("stop agent: %w", cerr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range servers {
		if s.Shutdown(sctx) != nil {
			s.Close()
		}
	}
	return err
}

// openMetricsEnv reads OPEN_METRICS (on|off, default off), OPEN_METRICS_ADDRESS
// (default 127.0.0.1) and OPEN_METRICS_PORT (default 9101), as the EKS agent does.
func openMetricsEnv() (bool, string, error) {
	on := false
	switch v := os.Getenv("OPEN_METRICS"); v {
	case "", "off":
	case "on":
		on = true
	default:
		return false, "", fmt.Errorf("read OPEN_METRICS: %q is neither on nor off", v)
	}
	host := os.Getenv("OPEN_METRICS_ADDRESS")
	if host == "" {
		host = "127.0.0.1"
	}
	port := os.Getenv("OPEN_METRICS_PORT")
	if port == "" {
		port = "9101"
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return false, "", fmt.Errorf("read OPEN_METRICS_PORT: %q is not a port", port)
	}
	return on, net.JoinHostPort(host, port), nil
}

func kubeClient() (kubernetes.Interface, error) {
	var cfg *rest.Config
	var err error
	if kc := os.Getenv("KUBECONFIG"); kc != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kc)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("load Kubernetes client config: %w", err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client: %w", err)
	}
	return c, nil
}

func isBPFFS(dir string) bool {
	// The directory itself may not exist yet: its parent decides.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		var st syscall.Statfs_t
		if syscall.Statfs(d, &st) == nil {
			return st.Type == 0xcafe4a11
		}
	}
	return false
}
