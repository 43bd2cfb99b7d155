package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// What the agent costs inside the kernel, where its process's CPU and RSS do
// not show: its programs' run time and its maps' memory.

// progCost is the kernel time the agent's programs take, read from the
// kernel's own per-program statistics (kernel.bpf_stats, switched on only
// while measuring: it adds two clock reads to every program run).
type progCost struct {
	runs    uint64
	runtime time.Duration
}

// agentFdinfo calls fn with the fields of each of pid's descriptors
// (/proc/<pid>/fdinfo: "key:\tvalue" lines).
func agentFdinfo(pid int, fn func(fields map[string]string)) error {
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		fields := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				fields[k] = strings.TrimSpace(v)
			}
		}
		fn(fields)
	}
	return nil
}

// agentKernelObjects reads the agent's descriptors once: it opens the BPF
// programs they name (program and link descriptors), so that no other
// program on the machine is counted, and sums the kernel memory of its maps
// (memlock), which its memory cgroup is charged for beside its RSS.
func agentKernelObjects(pid int) (progs []*ebpf.Program, mapBytes uint64, err error) {
	seenProgs, seenMaps := map[string]bool{}, map[string]bool{}
	var openErr error
	err = agentFdinfo(pid, func(f map[string]string) {
		if id := f["map_id"]; id != "" && !seenMaps[id] {
			seenMaps[id] = true
			n, _ := strconv.ParseUint(f["memlock"], 10, 64)
			mapBytes += n
		}
		id := f["prog_id"]
		if id == "" || seenProgs[id] || openErr != nil {
			return
		}
		seenProgs[id] = true
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			return
		}
		p, err := ebpf.NewProgramFromID(ebpf.ProgramID(n))
		if err != nil {
			openErr = fmt.Errorf("open program %d: %w", n, err)
			return
		}
		progs = append(progs, p)
	})
	if err == nil {
		err = openErr
	}
	if err == nil && len(progs) == 0 {
		err = fmt.Errorf("agent %d holds no BPF programs", pid)
	}
	if err != nil {
		closeAll(progs)
		return nil, 0, err
	}
	return progs, mapBytes, nil
}

func closeAll(progs []*ebpf.Program) {
	for _, p := range progs {
		p.Close()
	}
}

// measureProgCost switches statistics on, runs fn and returns what the
// programs cost meanwhile.
func measureProgCost(progs []*ebpf.Program, fn func() error) (progCost, error) {
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		return progCost{}, fmt.Errorf("enable BPF statistics: %w", err)
	}
	defer stats.Close()
	total := func() (progCost, error) {
		var c progCost
		for _, p := range progs {
			s, err := p.Stats()
			if err != nil {
				return c, err
			}
			c.runs += s.RunCount
			c.runtime += s.Runtime
		}
		return c, nil
	}
	before, err := total()
	if err != nil {
		return progCost{}, err
	}
	if err := fn(); err != nil {
		return progCost{}, err
	}
	after, err := total()
	if err != nil {
		return progCost{}, err
	}
	return progCost{runs: after.runs - before.runs, runtime: after.runtime - before.runtime}, nil
}
