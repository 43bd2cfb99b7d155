package main

import (
	"context"
	"net"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTrafficLoopback runs call and connect loops against in-process servers on loopback: calls by
// name through the resolver and by IP literal, a name that does not resolve and a refused port, all at
// once, and checks that each loop keeps its rate and that the failing ones stop none of the others.
func TestTrafficLoopback(t *testing.T) {
	hst := &httpStats{port: 80}
	srv := httptest.NewServer(&httpHandler{name: "catalog-1", stats: hst})
	defer srv.Close()
	httpPort := srv.Listener.Addr().(*net.TCPAddr).Port

	path := writeFile(t, t.TempDir(), "r.json", `{"catalog.shop.svc.cluster.local": ["127.0.0.1"]}`)
	rec, err := newRecords(path, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	dns, dst := startDNS(t, rec)

	// A port nobody serves: bind then close, so the kernel refuses it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()

	p := strconv.Itoa(httpPort)
	cfg, err := parseArgs([]string{
		"--resolver", dns.udp.LocalAddr().String(),
		"--call", "http://catalog.shop.svc.cluster.local:" + p + "/items|20|256|4096",
		"--call", "http://127.0.0.1:" + p + "/|10|0|0",
		"--call", "http://missing.shop.svc.cluster.local:" + p + "/|10|1|1",
		"--connect", refused + "|10",
		"--connect", "catalog.shop.svc.cluster.local:" + p + "|5",
	})
	if err != nil {
		t.Fatal(err)
	}
	st := newStats(cfg)
	tr := &traffic{name: "cli", resolver: &resolver{server: cfg.resolver}, log: discardLog()}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, c := range st.calls {
		wg.Go(func() { tr.runCall(ctx, c) })
	}
	for _, c := range st.connects {
		wg.Go(func() { tr.runConnect(ctx, c) })
	}
	const run = 2 * time.Second
	time.Sleep(run)
	cancel()
	wg.Wait()

	within := func(what string, got int64, rate float64) {
		t.Helper()
		want := rate * run.Seconds()
		if float64(got) < want*0.8-1 || float64(got) > want*1.2+1 {
			t.Errorf("%s: %d in %s, want about %.0f", what, got, run, want)
		}
	}
	f := st.snapshot()
	byName, byIP, missing := f.Calls[0], f.Calls[1], f.Calls[2]
	within("calls by name", byName.OK, 20)
	within("calls by IP", byIP.OK, 10)
	within("calls to a missing name", missing.Errors, 10)
	within("refused connects", f.Connects[0].Errors, 10)
	within("connects by name", f.Connects[1].OK, 5)
	if byName.Errors+byIP.Errors+f.Connects[1].Errors != 0 || missing.OK+f.Connects[0].OK != 0 {
		t.Errorf("unexpected outcomes: %+v", f)
	}
	// A call cut short by the shutdown has sent its query but counts as no attempt (see main.go), so
	// a lookup or two more than attempts is right; fewer, or none by IP, is not.
	onePerCall := func(lookups, attempts int64) bool { return lookups >= attempts && lookups <= attempts+2 }
	if !onePerCall(byName.Lookups, byName.Attempts) || byIP.Lookups != 0 || !onePerCall(missing.LookupErrors, missing.Attempts) ||
		f.Connects[0].Lookups != 0 || !onePerCall(f.Connects[1].Lookups, f.Connects[1].Attempts) {
		t.Errorf("one lookup per call by name, none by IP: %+v", f)
	}
	if byName.RequestBytes != 256*byName.OK || byName.ResponseBytes != 4096*byName.OK || byIP.ResponseBytes != 0 {
		t.Errorf("client byte counts: %+v", byName)
	}
	// The server saw exactly the calls that succeeded, with exact body sizes.
	if hst.requests.Load() != byName.OK+byIP.OK || hst.requestBytes.Load() != 256*byName.OK ||
		hst.responseBytes.Load() != 4096*byName.OK {
		t.Errorf("server: requests %d, request bytes %d, response bytes %d; client ok %d + %d",
			hst.requests.Load(), hst.requestBytes.Load(), hst.responseBytes.Load(), byName.OK, byIP.OK)
	}
	if q := dst.udp.Load(); q != byName.Lookups+missing.Lookups+f.Connects[1].Lookups {
		t.Errorf("DNS queries at the server %d, lookups by the client %d", q, byName.Lookups+missing.Lookups+f.Connects[1].Lookups)
	}
}

// TestCallTimeout checks that a server that never answers costs a call its 2 s timeout, not more.
func TestCallTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accept and say nothing
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	spec, err := parseCallSpec("http://" + l.Addr().String() + "/|1|10|10")
	if err != nil {
		t.Fatal(err)
	}
	st := &callStats{spec: &spec}
	tr := &traffic{name: "cli", log: discardLog()}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	start := time.Now()
	_, err = tr.call(ctx, st, spec.url)
	if err == nil || !strings.Contains(err.Error(), "timeout 2s") {
		t.Errorf("error %v, want a timeout", err)
	}
	if d := time.Since(start); d > callTimeout+500*time.Millisecond {
		t.Errorf("call took %s", d)
	}
}

func TestJitterInterval(t *testing.T) {
	period := 100 * time.Millisecond
	tr := &traffic{}
	if d := tr.interval(period); d != period {
		t.Errorf("without jitter: %s", d)
	}
	tr.jitter = true
	var sum time.Duration
	lo, hi := period, period
	for range 2000 {
		d := tr.interval(period)
		sum += d
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 70*time.Millisecond || hi > 130*time.Millisecond || lo > 75*time.Millisecond || hi < 125*time.Millisecond {
		t.Errorf("jitter range [%s, %s], want about [70ms, 130ms]", lo, hi)
	}
	if mean := sum / 2000; mean < 97*time.Millisecond || mean > 103*time.Millisecond {
		t.Errorf("jitter mean %s, want the period", mean)
	}
}

func TestThrottle(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(10 * time.Second)
	th.now = func() time.Time { return now }
	step := func(d time.Duration, wantOK bool, wantHeld int64) {
		t.Helper()
		now = now.Add(d)
		ok, held := th.allow()
		if ok != wantOK || held != wantHeld {
			t.Errorf("at +%s: allow = %v, %d; want %v, %d", d, ok, held, wantOK, wantHeld)
		}
	}
	step(0, true, 0)
	step(time.Second, false, 0)
	step(5*time.Second, false, 0)
	step(3999*time.Millisecond, false, 0)
	step(time.Millisecond, true, 3) // 10 s after the first
	step(20*time.Second, true, 0)
}

// TestResolverIgnoresStrayAnswers: a datagram with the wrong ID is skipped, not taken as the answer.
func TestResolverIgnoresStrayAnswers(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	rec := &records{names: map[string][]netip.Addr{"a.local": {netip.MustParseAddr("198.18.0.9")}}}
	s := &dnsServer{records: rec, stats: &dnsStats{}}
	go func() {
		buf := make([]byte, 512)
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		good := s.answer(nil, buf[:n], 512)
		stray := append([]byte(nil), good...)
		stray[0] ^= 0xff
		pc.WriteTo(stray, from)
		pc.WriteTo(good, from)
	}()
	r := &resolver{server: netip.MustParseAddrPort(pc.LocalAddr().String())}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ip, err := r.lookup(ctx, "a.local")
	if err != nil || ip.String() != "198.18.0.9" {
		t.Errorf("lookup = %v, %v", ip, err)
	}
}
