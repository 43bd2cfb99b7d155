package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Network namespaces of this test are named nsPrefix<pid>-<random>-{s,c}; the pid lets a later run
// remove what a killed run left behind without touching a concurrent run's.
const nsPrefix = "fl-demoapp-"

func ipTool(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	for _, p := range []string{"ip", "/usr/sbin/ip", "/sbin/ip"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("needs iproute2 (ip)")
	return ""
}

func mustRun(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// removeStaleNamespaces deletes namespaces of earlier runs whose process is gone.
func removeStaleNamespaces(ip string) {
	out, _ := exec.Command(ip, "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, nsPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || syscall.Kill(pid, 0) == syscall.ESRCH {
			exec.Command(ip, "netns", "del", name).Run()
		}
	}
}

// netPair is two network namespaces joined by a veth pair: a server at serverIP, a client at clientIP.
type netPair struct {
	server, client     string // namespace names
	serverIP, clientIP string
}

// newNetPair creates the namespaces and removes them (with the veth pair) when the test ends,
// whether it passes or not.
func newNetPair(t *testing.T, ip string) *netPair {
	t.Helper()
	removeStaleNamespaces(ip)
	tag := fmt.Sprintf("%06x", rand.Uint32()&0xffffff)
	x := 200 + rand.IntN(50)
	p := &netPair{
		server:   fmt.Sprintf("%s%d-%s-s", nsPrefix, os.Getpid(), tag),
		client:   fmt.Sprintf("%s%d-%s-c", nsPrefix, os.Getpid(), tag),
		serverIP: fmt.Sprintf("198.18.%d.1", x),
		clientIP: fmt.Sprintf("198.18.%d.2", x),
	}
	t.Cleanup(func() {
		for _, ns := range []string{p.server, p.client} {
			exec.Command(ip, "netns", "del", ns).Run()
		}
	})
	vs, vc := "flda"+tag+"s", "flda"+tag+"c" // at most 15 characters
	mustRun(t, ip, "netns", "add", p.server)
	mustRun(t, ip, "netns", "add", p.client)
	mustRun(t, ip, "link", "add", vs, "netns", p.server, "type", "veth", "peer", "name", vc, "netns", p.client)
	for _, side := range []struct{ ns, dev, addr string }{{p.server, vs, p.serverIP}, {p.client, vc, p.clientIP}} {
		mustRun(t, ip, "-n", side.ns, "addr", "add", side.addr+"/30", "dev", side.dev)
		mustRun(t, ip, "-n", side.ns, "link", "set", side.dev, "up")
		mustRun(t, ip, "-n", side.ns, "link", "set", "lo", "up")
	}
	return p
}

// tcpCounter reads one Tcp counter of /proc/net/snmp inside ns.
func tcpCounter(t *testing.T, ip, ns, name string) int64 {
	t.Helper()
	out := mustRun(t, ip, "netns", "exec", ns, "cat", "/proc/net/snmp")
	var header []string
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "Tcp:" {
			continue
		}
		if header == nil {
			header = fields
			continue
		}
		for i, h := range header {
			if h == name && i < len(fields) {
				n, _ := strconv.ParseInt(fields[i], 10, 64)
				return n
			}
		}
	}
	t.Fatalf("no Tcp %s in /proc/net/snmp of %s", name, ns)
	return 0
}

func readStats(t *testing.T, path string) statsFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f statsFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// TestNetnsServerAndClient runs the built binary as a server (HTTP on three ports, DNS with a records
// file) in one network namespace and as a client in another, calling the server by name through the
// resolver, by IP, a name that does not exist and a port nobody serves. It checks from the server's
// side that calls and DNS lookups arrive at the configured rates with exact body sizes, from the
// server's kernel that the failed connects were refused on the wire, and the logs and exits of both.
func TestNetnsServerAndClient(t *testing.T) {
	ip := ipTool(t)
	bin := demoAppBinary(t)
	n := newNetPair(t, ip)
	dir := t.TempDir()
	records := writeFile(t, dir, "records.json", fmt.Sprintf(
		`{"catalog.shop.svc.cluster.local": [%q], "carts.shop.svc.cluster.local": [%q]}`, n.serverIP, n.serverIP))
	serverStats, clientStats := filepath.Join(dir, "server.json"), filepath.Join(dir, "client.json")

	srv := startProc(t, ip, "netns", "exec", n.server, bin, "--name", "catalog-0",
		"--http", "8080", "--http", "8081", "--http", "9090",
		"--dns", "53", "--dns-records", records, "--stats", serverStats)
	srv.waitLog(t, 5*time.Second, "msg=listening", "proto=dns/tcp")
	rstsBefore := tcpCounter(t, ip, n.server, "OutRsts")

	type callCase struct {
		spec             string
		rate             float64
		reqBytes, rspBts int64
		port             uint16
	}
	calls := []callCase{
		{"http://catalog.shop.svc.cluster.local:8080/items|5|256|4096", 5, 256, 4096, 8080},
		{"http://carts.shop.svc.cluster.local:9090/cart|2|1000|0", 2, 1000, 0, 9090},
		{"http://" + n.serverIP + ":8081/direct|2|0|100000", 2, 0, 100000, 8081},
	}
	const missingRate, refusedRate = 1.0, 3.0
	args := []string{"netns", "exec", n.client, bin, "--name", "ui-0", "--jitter",
		"--resolver", n.serverIP + ":53", "--stats", clientStats}
	for _, c := range calls {
		args = append(args, "--call", c.spec)
	}
	args = append(args, "--call", "http://missing.shop.svc.cluster.local:8080/|1|1|1",
		"--connect", "catalog.shop.svc.cluster.local:7|3")
	start := time.Now()
	cli := startProc(t, append([]string{ip}, args...)...)
	time.Sleep(6 * time.Second)
	cli.stop(t, syscall.SIGTERM)
	d := time.Since(start).Seconds()
	srv.stop(t, syscall.SIGINT)

	s, c := readStats(t, serverStats), readStats(t, clientStats)
	within := func(what string, got int64, rate float64) {
		t.Helper()
		want := rate * d
		if float64(got) < want*0.85-2 || float64(got) > want*1.15+2 {
			t.Errorf("%s: %d in %.1f s, want %.1f (%g/s)", what, got, d, want, rate)
		}
	}

	// HTTP, from the server: rates, and bodies exactly as configured.
	httpByPort := map[uint16]httpSnapshot{}
	for _, h := range s.HTTP {
		httpByPort[h.Port] = h
	}
	for i, cc := range calls {
		h := httpByPort[cc.port]
		within("requests at :"+strconv.Itoa(int(cc.port)), h.Requests, cc.rate)
		if h.RequestBytes != h.Requests*cc.reqBytes || h.ResponseBytes != h.Requests*cc.rspBts || h.BadRequests != 0 {
			t.Errorf(":%d: %d requests, %d request bytes, %d response bytes, %d bad; want %d and %d bytes each",
				cc.port, h.Requests, h.RequestBytes, h.ResponseBytes, h.BadRequests, cc.reqBytes, cc.rspBts)
		}
		// The client stopped first: the server may have answered a call the client gave up on at the signal.
		if cs := c.Calls[i]; cs.Errors != 0 || h.Requests < cs.OK || h.Requests > cs.OK+2 {
			t.Errorf("%s: client ok %d errors %d, server requests %d", cc.spec, cs.OK, cs.Errors, h.Requests)
		}
	}

	// DNS, from the server: one query per call or connect by name, none for the call by IP.
	missing, refused := c.Calls[3], c.Connects[0]
	within("DNS queries", s.DNS.Queries, calls[0].rate+calls[1].rate+missingRate+refusedRate)
	within("NXDOMAIN answers", s.DNS.NXDomain, missingRate)
	if s.DNS.UDP != s.DNS.Queries || s.DNS.Malformed != 0 || s.DNS.Answered+s.DNS.NXDomain != s.DNS.Queries {
		t.Errorf("server DNS counters %+v", s.DNS)
	}
	lookups := c.Calls[0].Lookups + c.Calls[1].Lookups + c.Calls[2].Lookups + missing.Lookups + refused.Lookups
	if c.Calls[2].Lookups != 0 || s.DNS.Queries < lookups-2 || s.DNS.Queries > lookups {
		t.Errorf("client lookups %d (by IP %d), server queries %d", lookups, c.Calls[2].Lookups, s.DNS.Queries)
	}
	within("calls to a missing name", missing.Errors, missingRate)
	if missing.OK != 0 || missing.LookupErrors != missing.Attempts {
		t.Errorf("missing name: %+v", missing)
	}

	// Failed connects: counted by the client, and refused by the server's kernel with a reset each.
	within("refused connects", refused.Errors, refusedRate)
	if refused.OK != 0 || refused.LookupErrors != 0 {
		t.Errorf("refused connects: %+v", refused)
	}
	if rsts := tcpCounter(t, ip, n.server, "OutRsts") - rstsBefore; rsts < refused.Errors {
		t.Errorf("server sent %d resets, client saw %d refused connects", rsts, refused.Errors)
	}

	// Logs: one line per event class, failures throttled to one per target per 10 s.
	sl, cl := srv.stderr.String(), cli.stderr.String()
	for _, want := range [][]string{
		{"msg=start", "name=catalog-0"}, {"msg=listening", "proto=http", ":8080"}, {"msg=listening", "proto=http", ":8081"},
		{"msg=listening", "proto=http", ":9090"}, {"msg=listening", "proto=dns/udp", ":53", "names=2"},
		{"msg=stopping"},
	} {
		if countLines(sl, want...) != 1 {
			t.Errorf("server log: want one line with %q", want)
		}
	}
	for _, want := range [][]string{
		{"msg=start", "name=ui-0"}, {"msg=stopping"},
		{`msg="first success"`, "catalog.shop.svc.cluster.local:8080", `server=\"catalog-0\"`},
		{`msg="first success"`, "carts.shop.svc.cluster.local:9090"},
		{`msg="first success"`, ":8081/direct"},
		{`msg="call failed"`, "missing.shop.svc.cluster.local", "NXDOMAIN"},
		{`msg="connect failed"`, "connection refused"},
	} {
		if countLines(cl, want...) != 1 {
			t.Errorf("client log: want one line with %q", want)
		}
	}
	// start, three first successes, two throttled failures, stopping: nothing else.
	if countLines(cl, "msg=") != 7 {
		t.Errorf("client log: want 7 lines:\n%s", cl)
	}
}
