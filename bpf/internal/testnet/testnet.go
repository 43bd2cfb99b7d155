// Package testnet builds throw-away networks for the privileged tests and the
// benchmark: network namespaces joined by a bridge that itself lives in a
// namespace of its own, so nothing is added to the host's network namespace.
// Hosts get addresses from 198.18.0.0/16 (the brief's pod range), in a /24
// picked at random so that concurrent runs do not collide.
package testnet

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Host is one network namespace with one address on the bridge.
type Host struct {
	NS   string
	Addr netip.Addr
}

// Net is a bridge namespace plus its hosts.
type Net struct {
	ID     string // random suffix shared by every name created
	bridge string
	Hosts  []Host
	nsList []string
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// New creates n hosts. On error everything created so far is removed.
func New(n int) (_ *Net, err error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	id := hex.EncodeToString(b)
	subnet := 1 + int(b[0])%254 // 198.18.<subnet>.0/24
	nw := &Net{ID: id, bridge: "flb-" + id}
	defer func() {
		if err != nil {
			nw.Close()
		}
	}()
	if err := nw.addNS(nw.bridge); err != nil {
		return nil, err
	}
	if err := run("ip", "-n", nw.bridge, "link", "add", "br0", "type", "bridge"); err != nil {
		return nil, err
	}
	if err := run("ip", "-n", nw.bridge, "link", "set", "br0", "up"); err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		h := Host{NS: fmt.Sprintf("fl%d-%s", i, id), Addr: netip.AddrFrom4([4]byte{198, 18, byte(subnet), byte(i + 1)})}
		if err := nw.addNS(h.NS); err != nil {
			return nil, err
		}
		port := fmt.Sprintf("p%d", i)
		steps := [][]string{
			// The pair is created inside the bridge namespace and one end moved out.
			{"ip", "-n", nw.bridge, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.NS},
			{"ip", "-n", nw.bridge, "link", "set", port, "master", "br0", "up"},
			{"ip", "-n", h.NS, "addr", "add", h.Addr.String() + "/24", "dev", "eth0"},
			{"ip", "-n", h.NS, "link", "set", "eth0", "up"},
			{"ip", "-n", h.NS, "link", "set", "lo", "up"},
		}
		for _, s := range steps {
			if err := run(s...); err != nil {
				return nil, err
			}
		}
		nw.Hosts = append(nw.Hosts, h)
	}
	return nw, nil
}

func (n *Net) addNS(name string) error {
	if err := run("ip", "netns", "add", name); err != nil {
		return err
	}
	n.nsList = append(n.nsList, name)
	return nil
}

// Close deletes every namespace this Net created (their links go with them).
func (n *Net) Close() error {
	var errs []error
	for i := len(n.nsList) - 1; i >= 0; i-- {
		errs = append(errs, run("ip", "netns", "del", n.nsList[i]))
	}
	n.nsList = nil
	return errors.Join(errs...)
}

// Do runs fn on an OS thread that has entered h's network namespace; sockets
// fn creates belong to that namespace and may be used from any goroutine.
func (h Host) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread never leaves the namespace: it is discarded when this
		// goroutine ends still locked.
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + h.NS)
		if err != nil {
			errc <- fmt.Errorf("open namespace %s: %w", h.NS, err)
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", h.NS, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// Exec runs a command inside h's namespace.
func (h Host) Exec(args ...string) error {
	return run(append([]string{"ip", "netns", "exec", h.NS}, args...)...)
}

// Nft loads an nftables ruleset into h's namespace.
func (h Host) Nft(ruleset string) error {
	cmd := exec.Command("ip", "netns", "exec", h.NS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in %s: %w: %s", h.NS, err, strings.TrimSpace(string(out)))
	}
	return nil
}
