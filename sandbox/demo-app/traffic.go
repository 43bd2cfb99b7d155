package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"
)

const (
	callTimeout  = 2 * time.Second // per call or connect, lookup included
	jitterSpread = 0.3             // --jitter: each period is drawn from [0.7, 1.3] x the mean
)

// traffic runs the client side: one loop per --call and --connect target, each firing at its own
// rate, independent of the others' failures.
type traffic struct {
	name     string
	resolver *resolver // nil: every host is an IP literal (parseArgs checks)
	jitter   bool
	log      *slog.Logger
	dialer   net.Dialer
}

func (t *traffic) runCall(ctx context.Context, st *callStats) {
	s := st.spec
	u := *s.url
	q := u.Query()
	q.Set("size", strconv.FormatInt(s.responseBytes, 10))
	u.RawQuery = q.Encode()
	t.loop(ctx, "call", s.raw, s.rate, &st.targetStats, func(ctx context.Context) (string, error) {
		return t.call(ctx, st, &u)
	})
}

func (t *traffic) runConnect(ctx context.Context, st *connectStats) {
	s := st.spec
	t.loop(ctx, "connect", s.raw, s.rate, &st.targetStats, func(ctx context.Context) (string, error) {
		ip, err := t.resolve(ctx, s.host, &st.targetStats)
		if err != nil {
			return "", err
		}
		addr := netip.AddrPortFrom(ip, s.port).String()
		c, err := t.dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return "", err
		}
		c.Close()
		return "addr=" + addr, nil
	})
}

// loop calls do at rate per second until ctx ends. Calls overlap when one takes longer than the
// period (open loop, as real clients behave under slow servers), up to what the timeout allows.
// The first call comes after a random fraction of the period so pods started together do not
// fire in step.
func (t *traffic) loop(ctx context.Context, kind, target string, rate float64, st *targetStats,
	do func(context.Context) (string, error)) {
	period := time.Duration(float64(time.Second) / rate)
	inflight := make(chan struct{}, int(math.Ceil(rate*callTimeout.Seconds()))+1)
	errLog := newThrottle(errorLogPeriod)
	var firstOK sync.Once
	var wg sync.WaitGroup
	defer wg.Wait()

	next := time.Now().Add(time.Duration(rand.Int64N(int64(period) + 1)))
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		select {
		case inflight <- struct{}{}:
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-inflight }()
				cctx, cancel := context.WithTimeout(ctx, callTimeout)
				detail, err := do(cctx)
				cancel()
				if ctx.Err() != nil {
					return // cut short by shutdown: neither a success nor a failure
				}
				st.attempts.Add(1)
				if err != nil {
					st.errors.Add(1)
					if ok, held := errLog.allow(); ok {
						t.log.Warn(kind+" failed", "target", target, "err", err.Error(), "suppressed", held)
					}
					return
				}
				st.ok.Add(1)
				firstOK.Do(func() { t.log.Info("first success", "kind", kind, "target", target, "detail", detail) })
			}()
		default:
			// Every slot is taken by calls still within their timeout: skip this beat.
		}
		next = next.Add(t.interval(period))
		if now := time.Now(); now.Sub(next) > period {
			next = now // far behind (process stopped for a while): resume without a burst
		}
		timer.Reset(time.Until(next))
	}
}

func (t *traffic) interval(period time.Duration) time.Duration {
	if !t.jitter {
		return period
	}
	return time.Duration(float64(period) * (1 - jitterSpread + 2*jitterSpread*rand.Float64()))
}

// resolve returns host's address: the literal itself, or one DNS lookup through --resolver.
func (t *traffic) resolve(ctx context.Context, host string, st *targetStats) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	if t.resolver == nil {
		return netip.Addr{}, fmt.Errorf("lookup %s: no --resolver", host)
	}
	st.lookups.Add(1)
	ip, err := t.resolver.lookup(ctx, host)
	if err != nil {
		st.lookupErrors.Add(1)
	}
	return ip, err
}

// call sends one POST over a new connection and reads the whole answer. It writes HTTP/1.1 on a
// connection it dials itself rather than using http.Transport: no pooling, no proxy from the
// environment, and the resolved address is exactly the one dialled.
func (t *traffic) call(ctx context.Context, st *callStats, u *url.URL) (string, error) {
	s := st.spec
	ip, err := t.resolve(ctx, s.host, &st.targetStats)
	if err != nil {
		return "", err
	}
	addr := netip.AddrPortFrom(ip, s.port).String()
	conn, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	req := &http.Request{
		Method:        http.MethodPost,
		URL:           u,
		Host:          u.Host,
		Header:        http.Header{"User-Agent": {"demo-app/" + t.name}, "Content-Type": {"application/octet-stream"}},
		ContentLength: s.requestBytes,
		Body:          http.NoBody,
		Close:         true,
	}
	if s.requestBytes > 0 {
		req.Body = io.NopCloser(&fillerReader{n: s.requestBytes})
	}
	if err := req.Write(conn); err != nil {
		return "", wrapCtx(ctx, fmt.Errorf("send to %s: %w", addr, err))
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return "", wrapCtx(ctx, fmt.Errorf("read from %s: %w", addr, err))
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return "", wrapCtx(ctx, fmt.Errorf("read from %s: %w", addr, err))
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answered %s", addr, resp.Status)
	}
	if n != s.responseBytes {
		return "", fmt.Errorf("%s sent %d body bytes, want %d", addr, n, s.responseBytes)
	}
	st.requestBytes.Add(s.requestBytes)
	st.responseBytes.Add(n)
	return fmt.Sprintf("addr=%s server=%q", addr, resp.Header.Get("X-Demo-Server")), nil
}

// wrapCtx names the timeout when the deadline, not the peer, ended an exchange.
func wrapCtx(ctx context.Context, err error) error {
	var ne net.Error
	if (errors.As(err, &ne) && ne.Timeout()) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (timeout %s)", err, callTimeout)
	}
	return err
}
