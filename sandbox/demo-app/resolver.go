package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// errNXDomain is the resolver's answer for a name it does not know.
var errNXDomain = errors.New("NXDOMAIN")

// resolver looks names up with one A query over UDP per call, from a fresh socket, and caches
// nothing: the DNS traffic of a pod is as steady as its calls.
type resolver struct {
	server netip.AddrPort
}

// lookup returns one IPv4 address of name, chosen at random among the answers.
func (r *resolver) lookup(ctx context.Context, name string) (netip.Addr, error) {
	qname, err := dnsmessage.NewName(fqdn(name))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("lookup %s: %w", name, err)
	}
	id := uint16(rand.Uint32())
	b := dnsmessage.NewBuilder(make([]byte, 0, 128), dnsmessage.Header{ID: id, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: qname, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	query, err := b.Finish()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("lookup %s: %w", name, err)
	}

	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", r.server.String())
	if err != nil {
		return netip.Addr{}, fmt.Errorf("lookup %s: %w", name, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.Write(query); err != nil {
		return netip.Addr{}, fmt.Errorf("lookup %s via %s: %w", name, r.server, err)
	}
	buf := make([]byte, 1500)
	for {
		n, err := c.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return netip.Addr{}, fmt.Errorf("lookup %s via %s: %w", name, r.server, err)
		}
		addrs, ok, err := parseAnswer(buf[:n], id, qname)
		if !ok {
			continue // not the answer to this query: keep waiting, as resolvers do
		}
		if err != nil {
			return netip.Addr{}, fmt.Errorf("lookup %s via %s: %w", name, r.server, err)
		}
		return addrs[rand.IntN(len(addrs))], nil
	}
}

// parseAnswer reads a response; ok is false when it does not answer query id for qname.
func parseAnswer(msg []byte, id uint16, qname dnsmessage.Name) (addrs []netip.Addr, ok bool, err error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || !h.Response || h.ID != id {
		return nil, false, nil
	}
	q, err := p.Question()
	if err != nil || normalizeName(q.Name.String()) != normalizeName(qname.String()) {
		return nil, false, nil
	}
	switch {
	case h.RCode == dnsmessage.RCodeNameError:
		return nil, true, errNXDomain
	case h.RCode != dnsmessage.RCodeSuccess:
		return nil, true, fmt.Errorf("server answered %v", h.RCode)
	case h.Truncated:
		return nil, true, errors.New("answer truncated")
	}
	if err := p.SkipAllQuestions(); err != nil {
		return nil, true, fmt.Errorf("bad answer: %w", err)
	}
	for {
		rh, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return nil, true, fmt.Errorf("bad answer: %w", err)
		}
		if rh.Type != dnsmessage.TypeA || rh.Class != dnsmessage.ClassINET {
			if err := p.SkipAnswer(); err != nil {
				return nil, true, fmt.Errorf("bad answer: %w", err)
			}
			continue
		}
		a, err := p.AResource()
		if err != nil {
			return nil, true, fmt.Errorf("bad answer: %w", err)
		}
		addrs = append(addrs, netip.AddrFrom4(a.A))
	}
	if len(addrs) == 0 {
		return nil, true, errors.New("no A records")
	}
	return addrs, true, nil
}

func fqdn(name string) string {
	if len(name) > 0 && name[len(name)-1] == '.' {
		return name
	}
	return name + "."
}
