// Package cgroups gives the sandbox its own cgroup v2 subtree: one group per simulated node (each node's
// agent attaches its programs to that group, so it sees exactly that node's pods), and groups for the
// control plane, the agents and the outside hosts. Killing the subtree is how the sandbox shuts down,
// including what a crashed run left behind.
package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const subtree = "flowlens-sandbox"

// Group is one cgroup directory, held open for starting processes inside it.
type Group struct {
	Path string
	dir  *os.File
}

// FD is the directory file descriptor for clone3's CLONE_INTO_CGROUP.
func (g *Group) FD() int { return int(g.dir.Fd()) }

// Mount returns the cgroup v2 mount point (e.g. /sys/fs/cgroup/unified on a hybrid host).
func Mount() (string, error) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 3 && fields[2] == "cgroup2" {
			return fields[1], nil
		}
	}
	return "", errors.New("no cgroup v2 hierarchy is mounted (the agent's programs attach to cgroup v2)")
}

// Root is the sandbox's subtree.
func Root() (string, error) {
	m, err := Mount()
	if err != nil {
		return "", err
	}
	return filepath.Join(m, subtree), nil
}

// Create makes (or reuses) the group <root>/<name>.
func Create(name string) (*Group, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(root, name)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("creating cgroup %s: %w", path, err)
	}
	dir, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &Group{Path: path, dir: dir}, nil
}

// Close releases the directory handle.
func (g *Group) Close() { g.dir.Close() }

// Kill kills every process in the group and removes it.
func Kill(path string) error {
	if err := os.WriteFile(filepath.Join(path, "cgroup.kill"), []byte("1"), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("killing %s: %w", path, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.Remove(path)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("removing %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// KillAll kills and removes the whole sandbox subtree, children first. It reports the groups that
// still held processes, so a restart after a crash can say what it cleaned up.
func KillAll() (busy []string, err error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(root, e.Name())
		if procs, _ := os.ReadFile(filepath.Join(path, "cgroup.procs")); len(strings.TrimSpace(string(procs))) > 0 {
			busy = append(busy, e.Name())
		}
		errs = append(errs, Kill(path))
	}
	errs = append(errs, Kill(root))
	return busy, errors.Join(errs...)
}
