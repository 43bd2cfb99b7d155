package main

import (
	"errors"
	"strings"
	"testing"
)

func TestParseArgsGood(t *testing.T) {
	cfg, err := parseArgs([]string{
		"--name", "catalog-7d9f", "--http", "80", "--http=8080", "--dns", "53", "--dns-records", "/tmp/r.json",
		"--resolver", "198.18.0.10:53", "--jitter", "--stats", "/tmp/s.json",
		"--call", "http://catalog.shop.svc.cluster.local:80/items|2|256|4096",
		"--call=http://198.19.0.5/|0.5|0|0",
		"--connect", "orders.shop.svc.cluster.local:9999|1.5",
		"--connect", "[::1]:7|3",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.name != "catalog-7d9f" || len(cfg.httpPorts) != 2 || cfg.httpPorts[1] != 8080 || cfg.dnsPort != 53 ||
		cfg.dnsRecords != "/tmp/r.json" || cfg.resolver.String() != "198.18.0.10:53" || !cfg.jitter ||
		cfg.statsFile != "/tmp/s.json" {
		t.Errorf("config = %+v", cfg)
	}
	if len(cfg.calls) != 2 || len(cfg.connects) != 2 {
		t.Fatalf("calls %d, connects %d", len(cfg.calls), len(cfg.connects))
	}
	c := cfg.calls[0]
	if c.host != "catalog.shop.svc.cluster.local" || c.port != 80 || c.rate != 2 || c.requestBytes != 256 ||
		c.responseBytes != 4096 || c.url.Path != "/items" {
		t.Errorf("call 0 = %+v", c)
	}
	if c := cfg.calls[1]; c.host != "198.19.0.5" || c.port != 80 || c.rate != 0.5 || c.requestBytes != 0 {
		t.Errorf("call 1 = %+v", c)
	}
	if c := cfg.connects[0]; c.host != "orders.shop.svc.cluster.local" || c.port != 9999 || c.rate != 1.5 {
		t.Errorf("connect 0 = %+v", c)
	}
	if c := cfg.connects[1]; c.host != "::1" || c.port != 7 {
		t.Errorf("connect 1 = %+v", c)
	}

	cfg, err = parseArgs(nil)
	if err != nil || cfg.name != "demo-app" || cfg.dnsPort != 0 || cfg.resolver.IsValid() {
		t.Errorf("no arguments: %+v, %v", cfg, err)
	}
	if _, err := parseArgs([]string{"--http", "80", "--help"}); !errors.Is(err, errHelp) {
		t.Errorf("--help: %v", err)
	}
}

func TestParseArgsBad(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--http"}, `--http: missing value`},
		{[]string{"--http", "eighty"}, `--http "eighty": not a port number (1-65535)`},
		{[]string{"--http", "0"}, `--http "0": not a port number (1-65535)`},
		{[]string{"--http", "65536"}, `--http "65536": not a port number (1-65535)`},
		{[]string{"--http", "80", "--http", "80"}, `--http "80": port given more than once`},
		{[]string{"--dns", "-1"}, `--dns "-1": not a port number (1-65535)`},
		{[]string{"--dns", "53", "--dns", "54"}, `--dns "54": given more than once`},
		{[]string{"--http", "53", "--dns", "53"}, `--dns "53": port also given to --http`},
		{[]string{"--dns-records", "r.json"}, `--dns-records "r.json": needs --dns <port>`},
		{[]string{"--name", ""}, `--name "": must not be empty`},
		{[]string{"--resolver", "coredns:53"}, `--resolver "coredns:53": want <ip>:<port> with an IP literal, e.g. 198.18.0.10:53`},
		{[]string{"--resolver", "198.18.0.10"}, `--resolver "198.18.0.10": want <ip>:<port> with an IP literal, e.g. 198.18.0.10:53`},
		{[]string{"--jitter=yes"}, `--jitter takes no value, got "yes"`},
		{[]string{"--verbose"}, `unknown flag --verbose`},
		{[]string{"-http", "80"}, `unexpected argument "-http" (flags start with --)`},
		{[]string{"serve"}, `unexpected argument "serve" (flags start with --)`},

		{[]string{"--call", "http://a.b/|2|256"},
			`--call "http://a.b/|2|256": want 4 fields "<url>|<calls per second>|<request bytes>|<response bytes>", got 3`},
		{[]string{"--call", "https://198.19.0.1/|2|256|4096"}, `--call "https://198.19.0.1/|2|256|4096": url "https://198.19.0.1/": scheme must be http`},
		{[]string{"--call", "198.19.0.1:80|2|256|4096"}, `--call "198.19.0.1:80|2|256|4096": url "198.19.0.1:80": first path segment in URL cannot contain colon`},
		{[]string{"--call", "http:///x|2|256|4096"}, `--call "http:///x|2|256|4096": url "http:///x": no host`},
		{[]string{"--call", "http://198.19.0.1:0/|2|256|4096"}, `--call "http://198.19.0.1:0/|2|256|4096": url "http://198.19.0.1:0/": port "0": not a port number (1-65535)`},
		{[]string{"--call", "http://198.19.0.1:/|2|256|4096"}, `--call "http://198.19.0.1:/|2|256|4096": url "http://198.19.0.1:/": empty port`},
		{[]string{"--call", "http://198.19.0.1/?size=5|2|256|4096"}, `--call "http://198.19.0.1/?size=5|2|256|4096": url "http://198.19.0.1/?size=5": size is set from <response bytes>, leave it out of the url`},
		{[]string{"--call", "http://u@198.19.0.1/|2|256|4096"}, `--call "http://u@198.19.0.1/|2|256|4096": url "http://u@198.19.0.1/": want http://<host>[:<port>]/<path>[?<query>] without user or fragment`},
		{[]string{"--call", "http://a..b/|2|256|4096", "--resolver", "127.0.0.1:53"}, `--call "http://a..b/|2|256|4096": url "http://a..b/": host name "a..b" has an empty or over-long label`},
		{[]string{"--call", "http://198.19.0.1/|fast|256|4096"}, `--call "http://198.19.0.1/|fast|256|4096": calls per second "fast" is not a number`},
		{[]string{"--call", "http://198.19.0.1/|0|256|4096"}, `--call "http://198.19.0.1/|0|256|4096": calls per second "0" is out of range (0 < rate <= 1000)`},
		{[]string{"--call", "http://198.19.0.1/|NaN|256|4096"}, `--call "http://198.19.0.1/|NaN|256|4096": calls per second "NaN" is not a number`},
		{[]string{"--call", "http://198.19.0.1/|2001|256|4096"}, `--call "http://198.19.0.1/|2001|256|4096": calls per second "2001" is out of range (0 < rate <= 1000)`},
		{[]string{"--call", "http://198.19.0.1/|2|1.5|4096"}, `--call "http://198.19.0.1/|2|1.5|4096": request bytes "1.5" is not a whole number`},
		{[]string{"--call", "http://198.19.0.1/|2|256|-1"}, `--call "http://198.19.0.1/|2|256|-1": response bytes "-1" is out of range (0-67108864)`},
		{[]string{"--call", "http://198.19.0.1/|2|256|99999999999"}, `--call "http://198.19.0.1/|2|256|99999999999": response bytes "99999999999" is out of range (0-67108864)`},
		{[]string{"--call", "http://198.19.0.1/|2|1|1", "--call", "http://198.19.0.1/|2|1|1"}, `--call "http://198.19.0.1/|2|1|1": spec given more than once`},
		{[]string{"--call", "http://catalog.shop:8080/|2|256|4096"}, `--call "http://catalog.shop:8080/|2|256|4096": host "catalog.shop" is a name, so --resolver is required`},

		{[]string{"--connect", "198.19.0.1:9999"}, `--connect "198.19.0.1:9999": want 2 fields "<host:port>|<attempts per second>", got 1`},
		{[]string{"--connect", "198.19.0.1|1"}, `--connect "198.19.0.1|1": address "198.19.0.1": want <host>:<port>`},
		{[]string{"--connect", ":9999|1"}, `--connect ":9999|1": address ":9999": no host`},
		{[]string{"--connect", "::1:7|1"}, `--connect "::1:7|1": address "::1:7": want <host>:<port>, with an IPv6 address in brackets`},
		{[]string{"--connect", "198.19.0.1:http|1"}, `--connect "198.19.0.1:http|1": address "198.19.0.1:http": port "http": not a port number (1-65535)`},
		{[]string{"--connect", "198.19.0.1:9999|-2"}, `--connect "198.19.0.1:9999|-2": attempts per second "-2" is out of range (0 < rate <= 1000)`},
		{[]string{"--connect", "orders:9999|1"}, `--connect "orders:9999|1": host "orders" is a name, so --resolver is required`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseArgs(tc.args)
			if err == nil {
				t.Fatalf("no error, want %s", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}
