//go:build linux

// Command flowlens-sandbox runs a local Kubernetes cluster with real traffic for FlowLens: a real control
// plane on loopback (etcd, kube-apiserver, kube-controller-manager, kube-scheduler), three KWOK nodes in
// three zones, a demo application whose pods exchange real TCP and UDP traffic between network
// namespaces, and real FlowLens agents capturing it.
//
//	flowlens-sandbox up --bin-dir DIR --agent PATH --demo-app PATH --agent-manifests DIR
//	flowlens-sandbox stop
//
// `up` runs in the foreground until Ctrl-C (or `stop`), then removes everything it created. A start
// after a crash first removes what the crashed run left behind.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"flowlens.dev/sandbox/internal/sandbox"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: flowlens-sandbox up|stop [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = up(os.Args[2:])
	case "stop":
		err = stop(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (up, stop)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "flowlens-sandbox: %v\n", err)
		os.Exit(1)
	}
}

func defaultStateDir() string {
	if d := os.Getenv("FLOWLENS_SANDBOX_DIR"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "state", "flowlens-sandbox")
}

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	opts := sandbox.Options{}
	fs.StringVar(&opts.StateDir, "state-dir", defaultStateDir(), "where the kubeconfig, credentials, logs and etcd data go")
	fs.StringVar(&opts.BinDir, "bin-dir", "", "directory with kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok")
	fs.StringVar(&opts.AgentBin, "agent", "", "the flowlens-agent binary")
	fs.StringVar(&opts.DemoAppBin, "demo-app", "", "the demo-app binary")
	fs.StringVar(&opts.AgentManifests, "agent-manifests", "", "the agent-manifests directory (its kustomization lists the files)")
	fs.BoolVar(&opts.NoAgents, "no-agents", false, "do not deploy the agent (as before `FlowLens: Deploy Agent`)")
	_ = fs.Parse(args)
	for flagName, v := range map[string]string{"--bin-dir": opts.BinDir, "--agent": opts.AgentBin, "--demo-app": opts.DemoAppBin, "--agent-manifests": opts.AgentManifests} {
		if v == "" {
			return fmt.Errorf("%s is required", flagName)
		}
	}
	if err := sandbox.CheckHost(); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return err
	}
	pidFile := filepath.Join(opts.StateDir, "sandbox.pid")
	if pid, alive := running(pidFile); alive {
		return fmt.Errorf("a sandbox is already running (pid %d); stop it with `flowlens-sandbox stop`", pid)
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	defer os.Remove(pidFile)

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	opts.Log = func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "%s sandbox: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	sb, err := sandbox.Start(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Printf(`
FlowLens sandbox is up.

  export KUBECONFIG=%s
  kubectl get nodes -L topology.kubernetes.io/zone
  kubectl get pods -A -o wide

Logs: %s
Stop: Ctrl-C, or flowlens-sandbox stop
`, sb.Kubeconfig, filepath.Join(opts.StateDir, "logs"))
	<-ctx.Done()
	opts.Log("stopping")
	return sb.Stop()
}

// stop ends a running sandbox (it cleans up after itself), or cleans up after one that crashed.
func stop(args []string) error {
	fs := flag.NewFlagSet("stop", flag.ExitOnError)
	stateDir := fs.String("state-dir", defaultStateDir(), "the state directory of the sandbox to stop")
	_ = fs.Parse(args)
	pidFile := filepath.Join(*stateDir, "sandbox.pid")
	if pid, alive := running(pidFile); alive {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			return err
		}
		for i := 0; i < 600; i++ {
			if _, alive := running(pidFile); !alive {
				fmt.Println("sandbox stopped")
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return fmt.Errorf("sandbox (pid %d) did not stop within 60 s", pid)
	}
	cleaned, err := sandbox.CleanLeftovers()
	if len(cleaned) > 0 {
		fmt.Printf("no sandbox was running; removed leftovers: %s\n", strings.Join(cleaned, ", "))
	} else if err == nil {
		fmt.Println("no sandbox was running, nothing left over")
	}
	return err
}

func running(pidFile string) (int, bool) {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	// The binary may have been rebuilt since that sandbox started: its exe then reads "... (deleted)".
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	self, _ := os.Executable()
	if err != nil || filepath.Base(strings.TrimSuffix(exe, " (deleted)")) != filepath.Base(self) {
		return 0, false
	}
	return pid, !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
