package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// recordsCheckPeriod is how often, at most, a query stats the records file to see whether it changed.
const recordsCheckPeriod = time.Second

// records is the name -> IPv4 table the DNS server answers from, loaded from --dns-records and
// re-read when the file changes. The file is checked lazily, by queries, so an idle server never wakes.
type records struct {
	path        string // "": no file, every name is unknown
	checkPeriod time.Duration
	log         *slog.Logger
	logThrottle *throttle

	mu        sync.Mutex
	names     map[string][]netip.Addr // lower case, no trailing dot
	version   fileVersion             // of the file last read, good or bad
	loadErr   error                   // of the last read; retried at every check until it succeeds
	lastCheck time.Time
}

// fileVersion tells whether a file changed: mtime alone misses a rewrite within one timestamp tick,
// so size and inode (a rename over the file) count too.
type fileVersion struct {
	mtime time.Time
	size  int64
	ino   uint64
}

func statVersion(path string) (fileVersion, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileVersion{}, err
	}
	v := fileVersion{mtime: fi.ModTime(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		v.ino = st.Ino
	}
	return v, nil
}

// newRecords loads path (if not empty); an unreadable or invalid file is an error at start.
func newRecords(path string, log *slog.Logger) (*records, error) {
	r := &records{path: path, checkPeriod: recordsCheckPeriod, log: log, logThrottle: newThrottle(errorLogPeriod),
		names: map[string][]netip.Addr{}}
	if path == "" {
		return r, nil
	}
	v, err := statVersion(path)
	if err != nil {
		return nil, fmt.Errorf("dns records: %w", err)
	}
	names, err := loadRecords(path)
	if err != nil {
		return nil, err
	}
	r.names, r.version, r.lastCheck = names, v, time.Now()
	return r, nil
}

// lookup returns the addresses of name and whether the name is known.
func (r *records) lookup(name string) ([]netip.Addr, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.maybeReload()
	addrs, ok := r.names[normalizeName(name)]
	return addrs, ok
}

func (r *records) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.names)
}

// maybeReload re-reads the file if it changed. A bad file keeps the previous table (a writer that is
// not atomic may be caught half-way) and is retried at the next check. Called with r.mu held.
func (r *records) maybeReload() {
	if r.path == "" {
		return
	}
	now := time.Now()
	if now.Sub(r.lastCheck) < r.checkPeriod {
		return
	}
	r.lastCheck = now
	v, err := statVersion(r.path)
	if err == nil && v == r.version && r.loadErr == nil {
		return
	}
	var names map[string][]netip.Addr
	if err == nil {
		names, err = loadRecords(r.path)
	} else {
		err = fmt.Errorf("dns records: %w", err)
	}
	r.version, r.loadErr = v, err
	if err != nil {
		if ok, held := r.logThrottle.allow(); ok {
			r.log.Warn("dns records reload failed, keeping previous records", "err", err, "names", len(r.names), "suppressed", held)
		}
		return
	}
	r.names = names
	r.log.Info("dns records reloaded", "file", r.path, "names", len(names))
}

// loadRecords reads {"name": ["IPv4", ...], ...}.
func loadRecords(path string) (map[string][]netip.Addr, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dns records: %w", err)
	}
	var raw map[string][]string
	if err := json.Unmarshal(data, &raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line := 1 + strings.Count(string(data[:min(int(syn.Offset), len(data))]), "\n")
			return nil, fmt.Errorf("dns records %s:%d: %v", path, line, err)
		}
		return nil, fmt.Errorf("dns records %s: want {\"<name>\": [\"<IPv4>\", ...]}: %v", path, err)
	}
	names := make(map[string][]netip.Addr, len(raw))
	for name, ips := range raw {
		key := normalizeName(name)
		if key == "" || checkHost(key) != nil || !isName(key) {
			return nil, fmt.Errorf("dns records %s: %q is not a DNS name", path, name)
		}
		if _, dup := names[key]; dup {
			return nil, fmt.Errorf("dns records %s: name %q appears twice (names are case-insensitive)", path, name)
		}
		addrs := make([]netip.Addr, 0, len(ips))
		for _, ip := range ips {
			a, err := netip.ParseAddr(ip)
			if err != nil || !a.Unmap().Is4() {
				return nil, fmt.Errorf("dns records %s: name %q: %q is not an IPv4 address", path, name, ip)
			}
			addrs = append(addrs, a.Unmap())
		}
		names[key] = addrs
	}
	return names, nil
}

func normalizeName(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}
