// Command demo-app is the traffic program of the FlowLens sandbox: one instance runs in the network
// namespace of every simulated pod, serving HTTP and DNS like the pod's containers would and calling
// the pod's dependencies at fixed rates, so the agents see real TCP and UDP flows.
//
// Usage (flags as "--flag value" or "--flag=value"):
//
//	demo-app [flags]
//	  --name <string>        identity, returned in the X-Demo-Server response header and used in logs
//	                         (default "demo-app")
//	  --http <port>          serve HTTP on this TCP port (repeatable). Any method and path answers 200 with
//	                         a body of ?size=<bytes> bytes (default 1024, at most 64 MiB; anything else is
//	                         400); the request body is read fully and discarded.
//	  --dns <port>           serve DNS on UDP and TCP <port>: A answers for names in --dns-records, empty
//	                         NOERROR for other types (AAAA) of known names, NXDOMAIN for unknown names. TTL 5.
//	  --dns-records <file>   JSON {"catalog.shop.svc.cluster.local": ["198.19.128.12"], ...}; names are
//	                         case-insensitive, addresses IPv4. Re-read when the file changes (mtime, size or
//	                         inode; checked at most once a second, by queries). A bad file is an error at
//	                         start; later, a bad version is logged and the previous records stay.
//	  --resolver <ip:port>   DNS server used for every name in --call/--connect: one UDP A query per call
//	                         from a fresh socket, no caching. Required when any of them names a host.
//	  --call <spec>          repeatable; "<url>|<calls per second>|<request bytes>|<response bytes>", e.g.
//	                         "http://catalog.shop.svc.cluster.local:80/items|2|256|4096": a POST with a body
//	                         of <request bytes> to <url>?size=<response bytes>, on a new TCP connection per
//	                         call (Connection: close), timeout 2 s including the lookup. A call succeeds when
//	                         the answer is 200 with exactly <response bytes> of body.
//	  --connect <spec>       repeatable; "<host:port>|<attempts per second>": a bare TCP connect then close
//	                         (timeout 2 s), to produce failed connections to a port nobody serves.
//	  --jitter               spread call times randomly (each period 0.7-1.3 x the mean) instead of fixed.
//	  --stats <file>         write the counters below as JSON to <file> every second and at exit
//	                         (replaced atomically).
//
// Rates are per target and may be fractional (0 < rate <= 1000). Each target's first call comes at a
// random point of its first period. Calls overlap when the server is slow, up to what the timeout
// allows; a target that does not resolve, refuses or times out never delays the others.
//
// The process runs until SIGTERM or SIGINT and then exits 0 within a second. A usage error exits 2,
// a failure to start (port taken, bad records file) exits 1. It logs to stderr, one line per event
// class: start, listening (per port and protocol), first success per target, failures at most once
// per 10 s per target (with the number held back), records reloads, stopping.
//
// The --stats file:
//
//	{"name": "...", "time": "<RFC3339>", "uptimeSeconds": 12.3,
//	 "http": [{"port": 80, "requests": 0, "requestBytes": 0, "responseBytes": 0, "badRequests": 0}],
//	 "dns": {"queries": 0, "udp": 0, "tcp": 0, "answered": 0, "empty": 0, "nxdomain": 0, "malformed": 0},
//	 "calls": [{"spec": "<as given>", "attempts": 0, "ok": 0, "errors": 0, "lookups": 0,
//	            "lookupErrors": 0, "requestBytes": 0, "responseBytes": 0}],
//	 "connects": [{"spec": "<as given>", "attempts": 0, "ok": 0, "errors": 0, "lookups": 0, "lookupErrors": 0}]}
//
// Server side: http requests counts whole exchanges (body read to its end, 200 written to its end),
// requestBytes and responseBytes the bodies of those, so they are exact multiples of the sizes asked
// for; badRequests counts bad ?size values and exchanges cut short. dns counts queries received and
// how each was answered ("malformed": FORMERR, NOTIMP or not answered). Client side, per target in
// flag order: attempts = ok + errors, leaving out calls cut short by shutdown; lookups counts DNS
// queries sent, lookupErrors those that failed (and so failed the call); the byte counters count the
// bodies of successful calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// shutdownGrace bounds the wait for loops and servers after a signal, well within the 1 s promise.
const shutdownGrace = 600 * time.Millisecond

func main() {
	cfg, err := parseArgs(os.Args[1:])
	if errors.Is(err, errHelp) {
		fmt.Print(usage)
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo-app: %v\n%s", err, usage)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("name", cfg.name)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("cannot start", "err", err.Error())
		os.Exit(1)
	}
}

// run binds every port first, so a taken port fails the start before any traffic is sent, then runs
// servers and client loops until ctx ends.
func run(ctx context.Context, cfg *config, log *slog.Logger) error {
	st := newStats(cfg)
	var listeners []net.Listener
	closeAll := func() {
		for _, ln := range listeners {
			ln.Close()
		}
	}
	for _, port := range cfg.httpPorts {
		ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(int(port))))
		if err != nil {
			closeAll()
			return fmt.Errorf("--http %d: %w", port, err)
		}
		listeners = append(listeners, ln)
	}
	var dns *dnsServer
	if cfg.dnsPort != 0 {
		rec, err := newRecords(cfg.dnsRecords, log)
		if err == nil {
			dns, err = listenDNS(cfg.dnsPort, rec, &st.dns, log)
		}
		if err != nil {
			closeAll()
			return fmt.Errorf("--dns %d: %w", cfg.dnsPort, err)
		}
	}
	if cfg.statsFile != "" {
		if err := st.writeFile(cfg.statsFile); err != nil {
			closeAll()
			return fmt.Errorf("--stats: %w", err)
		}
	}

	log.Info("start", "pid", os.Getpid(), "http", fmt.Sprint(cfg.httpPorts), "dns", cfg.dnsPort,
		"calls", len(cfg.calls), "connects", len(cfg.connects), "jitter", cfg.jitter, "args", strings.Join(os.Args[1:], " "))

	var wg sync.WaitGroup
	spawn := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	for i, ln := range listeners {
		h := &httpHandler{name: cfg.name, stats: st.http[i]}
		log.Info("listening", "proto", "http", "addr", ln.Addr().String())
		spawn(func() { serveHTTP(ctx, ln, h, log) })
	}
	if dns != nil {
		spawn(func() { dns.serve(ctx) })
	}
	tr := &traffic{name: cfg.name, jitter: cfg.jitter, log: log}
	if cfg.resolver.IsValid() {
		tr.resolver = &resolver{server: cfg.resolver}
	}
	for _, c := range st.calls {
		spawn(func() { tr.runCall(ctx, c) })
	}
	for _, c := range st.connects {
		spawn(func() { tr.runConnect(ctx, c) })
	}
	if cfg.statsFile != "" {
		spawn(func() { writeStatsEverySecond(ctx, st, cfg.statsFile, log) })
	}

	<-ctx.Done()
	log.Info("stopping")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		log.Warn("stopping without waiting for every loop")
	}
	if cfg.statsFile != "" {
		if err := st.writeFile(cfg.statsFile); err != nil {
			log.Warn("writing stats failed", "err", err.Error())
		}
	}
	return nil
}

func writeStatsEverySecond(ctx context.Context, st *stats, path string, log *slog.Logger) {
	errLog := newThrottle(errorLogPeriod)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := st.writeFile(path); err != nil {
			if ok, held := errLog.allow(); ok {
				log.Warn("writing stats failed", "err", err.Error(), "suppressed", held)
			}
		}
	}
}
