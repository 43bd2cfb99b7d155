package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

const (
	dnsTTL         = 5   // seconds, on every answer
	udpAnswerLimit = 512 // classic DNS over UDP; larger answers are truncated (TC) so clients retry over TCP
	tcpIdleTimeout = 10 * time.Second
	maxTCPConns    = 64
)

// dnsServer answers A queries from records over UDP and TCP on one port: A for names in the table,
// empty NOERROR for other types of known names (AAAA among them), NXDOMAIN for unknown names.
type dnsServer struct {
	records *records
	stats   *dnsStats
	log     *slog.Logger
	udp     *net.UDPConn
	tcp     net.Listener
	tcpSem  chan struct{}
	wg      sync.WaitGroup
}

// listenDNS binds UDP and TCP on port (all addresses); the server starts with serve.
func listenDNS(port uint16, rec *records, st *dnsStats, log *slog.Logger) (*dnsServer, error) {
	addr := net.JoinHostPort("", strconv.Itoa(int(port)))
	return newDNSServer(addr, rec, st, log)
}

func newDNSServer(addr string, rec *records, st *dnsStats, log *slog.Logger) (*dnsServer, error) {
	udp, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	// Same port on TCP: when addr has port 0 (tests), reuse the one UDP got.
	tcp, err := net.Listen("tcp", udp.LocalAddr().String())
	if err != nil {
		udp.Close()
		return nil, err
	}
	return &dnsServer{records: rec, stats: st, log: log, udp: udp.(*net.UDPConn), tcp: tcp,
		tcpSem: make(chan struct{}, maxTCPConns)}, nil
}

func (s *dnsServer) serve(ctx context.Context) {
	s.log.Info("listening", "proto", "dns/udp", "addr", s.udp.LocalAddr().String(), "names", s.records.count())
	s.log.Info("listening", "proto", "dns/tcp", "addr", s.tcp.Addr().String())
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.serveUDP() }()
	go func() { defer s.wg.Done(); s.serveTCP() }()
	<-ctx.Done()
	s.udp.Close()
	s.tcp.Close()
	s.wg.Wait()
}

func (s *dnsServer) serveUDP() {
	buf := make([]byte, 4096)
	out := make([]byte, 0, udpAnswerLimit)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.stats.udp.Add(1)
		resp := s.answer(out[:0], buf[:n], udpAnswerLimit)
		if resp != nil {
			s.udp.WriteToUDPAddrPort(resp, from)
		}
	}
}

func (s *dnsServer) serveTCP() {
	var conns sync.WaitGroup
	defer conns.Wait()
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	defer func() {
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
	}()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // e.g. EMFILE: do not spin
			continue
		}
		select {
		case s.tcpSem <- struct{}{}:
		default:
			c.Close()
			continue
		}
		mu.Lock()
		open[c] = struct{}{}
		mu.Unlock()
		conns.Add(1)
		go func() {
			defer conns.Done()
			s.serveTCPConn(c)
			mu.Lock()
			delete(open, c)
			mu.Unlock()
			c.Close()
			<-s.tcpSem
		}()
	}
}

// serveTCPConn answers length-prefixed queries until the client closes or idles.
func (s *dnsServer) serveTCPConn(c net.Conn) {
	var lenBuf [2]byte
	buf := make([]byte, 0, 512)
	for {
		c.SetDeadline(time.Now().Add(tcpIdleTimeout))
		if _, err := io.ReadFull(c, lenBuf[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:]))
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		query := buf[:n]
		if _, err := io.ReadFull(c, query); err != nil {
			return
		}
		s.stats.tcp.Add(1)
		resp := s.answer(make([]byte, 2, 514), query, 65535)
		if resp == nil {
			return
		}
		binary.BigEndian.PutUint16(resp, uint16(len(resp)-2))
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

// answer appends the response to query to out, or returns nil when the query deserves none
// (unparseable header, or a response rather than a query). limit caps the message size: a larger
// answer is sent without records and with TC set.
func (s *dnsServer) answer(out, query []byte, limit int) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		s.stats.malformed.Add(1)
		return nil
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, OpCode: h.OpCode, RecursionDesired: h.RecursionDesired}
	questions, err := p.AllQuestions()
	switch {
	case h.OpCode != 0:
		rh.RCode = dnsmessage.RCodeNotImplemented
	case err != nil || len(questions) != 1:
		rh.RCode = dnsmessage.RCodeFormatError
	}
	if rh.RCode != dnsmessage.RCodeSuccess {
		s.stats.malformed.Add(1)
		resp, _ := build(out, rh, nil, nil)
		return resp
	}
	q := questions[0]
	rh.Authoritative = true
	addrs, known := s.records.lookup(q.Name.String())
	var answers []dnsmessage.AResource
	switch {
	case !known:
		rh.RCode = dnsmessage.RCodeNameError
		s.stats.nxdomain.Add(1)
	case q.Type == dnsmessage.TypeA && q.Class == dnsmessage.ClassINET && len(addrs) > 0:
		for _, a := range addrs {
			answers = append(answers, dnsmessage.AResource{A: a.As4()})
		}
		s.stats.answered.Add(1)
	default:
		s.stats.empty.Add(1)
	}
	resp, err := build(out, rh, &q, answers)
	if err != nil || len(resp)-len(out) > limit {
		rh.Truncated = true
		resp, _ = build(out, rh, &q, nil)
	}
	return resp
}

func build(out []byte, h dnsmessage.Header, q *dnsmessage.Question, answers []dnsmessage.AResource) ([]byte, error) {
	b := dnsmessage.NewBuilder(out, h)
	b.EnableCompression()
	if q != nil {
		if err := b.StartQuestions(); err != nil {
			return nil, err
		}
		if err := b.Question(*q); err != nil {
			return nil, err
		}
	}
	if len(answers) > 0 {
		if err := b.StartAnswers(); err != nil {
			return nil, err
		}
		rh := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: dnsTTL}
		for _, a := range answers {
			if err := b.AResource(rh, a); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}
