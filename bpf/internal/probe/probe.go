// Package probe loads the FlowLens kernel programs, attaches them to a cgroup
// v2 hierarchy and reads their maps. It knows nothing about windows or flow
// records: it hands out the kernel's cumulative per-socket counters.
package probe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Kernel structs, as bpf2go generated them from kernel/flowlens.bpf.c.
type (
	Conn     = flowlensConn
	UDPKey   = flowlensUdpKey
	UDPFlow  = flowlensUdpFlow
	Reported = flowlensReported
	refresh  = flowlensRefresh
)

// Conn.Role and Conn.Flags values; they mirror enum role and enum conn_flags in the C source.
const (
	RoleClient = 1
	RoleServer = 2

	FlagEstablished = 1 << 0
	FlagClosed      = 1 << 1
	FlagFailed      = 1 << 2
)

// Config says where to attach and how large the maps are.
type Config struct {
	CgroupPath     string // cgroup v2 directory whose sockets (and descendants') are observed
	PinDir         string // bpffs directory for the maps that survive restarts; "" disables pinning
	MaxConnections uint32 // capacity of the TCP connection map
	MaxUDPFlows    uint32 // capacity of the UDP (socket, peer) map
}

// Probe is a loaded and attached set of FlowLens programs.
type Probe struct {
	objs    flowlensObjects
	links   []link.Link
	refresh *link.Iter // flowlens_refresh over the busy sockets
	// Reset is true when pinned maps existed but could not be reused (for
	// example after a capacity change) and were recreated empty.
	Reset  bool
	Pinned bool
}

const bpffsMagic = 0xcafe4a11

// Load loads the programs, reusing pinned maps when cfg.PinDir holds
// compatible ones, and attaches them.
func Load(cfg Config) (*Probe, error) {
	spec, err := loadFlowlens()
	if err != nil {
		return nil, fmt.Errorf("parse embedded BPF object: %w", err)
	}
	if cfg.MaxConnections > 0 {
		spec.Maps[flowlensMapConns].MaxEntries = cfg.MaxConnections
		spec.Maps[flowlensMapTcpHandoff].MaxEntries = cfg.MaxConnections
	}
	if cfg.MaxUDPFlows > 0 {
		spec.Maps[flowlensMapUdpFlows].MaxEntries = cfg.MaxUDPFlows
		spec.Maps[flowlensMapUdpHandoff].MaxEntries = cfg.MaxUDPFlows
	}
	p := &Probe{}
	opts := &ebpf.CollectionOptions{}
	if cfg.PinDir != "" {
		if err := os.MkdirAll(cfg.PinDir, 0o700); err != nil {
			return nil, fmt.Errorf("create pin directory: %w", err)
		}
		var st unix.Statfs_t
		if err := unix.Statfs(cfg.PinDir, &st); err != nil {
			return nil, fmt.Errorf("stat pin directory: %w", err)
		}
		if st.Type != bpffsMagic {
			return nil, fmt.Errorf("pin directory %s is not on a bpf filesystem", cfg.PinDir)
		}
		opts.Maps.PinPath = cfg.PinDir
		p.Pinned = true
	} else {
		for _, m := range spec.Maps {
			m.Pinning = ebpf.PinNone
		}
	}
	err = spec.LoadAndAssign(&p.objs, opts)
	if errors.Is(err, ebpf.ErrMapIncompatible) {
		// A map reset: the old counters are gone, so nothing can be double counted.
		// busy stays: its sockets take no RTT callbacks any more and must still be refreshed.
		for _, name := range []string{flowlensMapConns, flowlensMapUdpFlows, flowlensMapTcpHandoff, flowlensMapUdpHandoff} {
			_ = os.Remove(filepath.Join(cfg.PinDir, name))
		}
		p.Reset = true
		err = spec.LoadAndAssign(&p.objs, opts)
	}
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("load BPF programs: %+v", ve)
		}
		return nil, fmt.Errorf("load BPF programs: %w", err)
	}
	if err := p.attach(cfg.CgroupPath); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Probe) attach(cgroup string) error {
	for _, c := range []struct {
		prog *ebpf.Program
		typ  ebpf.AttachType
	}{
		{p.objs.FlowlensSockops, ebpf.AttachCGroupSockOps},
		{p.objs.FlowlensUdpEgress, ebpf.AttachCGroupInetEgress},
		{p.objs.FlowlensUdpIngress, ebpf.AttachCGroupInetIngress},
	} {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: cgroup, Attach: c.typ, Program: c.prog})
		if err != nil {
			return fmt.Errorf("attach %s to cgroup %s: %w", c.prog, cgroup, err)
		}
		p.links = append(p.links, l)
	}
	for _, prog := range []*ebpf.Program{p.objs.FlowlensRcv, p.objs.FlowlensDestroy, p.objs.FlowlensRstIn, p.objs.FlowlensRstOut} {
		l, err := link.AttachTracing(link.TracingOptions{Program: prog})
		if err != nil {
			return fmt.Errorf("attach %s: %w", prog, err)
		}
		p.links = append(p.links, l)
	}
	it, err := link.AttachIter(link.IterOptions{Program: p.objs.FlowlensRefresh, Map: p.objs.Busy})
	if err != nil {
		return fmt.Errorf("attach %s: %w", p.objs.FlowlensRefresh, err)
	}
	p.refresh = it
	p.links = append(p.links, it)
	return nil
}

// Close detaches the programs and closes the maps; pinned maps stay for the next agent.
func (p *Probe) Close() error {
	var errs []error
	for _, l := range p.links {
		errs = append(errs, l.Close())
	}
	p.links = nil
	errs = append(errs, p.objs.Close())
	return errors.Join(errs...)
}

// Unpin removes the pinned maps, so the next agent starts from empty ones.
func (p *Probe) Unpin() error {
	return errors.Join(p.objs.Conns.Unpin(), p.objs.UdpFlows.Unpin(), p.objs.TcpHandoff.Unpin(), p.objs.UdpHandoff.Unpin(),
		p.objs.Busy.Unpin())
}

// batchSize trades syscall count against the buffer Go allocates per read.
const batchSize = 4096

// readAll reads every entry of a hash map with batched lookups.
func readAll[K comparable, V any](m *ebpf.Map, fn func(K, *V)) error {
	keys := make([]K, batchSize)
	vals := make([]V, batchSize)
	var cursor ebpf.MapBatchCursor
	for {
		n, err := m.BatchLookup(&cursor, keys, vals, nil)
		for i := 0; i < n; i++ {
			fn(keys[i], &vals[i])
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Conns calls fn for every tracked TCP connection, keyed by socket cookie,
// with the live counters of busy connections (the kernel refreshes those only
// when asked, see BUSY_AFTER in the C source).
func (p *Probe) Conns(fn func(cookie uint64, c *Conn)) error {
	live, err := p.busyCounters()
	if err != nil {
		return err
	}
	err = readAll(p.objs.Conns, func(cookie uint64, c *Conn) {
		if r, ok := live[cookie]; ok && c.Flags&FlagClosed == 0 { // a closed entry holds the final counters
			merge(c, &r)
		}
		fn(cookie, c)
	})
	if err != nil {
		return fmt.Errorf("read conns map: %w", err)
	}
	return nil
}

// busyCounters runs flowlens_refresh: the counters of every busy socket, now.
func (p *Probe) busyCounters() (map[uint64]refresh, error) {
	rd, err := p.refresh.Open()
	if err != nil {
		return nil, fmt.Errorf("refresh busy connections: %w", err)
	}
	defer rd.Close()
	out, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("refresh busy connections: %w", err)
	}
	size := binary.Size(refresh{})
	if len(out)%size != 0 {
		return nil, fmt.Errorf("refresh busy connections: %d bytes is not a whole number of %d-byte records", len(out), size)
	}
	recs := make([]refresh, len(out)/size)
	if err := binary.Read(bytes.NewReader(out), binary.NativeEndian, recs); err != nil {
		return nil, fmt.Errorf("refresh busy connections: %w", err)
	}
	live := make(map[uint64]refresh, len(recs))
	for _, r := range recs {
		live[r.Cookie] = r
	}
	return live, nil
}

// merge raises c's counters to the live ones; each is cumulative, so the
// larger is the later (c may have had a last snapshot as the socket turned busy).
func merge(c *Conn, r *refresh) {
	c.BytesAcked = max(c.BytesAcked, r.BytesAcked)
	c.BytesReceived = max(c.BytesReceived, r.BytesReceived)
	c.SegsIn = max(c.SegsIn, r.SegsIn)
	c.SegsOut = max(c.SegsOut, r.SegsOut)
	c.TotalRetrans = max(c.TotalRetrans, r.TotalRetrans)
	c.Rto = max(c.Rto, r.Rto)
	if r.SrttUs != 0 {
		c.SrttUs = r.SrttUs
	}
}

// UDPFlows calls fn for every (socket, peer) UDP entry.
func (p *Probe) UDPFlows(fn func(k UDPKey, f *UDPFlow)) error {
	if err := readAll(p.objs.UdpFlows, fn); err != nil {
		return fmt.Errorf("read udp_flows map: %w", err)
	}
	return nil
}

// DeleteConns removes connections user space has finished with.
func (p *Probe) DeleteConns(cookies []uint64) error {
	if len(cookies) == 0 {
		return nil
	}
	if _, err := p.objs.Conns.BatchDelete(cookies, nil); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("delete from conns map: %w", err)
	}
	return nil
}

// DeleteUDP removes idle UDP entries.
func (p *Probe) DeleteUDP(keys []UDPKey) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := p.objs.UdpFlows.BatchDelete(keys, nil); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("delete from udp_flows map: %w", err)
	}
	return nil
}

// Dropped returns how many TCP connections and UDP datagrams the kernel could
// not track because a map was full, since this probe was loaded.
func (p *Probe) Dropped() (tcp, udp uint64, err error) {
	sum := func(idx uint32) (uint64, error) {
		var per []uint64
		if err := p.objs.Stats.Lookup(idx, &per); err != nil {
			return 0, fmt.Errorf("read stats map: %w", err)
		}
		var t uint64
		for _, v := range per {
			t += v
		}
		return t, nil
	}
	if tcp, err = sum(0); err != nil {
		return 0, 0, err
	}
	udp, err = sum(1)
	return tcp, udp, err
}

// Capacity returns the sizes of the connection and UDP maps.
func (p *Probe) Capacity() (conns, udp uint32) {
	return p.objs.Conns.MaxEntries(), p.objs.UdpFlows.MaxEntries()
}

// SaveHandoff records what this agent has reported, for the next agent.
func (p *Probe) SaveHandoff(tcp map[uint64]Reported, udp map[UDPKey]Reported) error {
	for k, v := range tcp {
		if err := p.objs.TcpHandoff.Put(k, v); err != nil {
			return fmt.Errorf("write tcp_handoff map: %w", err)
		}
	}
	for k, v := range udp {
		if err := p.objs.UdpHandoff.Put(k, v); err != nil {
			return fmt.Errorf("write udp_handoff map: %w", err)
		}
	}
	return nil
}

// TakeHandoff returns and empties what a previous agent reported.
func (p *Probe) TakeHandoff() (map[uint64]Reported, map[UDPKey]Reported, error) {
	tcp := map[uint64]Reported{}
	udp := map[UDPKey]Reported{}
	if err := readAll(p.objs.TcpHandoff, func(k uint64, v *Reported) { tcp[k] = *v }); err != nil {
		return nil, nil, fmt.Errorf("read tcp_handoff map: %w", err)
	}
	if err := readAll(p.objs.UdpHandoff, func(k UDPKey, v *Reported) { udp[k] = *v }); err != nil {
		return nil, nil, fmt.Errorf("read udp_handoff map: %w", err)
	}
	for k := range tcp {
		_ = p.objs.TcpHandoff.Delete(k)
	}
	for k := range udp {
		_ = p.objs.UdpHandoff.Delete(k)
	}
	return tcp, udp, nil
}
