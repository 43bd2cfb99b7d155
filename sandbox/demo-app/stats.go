package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// stats holds every counter of the process. Writers use atomics; snapshot reads them for --stats.
type stats struct {
	name    string
	started time.Time

	http     []*httpStats
	dns      dnsStats
	calls    []*callStats
	connects []*connectStats
}

type httpStats struct {
	port                                           uint16
	requests, requestBytes, responseBytes, badReqs atomic.Int64
}

type dnsStats struct {
	udp, tcp  atomic.Int64 // queries received per transport
	answered  atomic.Int64 // NOERROR with at least one answer
	empty     atomic.Int64 // NOERROR without answers (AAAA and other types for known names)
	nxdomain  atomic.Int64
	malformed atomic.Int64 // FORMERR, NOTIMP or dropped
}

// targetStats counts one --call or --connect target as its client sees it.
type targetStats struct {
	attempts, ok, errors  atomic.Int64
	lookups, lookupErrors atomic.Int64 // DNS queries sent for the target's name, and those that failed
}

type callStats struct {
	spec *callSpec
	targetStats
	requestBytes, responseBytes atomic.Int64 // body bytes of successful calls
}

type connectStats struct {
	spec *connectSpec
	targetStats
}

func newStats(cfg *config) *stats {
	s := &stats{name: cfg.name, started: time.Now()}
	for _, p := range cfg.httpPorts {
		s.http = append(s.http, &httpStats{port: p})
	}
	for i := range cfg.calls {
		s.calls = append(s.calls, &callStats{spec: &cfg.calls[i]})
	}
	for i := range cfg.connects {
		s.connects = append(s.connects, &connectStats{spec: &cfg.connects[i]})
	}
	return s
}

// The --stats file. Field names are the documented contract (see the package comment).
type statsFile struct {
	Name          string            `json:"name"`
	Time          time.Time         `json:"time"`
	UptimeSeconds float64           `json:"uptimeSeconds"`
	HTTP          []httpSnapshot    `json:"http"`
	DNS           dnsSnapshot       `json:"dns"`
	Calls         []callSnapshot    `json:"calls"`
	Connects      []connectSnapshot `json:"connects"`
}

type httpSnapshot struct {
	Port          uint16 `json:"port"`
	Requests      int64  `json:"requests"`
	RequestBytes  int64  `json:"requestBytes"`
	ResponseBytes int64  `json:"responseBytes"`
	BadRequests   int64  `json:"badRequests"`
}

type dnsSnapshot struct {
	Queries   int64 `json:"queries"`
	UDP       int64 `json:"udp"`
	TCP       int64 `json:"tcp"`
	Answered  int64 `json:"answered"`
	Empty     int64 `json:"empty"`
	NXDomain  int64 `json:"nxdomain"`
	Malformed int64 `json:"malformed"`
}

type targetSnapshot struct {
	Spec         string `json:"spec"`
	Attempts     int64  `json:"attempts"`
	OK           int64  `json:"ok"`
	Errors       int64  `json:"errors"`
	Lookups      int64  `json:"lookups"`
	LookupErrors int64  `json:"lookupErrors"`
}

type callSnapshot struct {
	targetSnapshot
	RequestBytes  int64 `json:"requestBytes"`
	ResponseBytes int64 `json:"responseBytes"`
}

type connectSnapshot struct {
	targetSnapshot
}

func (t *targetStats) snapshot(spec string) targetSnapshot {
	return targetSnapshot{Spec: spec, Attempts: t.attempts.Load(), OK: t.ok.Load(), Errors: t.errors.Load(),
		Lookups: t.lookups.Load(), LookupErrors: t.lookupErrors.Load()}
}

func (s *stats) snapshot() statsFile {
	now := time.Now()
	f := statsFile{Name: s.name, Time: now.UTC(), UptimeSeconds: now.Sub(s.started).Seconds(),
		HTTP: []httpSnapshot{}, Calls: []callSnapshot{}, Connects: []connectSnapshot{}}
	for _, h := range s.http {
		f.HTTP = append(f.HTTP, httpSnapshot{Port: h.port, Requests: h.requests.Load(),
			RequestBytes: h.requestBytes.Load(), ResponseBytes: h.responseBytes.Load(), BadRequests: h.badReqs.Load()})
	}
	udp, tcp := s.dns.udp.Load(), s.dns.tcp.Load()
	f.DNS = dnsSnapshot{Queries: udp + tcp, UDP: udp, TCP: tcp, Answered: s.dns.answered.Load(),
		Empty: s.dns.empty.Load(), NXDomain: s.dns.nxdomain.Load(), Malformed: s.dns.malformed.Load()}
	for _, c := range s.calls {
		f.Calls = append(f.Calls, callSnapshot{targetSnapshot: c.snapshot(c.spec.raw),
			RequestBytes: c.requestBytes.Load(), ResponseBytes: c.responseBytes.Load()})
	}
	for _, c := range s.connects {
		f.Connects = append(f.Connects, connectSnapshot{targetSnapshot: c.snapshot(c.spec.raw)})
	}
	return f
}

// writeFile replaces path atomically (temporary file in the same directory, then rename),
// so a reader never sees a half-written file.
func (s *stats) writeFile(path string) error {
	data, err := json.MarshalIndent(s.snapshot(), "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
