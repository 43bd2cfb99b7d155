package main

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Limits that keep one pod cheap whatever its arguments say.
const (
	maxRate      = 1000     // calls or connects per second, per target
	maxBodyBytes = 64 << 20 // request and response bodies
)

// errHelp is returned by parseArgs for --help; main prints the usage and exits 0.
var errHelp = errors.New("help requested")

// config is the parsed command line.
type config struct {
	name       string
	httpPorts  []uint16
	dnsPort    uint16 // 0: no DNS server
	dnsRecords string
	resolver   netip.AddrPort // invalid: none given
	calls      []callSpec
	connects   []connectSpec
	jitter     bool
	statsFile  string
}

// callSpec is one --call: an HTTP POST to url?size=responseBytes with a body of requestBytes.
type callSpec struct {
	raw           string   // as given on the command line; names the target in logs and stats
	url           *url.URL // scheme http, without the size parameter
	host          string   // host name or IP literal from the URL
	port          uint16
	rate          float64 // calls per second
	requestBytes  int64
	responseBytes int64
}

// connectSpec is one --connect: a bare TCP connect then close.
type connectSpec struct {
	raw  string
	host string
	port uint16
	rate float64 // attempts per second
}

const usage = `usage: demo-app [flags]
  --name <string>         identity (X-Demo-Server header, logs); default "demo-app"
  --http <port>           serve HTTP on this TCP port (repeatable)
  --dns <port>            serve DNS on UDP and TCP <port>
  --dns-records <file>    JSON {"name": ["IPv4", ...]}; re-read when it changes
  --resolver <ip:port>    DNS server for every name in --call and --connect
  --call <spec>           "<url>|<calls per second>|<request bytes>|<response bytes>" (repeatable)
  --connect <spec>        "<host:port>|<attempts per second>" (repeatable)
  --jitter                spread call times randomly (+-30%)
  --stats <file>          write JSON counters to <file> every second
`

// parseArgs parses the command line (without the program name). Flags take the forms
// "--flag value" and "--flag=value"; errors name the flag and the offending value.
func parseArgs(args []string) (*config, error) {
	cfg := &config{name: "demo-app"}
	seenOnce := map[string]bool{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "-h" || arg == "--help" || arg == "-help" {
			return nil, errHelp
		}
		if !strings.HasPrefix(arg, "--") || len(arg) == 2 {
			return nil, fmt.Errorf("unexpected argument %q (flags start with --)", arg)
		}
		flag, value, hasValue := strings.Cut(arg[2:], "=")
		if flag == "jitter" {
			if hasValue {
				return nil, fmt.Errorf("--jitter takes no value, got %q", value)
			}
			cfg.jitter = true
			continue
		}
		if !knownValueFlag(flag) {
			return nil, fmt.Errorf("unknown flag --%s", flag)
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("--%s: missing value", flag)
			}
			i++
			value = args[i]
		}
		switch flag {
		case "http", "call", "connect":
		default:
			if seenOnce[flag] {
				return nil, fmt.Errorf("--%s %q: given more than once", flag, value)
			}
			seenOnce[flag] = true
		}
		if err := cfg.set(flag, value); err != nil {
			return nil, fmt.Errorf("--%s %q: %w", flag, value, err)
		}
	}
	return cfg, cfg.check()
}

func knownValueFlag(flag string) bool {
	switch flag {
	case "name", "http", "dns", "dns-records", "resolver", "call", "connect", "stats":
		return true
	}
	return false
}

func (cfg *config) set(flag, value string) error {
	switch flag {
	case "name":
		if strings.TrimSpace(value) == "" {
			return errors.New("must not be empty")
		}
		cfg.name = value
	case "http":
		port, err := parsePort(value)
		if err != nil {
			return err
		}
		for _, p := range cfg.httpPorts {
			if p == port {
				return errors.New("port given more than once")
			}
		}
		cfg.httpPorts = append(cfg.httpPorts, port)
	case "dns":
		port, err := parsePort(value)
		if err != nil {
			return err
		}
		cfg.dnsPort = port
	case "dns-records":
		if value == "" {
			return errors.New("must not be empty")
		}
		cfg.dnsRecords = value
	case "resolver":
		ap, err := netip.ParseAddrPort(value)
		if err != nil || ap.Port() == 0 {
			return errors.New("want <ip>:<port> with an IP literal, e.g. 198.18.0.10:53")
		}
		cfg.resolver = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	case "call":
		spec, err := parseCallSpec(value)
		if err != nil {
			return err
		}
		for _, c := range cfg.calls {
			if c.raw == spec.raw {
				return errors.New("spec given more than once")
			}
		}
		cfg.calls = append(cfg.calls, spec)
	case "connect":
		spec, err := parseConnectSpec(value)
		if err != nil {
			return err
		}
		for _, c := range cfg.connects {
			if c.raw == spec.raw {
				return errors.New("spec given more than once")
			}
		}
		cfg.connects = append(cfg.connects, spec)
	case "stats":
		if value == "" {
			return errors.New("must not be empty")
		}
		cfg.statsFile = value
	}
	return nil
}

// check validates what no single flag can: combinations.
func (cfg *config) check() error {
	if cfg.dnsRecords != "" && cfg.dnsPort == 0 {
		return fmt.Errorf("--dns-records %q: needs --dns <port>", cfg.dnsRecords)
	}
	for _, p := range cfg.httpPorts {
		if p == cfg.dnsPort {
			return fmt.Errorf("--dns \"%d\": port also given to --http", p)
		}
	}
	// Without --resolver a name would go to the host's resolv.conf servers: never wanted here.
	if !cfg.resolver.IsValid() {
		for _, c := range cfg.calls {
			if isName(c.host) {
				return fmt.Errorf("--call %q: host %q is a name, so --resolver is required", c.raw, c.host)
			}
		}
		for _, c := range cfg.connects {
			if isName(c.host) {
				return fmt.Errorf("--connect %q: host %q is a name, so --resolver is required", c.raw, c.host)
			}
		}
	}
	return nil
}

func isName(host string) bool {
	_, err := netip.ParseAddr(host)
	return err != nil
}

// checkHost accepts an IP literal or a DNS name that fits in a query.
func checkHost(host string) error {
	if host == "" {
		return errors.New("no host")
	}
	if !isName(host) {
		return nil
	}
	if len(strings.TrimSuffix(host, ".")) > 253 {
		return fmt.Errorf("host name %q is longer than 253 characters", host)
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host name %q has an empty or over-long label", host)
		}
	}
	return nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, errors.New("not a port number (1-65535)")
	}
	return uint16(n), nil
}

// parseCallSpec parses "<url>|<calls per second>|<request bytes>|<response bytes>".
func parseCallSpec(s string) (callSpec, error) {
	fields := strings.Split(s, "|")
	if len(fields) != 4 {
		return callSpec{}, fmt.Errorf("want 4 fields \"<url>|<calls per second>|<request bytes>|<response bytes>\", got %d", len(fields))
	}
	u, err := url.Parse(fields[0])
	if err != nil {
		return callSpec{}, fmt.Errorf("url %q: %v", fields[0], errors.Unwrap(err))
	}
	if u.Scheme != "http" {
		return callSpec{}, fmt.Errorf("url %q: scheme must be http", fields[0])
	}
	if u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return callSpec{}, fmt.Errorf("url %q: want http://<host>[:<port>]/<path>[?<query>] without user or fragment", fields[0])
	}
	host := u.Hostname()
	if err := checkHost(host); err != nil {
		return callSpec{}, fmt.Errorf("url %q: %v", fields[0], err)
	}
	port := uint16(80)
	if p := u.Port(); p != "" {
		if port, err = parsePort(p); err != nil {
			return callSpec{}, fmt.Errorf("url %q: port %q: %v", fields[0], p, err)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return callSpec{}, fmt.Errorf("url %q: empty port", fields[0])
	}
	if u.Query().Has("size") {
		return callSpec{}, fmt.Errorf("url %q: size is set from <response bytes>, leave it out of the url", fields[0])
	}
	rate, err := parseRate("calls per second", fields[1])
	if err != nil {
		return callSpec{}, err
	}
	req, err := parseBytes("request bytes", fields[2])
	if err != nil {
		return callSpec{}, err
	}
	resp, err := parseBytes("response bytes", fields[3])
	if err != nil {
		return callSpec{}, err
	}
	return callSpec{raw: s, url: u, host: host, port: port, rate: rate, requestBytes: req, responseBytes: resp}, nil
}

// parseConnectSpec parses "<host:port>|<attempts per second>".
func parseConnectSpec(s string) (connectSpec, error) {
	fields := strings.Split(s, "|")
	if len(fields) != 2 {
		return connectSpec{}, fmt.Errorf("want 2 fields \"<host:port>|<attempts per second>\", got %d", len(fields))
	}
	host, p, err := splitHostPort(fields[0])
	if err == nil {
		err = checkHost(host)
	}
	if err != nil {
		return connectSpec{}, fmt.Errorf("address %q: %v", fields[0], err)
	}
	port, err := parsePort(p)
	if err != nil {
		return connectSpec{}, fmt.Errorf("address %q: port %q: %v", fields[0], p, err)
	}
	rate, err := parseRate("attempts per second", fields[1])
	if err != nil {
		return connectSpec{}, err
	}
	return connectSpec{raw: s, host: host, port: port, rate: rate}, nil
}

// splitHostPort is net.SplitHostPort with a shorter error and a non-empty host.
func splitHostPort(s string) (host, port string, err error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", errors.New("want <host>:<port>")
	}
	host, port = s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
		if _, err := netip.ParseAddr(host); err != nil {
			return "", "", fmt.Errorf("%q is not an IP address", host)
		}
	} else if strings.ContainsAny(host, ":[]") {
		return "", "", errors.New("want <host>:<port>, with an IPv6 address in brackets")
	}
	if host == "" {
		return "", "", errors.New("no host")
	}
	return host, port, nil
}

func parseRate(what, s string) (float64, error) {
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(r) || math.IsInf(r, 0) {
		return 0, fmt.Errorf("%s %q is not a number", what, s)
	}
	if r <= 0 || r > maxRate {
		return 0, fmt.Errorf("%s %q is out of range (0 < rate <= %d)", what, s, maxRate)
	}
	return r, nil
}

func parseBytes(what, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a whole number", what, s)
	}
	if n < 0 || n > maxBodyBytes {
		return 0, fmt.Errorf("%s %q is out of range (0-%d)", what, s, maxBodyBytes)
	}
	return n, nil
}
