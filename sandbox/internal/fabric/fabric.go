// Package fabric builds the sandbox's network: one Linux bridge in the host namespace, carrying the
// simulated nodes' addresses, and one network namespace per pod or outside host, attached to the bridge
// by a veth pair. The network is flat, like a VPC CNI: every address is on one L2 segment and each
// namespace reaches the others directly. Services are kube-proxy style DNAT rules (nftables) inside each
// pod namespace; induced packet loss is an nftables random drop on a server's input.
//
// Every object the fabric creates carries the "fls" prefix (namespaces "fls-*", links "fls*"), which is
// how Teardown finds leftovers of a crashed run without touching anything else.
package fabric

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
)

const (
	// Bridge is the sandbox's switch in the host namespace.
	Bridge      = "fls-br0"
	nsPrefix    = "fls-"
	vethPrefix  = "flsv"
	netnsRunDir = "/run/netns"
)

// Fabric is the sandbox network.
type Fabric struct {
	mu    sync.Mutex
	hosts map[string]string // namespace -> host-side veth
	next  int
}

// Setup creates the bridge with the given host addresses (CIDR notation) and routes.
func Setup(hostAddresses []string, routes []string) (*Fabric, error) {
	cmds := [][]string{{"link", "add", Bridge, "type", "bridge"}, {"link", "set", Bridge, "up"}}
	for _, a := range hostAddresses {
		cmds = append(cmds, []string{"addr", "add", a, "dev", Bridge})
	}
	for _, r := range routes {
		cmds = append(cmds, []string{"route", "add", r, "dev", Bridge})
	}
	for _, c := range cmds {
		if err := ip(c...); err != nil {
			return nil, err
		}
	}
	return &Fabric{hosts: map[string]string{}}, nil
}

// AddBridgeAddress puts an address on the bridge in the host namespace (an agent pod's IP, for its metrics).
func AddBridgeAddress(cidr string) error { return ip("addr", "replace", cidr, "dev", Bridge) }

// RemoveBridgeAddress takes it off again.
func RemoveBridgeAddress(cidr string) error { return ip("addr", "del", cidr, "dev", Bridge) }

// Namespace is the network-namespace name for a sandbox host ("fls-<name>").
func Namespace(name string) string { return nsPrefix + name }

// AddHost creates namespace fls-<name> with eth0 holding address (CIDR notation, e.g. 198.18.1.5/16)
// on the bridge, a default route through eth0 and loopback up.
func (f *Fabric) AddHost(name, address string) error {
	ns := Namespace(name)
	f.mu.Lock()
	veth := fmt.Sprintf("%s%d", vethPrefix, f.next)
	f.next++
	f.mu.Unlock()
	steps := [][]string{
		{"netns", "add", ns},
		{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"link", "set", veth, "master", Bridge, "up"},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "addr", "add", address, "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
		// A link-scope default route: on a flat L2 segment every address answers ARP itself.
		{"-n", ns, "route", "add", "default", "dev", "eth0"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			_ = ip("netns", "del", ns)
			_ = ip("link", "del", veth)
			return fmt.Errorf("adding host %s: %w", name, err)
		}
	}
	f.mu.Lock()
	f.hosts[ns] = veth
	f.mu.Unlock()
	return nil
}

// RemoveHost deletes a host's namespace (its veth pair goes with it).
func (f *Fabric) RemoveHost(name string) error {
	ns := Namespace(name)
	f.mu.Lock()
	delete(f.hosts, ns)
	f.mu.Unlock()
	return ip("netns", "del", ns)
}

// ApplyRules replaces the host's FlowLens nftables tables with the given ruleset (nft syntax, tables
// named flowlens_*), atomically.
func ApplyRules(name, ruleset string) error {
	ns := Namespace(name)
	var script strings.Builder
	// Declaring then deleting makes the delete safe when the table does not exist yet.
	for _, table := range []string{"flowlens_svc", "flowlens_loss"} {
		fmt.Fprintf(&script, "table ip %s {}\ndelete table ip %s\n", table, table)
	}
	script.WriteString(ruleset)
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in %s: %v: %s", ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ServiceBackend is one DNAT target.
type ServiceBackend struct {
	IP   string
	Port int
}

// ServiceRule is one Service port: ClusterIP:port/protocol balanced over backends.
type ServiceRule struct {
	ClusterIP string
	Port      int
	Protocol  string // "tcp" or "udp"
	Backends  []ServiceBackend
}

// Ruleset renders the kube-proxy-like DNAT rules and the optional input loss for one pod namespace.
func Ruleset(services []ServiceRule, lossPercent int) string {
	var b bytes.Buffer
	sort.Slice(services, func(i, j int) bool {
		if services[i].ClusterIP != services[j].ClusterIP {
			return services[i].ClusterIP < services[j].ClusterIP
		}
		return services[i].Port < services[j].Port
	})
	b.WriteString("table ip flowlens_svc {\n  chain output {\n    type nat hook output priority -100; policy accept;\n")
	for _, s := range services {
		if len(s.Backends) == 0 {
			// No ready endpoints: reject like kube-proxy does, so clients see a failed connection.
			fmt.Fprintf(&b, "    ip daddr %s %s dport %d reject\n", s.ClusterIP, s.Protocol, s.Port)
			continue
		}
		var targets []string
		for i, be := range s.Backends {
			targets = append(targets, fmt.Sprintf("%d : %s . %d", i, be.IP, be.Port))
		}
		fmt.Fprintf(&b, "    ip daddr %s %s dport %d dnat ip to numgen random mod %d map { %s }\n", s.ClusterIP, s.Protocol, s.Port, len(s.Backends), strings.Join(targets, ", "))
	}
	b.WriteString("  }\n}\n")
	if lossPercent > 0 {
		fmt.Fprintf(&b, "table ip flowlens_loss {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    ip protocol tcp numgen random mod 100 < %d drop\n  }\n}\n", lossPercent)
	}
	return b.String()
}

// Teardown removes every namespace and link with the sandbox prefix: this run's and any a crash left.
func Teardown() []error {
	var errs []error
	entries, _ := os.ReadDir(netnsRunDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), nsPrefix) {
			if err := ip("netns", "del", e.Name()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	out, _ := exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		name := strings.SplitN(strings.TrimSuffix(fields[1], ":"), "@", 2)[0]
		if strings.HasPrefix(name, vethPrefix) || name == Bridge {
			// A veth goes away with its peer's namespace, asynchronously: gone by now is fine.
			if err := ip("link", "del", name); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// Leftovers lists sandbox namespaces and links that exist now, for checks and tests.
func Leftovers() []string {
	var left []string
	entries, _ := os.ReadDir(netnsRunDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), nsPrefix) {
			left = append(left, "netns "+e.Name())
		}
	}
	out, _ := exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 {
			name := strings.SplitN(strings.TrimSuffix(fields[1], ":"), "@", 2)[0]
			if strings.HasPrefix(name, vethPrefix) || name == Bridge {
				left = append(left, "link "+name)
			}
		}
	}
	return left
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
