package main

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"flowlens.dev/agent/internal/testnet"
)

// The connection storm needs 10,000 new connections per second from a client
// and a server that share this machine's two cores with the kernel. Through
// the Go net package (a goroutine, the poller and the scheduler per
// connection) the pair tops out just under that, so the benchmark drives raw
// blocking syscalls instead, one OS thread per worker: the same
// connect-send-close exchange for about 140 µs of CPU instead of 200. It is
// also the harshest case for the connection-rate ratio: the less a
// connection costs outside the kernel, the larger the agent's share.

// rawServer accepts connections, reads each one's 64 bytes and closes it first
// (so that TIME_WAIT stays on the server and the client keeps its ports).
type rawServer struct {
	fd int
	wg sync.WaitGroup
}

func startRawServer(h testnet.Host, port int, workers int) (*rawServer, error) {
	s := &rawServer{fd: -1}
	err := h.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		s.fd = fd
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return err
		}
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(h.Addr, uint16(port)))); err != nil {
			return err
		}
		return unix.Listen(fd, 4096)
	})
	if err != nil {
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
		return nil, fmt.Errorf("raw listener: %w", err)
	}
	for i := 0; i < workers; i++ {
		s.wg.Add(1)
		go s.serve()
	}
	return s, nil
}

func (s *rawServer) serve() {
	defer s.wg.Done()
	buf := make([]byte, 64)
	for {
		c, _, err := unix.Accept4(s.fd, unix.SOCK_CLOEXEC)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
			continue
		}
		if err != nil {
			return // the listener was shut down
		}
		for got := 0; got < len(buf); {
			n, err := unix.Read(c, buf[got:])
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || n == 0 {
				break
			}
			got += n
		}
		unix.Close(c)
	}
}

// Close wakes the blocked accepts (shutdown does, close would not) and waits for them.
func (s *rawServer) Close() {
	_ = unix.Shutdown(s.fd, unix.SHUT_RDWR)
	s.wg.Wait()
	unix.Close(s.fd)
}

func sockaddr(ap netip.AddrPort) *unix.SockaddrInet4 {
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
}

// rawConnRate runs connect-send-close loops with raw syscalls for d from cli
// and returns completed connections per second; rate > 0 paces the total.
func rawConnRate(cli testnet.Host, addr netip.AddrPort, d time.Duration, rate int) (float64, error) {
	const workers = 8
	var done atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	sa := sockaddr(addr)
	msg := make([]byte, 64)
	start := time.Now()
	deadline := start.Add(d)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := cli.Do(func() error {
				var gap time.Duration
				if rate > 0 {
					gap = time.Second * workers / time.Duration(rate)
				}
				next := time.Now()
				buf := make([]byte, 1)
				for time.Now().Before(deadline) {
					if gap > 0 {
						if w := time.Until(next); w > 0 {
							time.Sleep(w)
						}
						next = next.Add(gap)
					}
					if err := rawExchange(sa, msg, buf); err != nil {
						return err
					}
					done.Add(1)
				}
				return nil
			})
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}

// rawExchange is one connection: connect, send msg, wait for the server's close.
func rawExchange(sa *unix.SockaddrInet4, msg, buf []byte) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	// Go installs its signal handlers with SA_RESTART: connect is restarted, not interrupted.
	if err := unix.Connect(fd, sa); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if _, err := unix.Write(fd, msg); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			return nil // EOF (or reset) once the server has closed
		}
	}
}
