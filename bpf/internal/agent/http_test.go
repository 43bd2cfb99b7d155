package agent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"flowlens.dev/agent/internal/flow"
	"flowlens.dev/agent/internal/labels"
	"flowlens.dev/agent/internal/server"
)

var (
	omSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( \S+)?$`)
	omLabel  = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)`)
	omSuffix = map[string][]string{
		"counter": {"_total", "_created"}, "gauge": {""}, "unknown": {""}, "histogram": {"_bucket", "_count", "_sum", "_created"},
		"summary": {"", "_count", "_sum", "_created"}, "info": {"_info"}, "stateset": {""}, "gaugehistogram": {"_bucket", "_gcount", "_gsum"},
	}
)

// parseOpenMetrics checks the exposition against the OpenMetrics 1.0 text
// format (families declared before and contiguous with their samples, sample
// names matching the family type, well-formed labels and values, # EOF last)
// and returns the samples as "name{k="v",...}" (labels sorted) -> value.
func parseOpenMetrics(body string) (map[string]float64, error) {
	if !strings.HasSuffix(body, "# EOF\n") {
		return nil, fmt.Errorf("does not end with # EOF")
	}
	lines := strings.Split(strings.TrimSuffix(body, "# EOF\n"), "\n")
	out := map[string]float64{}
	family, typ := "", ""
	done := map[string]bool{}
	for i, l := range lines[:len(lines)-1] {
		fail := func(why string) error { return fmt.Errorf("line %d %q: %s", i+1, l, why) }
		if strings.HasPrefix(l, "# ") {
			f := strings.SplitN(l, " ", 4)
			if len(f) < 4 {
				return nil, fail("short metadata line")
			}
			switch f[1] {
			case "TYPE":
				if done[f[2]] {
					return nil, fail("family declared twice")
				}
				if _, ok := omSuffix[f[3]]; !ok {
					return nil, fail("unknown type")
				}
				done[f[2]] = true
				family, typ = f[2], f[3]
			case "HELP", "UNIT":
				if f[2] != family && done[f[2]] {
					return nil, fail("metadata for a closed family")
				}
			default:
				return nil, fail("unknown metadata")
			}
			continue
		}
		m := omSample.FindStringSubmatch(l)
		if m == nil {
			return nil, fail("not a sample")
		}
		name, ok := m[1], false
		for _, s := range omSuffix[typ] {
			ok = ok || name == family+s
		}
		if !ok {
			return nil, fail(fmt.Sprintf("sample outside its family %s (%s)", family, typ))
		}
		var pairs []string
		for rest := m[3]; rest != ""; {
			lm := omLabel.FindStringSubmatch(rest)
			if lm == nil {
				return nil, fail("bad labels")
			}
			pairs = append(pairs, lm[1]+`="`+lm[2]+`"`)
			rest = rest[len(lm[0]):]
		}
		sort.Strings(pairs)
		v, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			return nil, fail("bad value")
		}
		out[name+"{"+strings.Join(pairs, ",")+"}"] = v
	}
	return out, nil
}

func scrape(t *testing.T, a *Agent) map[string]float64 {
	t.Helper()
	srv := httptest.NewServer(a.Metrics.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("content type %q", ct)
	}
	body, _ := io.ReadAll(resp.Body)
	m, err := parseOpenMetrics(string(body))
	if err != nil {
		t.Fatalf("/metrics is not OpenMetrics: %v", err)
	}
	return m
}

// /metrics parses as OpenMetrics and the per-pod counters (EKS names) equal
// both the flow records and what the test's pods actually sent.
func TestMetricsOpenMetricsMatchFlows(t *testing.T) {
	requireKernel(t)
	nw := newNet(t, 2)
	cli, srvHost := nw.Hosts[0], nw.Hosts[1]
	table := labels.NewTable("test-node")
	clientPod, serverPod := "client-"+nw.ID, "server-"+nw.ID
	table.SetPod(cli.Addr, labels.Pod{Namespace: "shop", Name: clientPod, Workload: &flow.Workload{Kind: "Deployment", Name: "client"}})
	table.SetPod(srvHost.Addr, labels.Pod{Namespace: "shop", Name: serverPod})
	a := newAgent(t, func(c *Config) { c.Labels = table })

	srv, got := tcpServer(t, srvHost, 0)
	var tcpSent, tcpRecv int64
	for _, s := range [][2]int{{5000, 100}, {300, 90000}} {
		out, in := exchange(t, cli, srv, s[0], s[1])
		<-got
		tcpSent, tcpRecv = tcpSent+out, tcpRecv+in
	}
	usrv := udpEcho(t, srvHost, 53)
	uSent, uRecv := query(t, cli, usrv, []int{40, 80})
	wantOut, wantIn := uint64(tcpSent)+uint64(uSent), uint64(tcpRecv)+uint64(uRecv)

	recs := settle(t, a, func(r []flow.Record) bool {
		c, _ := sum(r, flow.TCP, cli.Addr, srvHost.Addr, srv.Port(), flow.ObservedServer)
		return c.Connections >= 2 && c.BytesToClient >= uint64(tcpRecv)
	})
	var rec flow.Record
	for _, r := range recs {
		if r.Client.IP == cli.Addr.String() && r.ObservedAt == flow.ObservedClient && r.Protocol == flow.TCP {
			rec = r
		}
	}
	if rec.Client.Pod != clientPod || rec.Client.Namespace != "shop" || rec.Client.Workload == nil ||
		rec.Client.Workload.Name != "client" || rec.Server.Pod != serverPod || rec.Client.Node != "test-node" {
		t.Errorf("record not enriched: %+v", rec)
	}

	m := scrape(t, a)
	get := func(name, pod string) uint64 {
		k := fmt.Sprintf(`%s{namespace="shop",node="test-node",pod=%q}`, name, pod)
		v, ok := m[k]
		if !ok {
			t.Errorf("missing %s", k)
		}
		return uint64(v)
	}
	// From the records, as the metrics should have been derived.
	var fromRecs = map[string]map[string]uint64{clientPod: {}, serverPod: {}}
	for _, r := range recs {
		e := r.LocalEndpoint()
		if fromRecs[e.Pod] == nil {
			continue
		}
		if r.ObservedAt == flow.ObservedClient {
			fromRecs[e.Pod]["egress_bytes_count"] += r.BytesToServer
			fromRecs[e.Pod]["ingress_bytes_count"] += r.BytesToClient
			fromRecs[e.Pod]["egress_pkt_count"] += r.PacketsToServer
			fromRecs[e.Pod]["ingress_pkt_count"] += r.PacketsToClient
			fromRecs[e.Pod]["egress_flow_count"] += r.Connections
		} else {
			fromRecs[e.Pod]["ingress_bytes_count"] += r.BytesToServer
			fromRecs[e.Pod]["egress_bytes_count"] += r.BytesToClient
			fromRecs[e.Pod]["ingress_pkt_count"] += r.PacketsToServer
			fromRecs[e.Pod]["egress_pkt_count"] += r.PacketsToClient
			fromRecs[e.Pod]["ingress_flow_count"] += r.Connections
		}
	}
	for pod, want := range fromRecs {
		for _, name := range []string{"ingress_flow_count", "egress_flow_count", "ingress_pkt_count", "egress_pkt_count", "ingress_bytes_count", "egress_bytes_count"} {
			if got := get(name, pod); got != want[name] {
				t.Errorf("%s{pod=%s} = %d, records say %d", name, pod, got, want[name])
			}
		}
	}
	// And against what the test itself sent: 2 TCP connections + 1 UDP socket.
	if get("egress_bytes_count", clientPod) != wantOut || get("ingress_bytes_count", serverPod) != wantOut ||
		get("ingress_bytes_count", clientPod) != wantIn || get("egress_bytes_count", serverPod) != wantIn {
		t.Errorf("bytes: want client egress = server ingress = %d, client ingress = server egress = %d", wantOut, wantIn)
	}
	if get("egress_flow_count", clientPod) != 3 || get("ingress_flow_count", serverPod) != 3 {
		t.Errorf("flow counts: want 3 opened by the client and 3 accepted by the server")
	}
	if _, ok := m[`flowlens_pod_tcp_retransmits{namespace="shop",node="test-node",pod="`+clientPod+`"}`]; !ok {
		t.Error("missing per-pod retransmits")
	}
	if _, ok := m[`flowlens_window_collect_seconds_count{}`]; !ok {
		t.Error("missing window latency histogram")
	}
}

// When the maps are full the kernel counts what it could not track and the
// agent exports it.
func TestMapOverflowCounted(t *testing.T) {
	requireKernel(t)
	nw := newNet(t, 2)
	cli, srvHost := nw.Hosts[0], nw.Hosts[1]
	a := newAgent(t, func(c *Config) { c.Probe.MaxConnections, c.Probe.MaxUDPFlows = 4, 2 })
	srv, _ := tcpServer(t, srvHost, 0)
	const conns = 12
	for i := 0; i < conns; i++ {
		var c net.Conn
		if err := cli.Do(func() (err error) {
			c, err = net.Dial("tcp4", srv.String())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	usrv := udpEcho(t, srvHost, 5353)
	for i := 0; i < 6; i++ {
		query(t, cli, usrv, []int{1})
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	m := scrape(t, a)
	// 12 connections, each with a client and a server socket, fit in 4 entries at best.
	if d := m[`flowlens_dropped{map="conns"}`]; d < 2*conns-4 {
		t.Errorf("dropped connections %v, want at least %d", d, 2*conns-4)
	}
	// 6 sockets x 2 datagrams each way, 2 entries at best.
	if d := m[`flowlens_dropped{map="udp_flows"}`]; d < 10 {
		t.Errorf("dropped datagrams %v, want at least 10", d)
	}
	if f := m[`flowlens_map_fill_ratio{map="conns"}`]; f <= 0 || f > 1 {
		t.Errorf("conns fill ratio %v", f)
	}
}

// The flow API: /v1/flows with and without since, NDJSON stream flushed per
// window, contract field names.
func TestFlowAPI(t *testing.T) {
	requireKernel(t)
	nw := newNet(t, 2)
	cli, srvHost := nw.Hosts[0], nw.Hosts[1]
	a := newAgent(t, nil)
	api := httptest.NewServer(server.APIHandler(a.Store, func() bool { return true }))
	defer api.Close()

	stream, err := http.Get(api.URL + "/v1/flows/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if ct := stream.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("stream content type %q", ct)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	before := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	srv, got := tcpServer(t, srvHost, 0)
	exchange(t, cli, srv, 1000, 2000)
	<-got
	settle(t, a, func(r []flow.Record) bool {
		c, _ := sum(r, flow.TCP, cli.Addr, srvHost.Addr, srv.Port(), flow.ObservedServer)
		return c.BytesToClient >= 2000
	})

	var line map[string]any
	deadline := time.After(5 * time.Second)
	for line == nil {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream ended")
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("stream line is not JSON: %q", l)
			}
			if c, _ := m["client"].(map[string]any); c["ip"] == cli.Addr.String() {
				line = m
			}
		case <-deadline:
			t.Fatal("no streamed record for the test flow")
		}
	}
	for _, k := range []string{"v", "start", "end", "node", "protocol", "client", "server", "observedAt", "bytesToServer",
		"bytesToClient", "packetsToServer", "packetsToClient", "connections", "retransmits", "rto", "rttUs", "resets", "failedConnections"} {
		if _, ok := line[k]; !ok {
			t.Errorf("streamed record lacks %q", k)
		}
	}
	if line["v"] != 1.0 || line["node"] != "test-node" {
		t.Errorf("streamed record %v", line)
	}

	var body server.FlowsResponse
	resp, err := http.Get(api.URL + "/v1/flows?since=" + before)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r, _ := sum(body.Flows, flow.TCP, cli.Addr, srvHost.Addr, srv.Port(), flow.ObservedClient); body.Node != "test-node" || r.BytesToServer != 1008 {
		t.Errorf("/v1/flows: node %q, bytes to server %d", body.Node, r.BytesToServer)
	}
	resp, err = http.Get(api.URL + "/v1/flows?since=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if len(body.Flows) != 0 {
		t.Errorf("since the future: %d flows", len(body.Flows))
	}
	resp, err = http.Get(api.URL + "/v1/flows?since=yesterday")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad since: status %d", resp.StatusCode)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(api.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", p, err, resp)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
}
