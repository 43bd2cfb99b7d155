package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// startDNS runs a DNS server on a free loopback port until the test ends.
func startDNS(t *testing.T, rec *records) (*dnsServer, *dnsStats) {
	t.Helper()
	st := &dnsStats{}
	s, err := newDNSServer("127.0.0.1:0", rec, st, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, st
}

func query(t *testing.T, id uint16, name string, qtype dnsmessage.Type) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.StartQuestions()
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: qtype, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func exchangeUDP(t *testing.T, server string, msg []byte) dnsmessage.Message {
	t.Helper()
	c, err := net.Dial("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return m
}

func exchangeTCP(t *testing.T, server string, msgs ...[]byte) []dnsmessage.Message {
	t.Helper()
	c, err := net.Dial("tcp", server)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var out []dnsmessage.Message
	for _, msg := range msgs { // several queries on one connection, as TCP clients may send
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)); err != nil {
			t.Fatal(err)
		}
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		var m dnsmessage.Message
		if err := m.Unpack(buf); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func aAnswers(t *testing.T, m dnsmessage.Message) []string {
	t.Helper()
	var ips []string
	for _, rr := range m.Answers {
		a, ok := rr.Body.(*dnsmessage.AResource)
		if !ok {
			t.Fatalf("answer %v is not an A record", rr)
		}
		if rr.Header.TTL != 5 || rr.Header.Class != dnsmessage.ClassINET {
			t.Errorf("answer header %+v: want TTL 5, class IN", rr.Header)
		}
		ips = append(ips, netip.AddrFrom4(a.A).String())
	}
	return ips
}

func TestDNSAnswers(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "records.json", `{
  "catalog.shop.svc.cluster.local": ["198.19.128.12"],
  "Carts.Shop.svc.cluster.local.": ["198.18.1.5", "198.18.2.5"],
  "empty.shop.svc.cluster.local": []
}`)
	rec, err := newRecords(path, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	s, st := startDNS(t, rec)
	addr := s.udp.LocalAddr().String()

	for _, tc := range []struct {
		name  string
		qtype dnsmessage.Type
		rcode dnsmessage.RCode
		ips   string
	}{
		{"catalog.shop.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, "198.19.128.12"},
		{"CATALOG.shop.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, "198.19.128.12"},
		{"carts.shop.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, "198.18.1.5 198.18.2.5"},
		{"catalog.shop.svc.cluster.local.", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, ""},
		{"catalog.shop.svc.cluster.local.", dnsmessage.TypeTXT, dnsmessage.RCodeSuccess, ""},
		{"empty.shop.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, ""},
		{"unknown.shop.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeNameError, ""},
		{"unknown.shop.svc.cluster.local.", dnsmessage.TypeAAAA, dnsmessage.RCodeNameError, ""},
		{"catalog.shop.svc.cluster.local.shop.svc.cluster.local.", dnsmessage.TypeA, dnsmessage.RCodeNameError, ""},
	} {
		t.Run(tc.name+" "+tc.qtype.String(), func(t *testing.T) {
			q := query(t, 0x1234, tc.name, tc.qtype)
			for proto, m := range map[string]dnsmessage.Message{
				"udp": exchangeUDP(t, addr, q),
				"tcp": exchangeTCP(t, addr, q)[0],
			} {
				if m.ID != 0x1234 || !m.Response || !m.Authoritative || !m.RecursionDesired || m.RCode != tc.rcode {
					t.Errorf("%s: header %+v, want rcode %v", proto, m.Header, tc.rcode)
				}
				if len(m.Questions) != 1 || m.Questions[0].Name.String() != tc.name || m.Questions[0].Type != tc.qtype {
					t.Errorf("%s: questions %v, want the query's", proto, m.Questions)
				}
				if got := strings.Join(aAnswers(t, m), " "); got != tc.ips {
					t.Errorf("%s: answers %q, want %q", proto, got, tc.ips)
				}
			}
		})
	}
	// 9 cases, each over UDP and TCP.
	if st.udp.Load() != 9 || st.tcp.Load() != 9 || st.answered.Load() != 6 || st.empty.Load() != 6 || st.nxdomain.Load() != 6 {
		t.Errorf("stats udp %d tcp %d answered %d empty %d nxdomain %d", st.udp.Load(), st.tcp.Load(),
			st.answered.Load(), st.empty.Load(), st.nxdomain.Load())
	}

	// Several queries on one TCP connection.
	ms := exchangeTCP(t, addr, query(t, 1, "catalog.shop.svc.cluster.local.", dnsmessage.TypeA),
		query(t, 2, "nope.", dnsmessage.TypeA))
	if ms[0].ID != 1 || ms[0].RCode != dnsmessage.RCodeSuccess || ms[1].ID != 2 || ms[1].RCode != dnsmessage.RCodeNameError {
		t.Errorf("pipelined TCP answers %+v / %+v", ms[0].Header, ms[1].Header)
	}
}

func TestDNSMalformed(t *testing.T) {
	rec, err := newRecords("", discardLog())
	if err != nil {
		t.Fatal(err)
	}
	s, st := startDNS(t, rec)
	addr := s.udp.LocalAddr().String()

	// Two questions: FORMERR.
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7})
	b.StartQuestions()
	for _, n := range []string{"a.", "b."} {
		b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(n), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	}
	two, _ := b.Finish()
	if m := exchangeUDP(t, addr, two); m.ID != 7 || m.RCode != dnsmessage.RCodeFormatError {
		t.Errorf("two questions: %+v, want FORMERR", m.Header)
	}
	// An opcode other than QUERY: NOTIMP.
	notify := query(t, 8, "a.", dnsmessage.TypeSOA)
	notify[2] |= 4 << 3 // opcode 4, NOTIFY
	if m := exchangeUDP(t, addr, notify); m.ID != 8 || m.RCode != dnsmessage.RCodeNotImplemented {
		t.Errorf("NOTIFY: %+v, want NOTIMP", m.Header)
	}
	// Garbage, and a response sent to the server: no answer at all, and the server keeps going.
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp := query(t, 9, "a.", dnsmessage.TypeA)
	resp[2] |= 0x80
	c.Write([]byte{1, 2, 3})
	c.Write(resp)
	if m := exchangeUDP(t, addr, query(t, 10, "a.", dnsmessage.TypeA)); m.ID != 10 || m.RCode != dnsmessage.RCodeNameError {
		t.Errorf("after garbage: %+v, want NXDOMAIN", m.Header)
	}
	if st.malformed.Load() != 4 {
		t.Errorf("malformed = %d, want 4", st.malformed.Load())
	}
}

func TestDNSTruncatesLargeUDPAnswers(t *testing.T) {
	var ips []string
	for i := range 40 { // 40 A records do not fit in 512 bytes
		ips = append(ips, fmt.Sprintf(`"198.18.3.%d"`, i+1))
	}
	path := writeFile(t, t.TempDir(), "r.json", `{"big.local": [`+strings.Join(ips, ",")+`]}`)
	rec, err := newRecords(path, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startDNS(t, rec)
	q := query(t, 3, "big.local.", dnsmessage.TypeA)
	if m := exchangeUDP(t, s.udp.LocalAddr().String(), q); !m.Truncated || len(m.Answers) != 0 {
		t.Errorf("UDP: truncated %v with %d answers, want TC and none", m.Truncated, len(m.Answers))
	}
	if m := exchangeTCP(t, s.udp.LocalAddr().String(), q)[0]; m.Truncated || len(m.Answers) != 40 {
		t.Errorf("TCP: truncated %v with %d answers, want all 40", m.Truncated, len(m.Answers))
	}
}

func TestRecordsReload(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "records.json", `{"catalog.shop.svc.cluster.local": ["198.19.128.12"]}`)
	rec, err := newRecords(path, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	rec.checkPeriod = 0 // check at every query
	s, _ := startDNS(t, rec)
	r := &resolver{server: netip.MustParseAddrPort(s.udp.LocalAddr().String())}
	lookup := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ip, err := r.lookup(ctx, "catalog.shop.svc.cluster.local")
		if err != nil {
			return err.Error()
		}
		return ip.String()
	}
	if got := lookup(); got != "198.19.128.12" {
		t.Fatalf("before reload: %s", got)
	}

	// The same size, and an mtime forced into the past: the inode still tells the change (rename).
	tmp := writeFile(t, dir, "new.json", `{"catalog.shop.svc.cluster.local": ["198.19.128.99"]}`)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(tmp, old, old)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if got := lookup(); got != "198.19.128.99" {
		t.Errorf("after rename over the file: %s", got)
	}

	// Rewritten in place with a new mtime; a name removed becomes NXDOMAIN.
	writeFile(t, dir, "records.json", `{"other.local": ["198.19.0.1"]}`)
	future := time.Now().Add(time.Hour)
	os.Chtimes(path, future, future)
	if got := lookup(); !strings.HasSuffix(got, "NXDOMAIN") {
		t.Errorf("after removal: %s, want NXDOMAIN", got)
	}

	// A broken version keeps the previous records; the next good one is picked up.
	writeFile(t, dir, "records.json", `{"catalog.shop.svc.cluster.local": ["198.19.128.`)
	if got := lookup(); !strings.HasSuffix(got, "NXDOMAIN") {
		t.Errorf("after a broken file: %s, want the previous records (NXDOMAIN)", got)
	}
	writeFile(t, dir, "records.json", `{"catalog.shop.svc.cluster.local": ["198.19.128.7"]}`)
	if got := lookup(); got != "198.19.128.7" {
		t.Errorf("after repair: %s", got)
	}
	// Removed: previous records stay.
	os.Remove(path)
	if got := lookup(); got != "198.19.128.7" {
		t.Errorf("after the file was removed: %s", got)
	}
}

func TestRecordsLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ content, want string }{
		{"{\n  \"a.local\": [\"198.18.0.1\"],\n}", `records.json:3: invalid character '}' looking for beginning of object key string`},
		{`["198.18.0.1"]`, `records.json: want {"<name>": ["<IPv4>", ...]}: json: cannot unmarshal array into Go value of type map[string][]string`},
		{`{"a.local": "198.18.0.1"}`, `records.json: want {"<name>": ["<IPv4>", ...]}: json: cannot unmarshal string into Go value of type []string`},
		{`{"a.local": ["198.18.0"]}`, `records.json: name "a.local": "198.18.0" is not an IPv4 address`},
		{`{"a.local": ["2001:db8::1"]}`, `records.json: name "a.local": "2001:db8::1" is not an IPv4 address`},
		{`{"198.18.0.1": ["198.18.0.1"]}`, `records.json: "198.18.0.1" is not a DNS name`},
		{`{"a..local": []}`, `records.json: "a..local" is not a DNS name`},
		{`{"": []}`, `records.json: "" is not a DNS name`},
		{`{"A.local": [], "a.local.": []}`, `appears twice (names are case-insensitive)`},
	} {
		path := writeFile(t, dir, "records.json", tc.content)
		_, err := newRecords(path, discardLog())
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "dns records ") {
			t.Errorf("%s:\n got %v\nwant ...%s", tc.content, err, tc.want)
		}
	}
	if _, err := newRecords(dir+"/missing.json", discardLog()); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
