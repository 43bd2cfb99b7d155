package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// demoAppBinary builds the static binary once per test run, exactly as the sandbox does.
func demoAppBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if buildDir, err = os.MkdirTemp("", "demo-app-test-"); err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command(goTool, "build", "-o", filepath.Join(buildDir, "demo-app"), ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "demo-app")
}

// syncBuffer collects a process's stderr while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a demo-app process started by a test; it is killed at cleanup if still running.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	err    error // from Wait, once done is closed
}

// startProc runs argv; the process is killed at the end of the test if it is still running.
func startProc(t *testing.T, argv ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = p.stderr
	// If the test binary dies without its cleanups (a go test timeout), the process dies with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			name := filepath.Base(argv[0])
			for i, a := range argv[:len(argv)-1] {
				if a == "--name" {
					name = argv[i+1]
				}
			}
			t.Logf("%s stderr:\n%s", name, p.stderr.String())
		}
	})
	return p
}

// waitLog waits until the process has logged a line containing every one of parts.
func (p *proc) waitLog(t *testing.T, timeout time.Duration, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			if containsAll(line, parts...) {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("process exited (%v) before logging %q:\n%s", p.err, parts, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %s:\n%s", parts, timeout, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends sig and checks the process exits 0 within a second.
func (p *proc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		t.Fatalf("no exit 3 s after %v", sig)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("exit took %s after %v, want under 1 s", d, sig)
	}
	if p.err != nil {
		t.Errorf("exit after %v: %v, want status 0", sig, p.err)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func countLines(s string, parts ...string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		if containsAll(line, parts...) {
			n++
		}
	}
	return n
}

func exitCode(t *testing.T, p *proc) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("process did not exit")
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// TestBinaryExitCodes: a usage error exits 2 with the precise message, a taken port exits 1.
// Loopback only; no privileges needed.
func TestBinaryExitCodes(t *testing.T) {
	bin := demoAppBinary(t)

	p := startProc(t, bin, "--http", "eighty")
	if code := exitCode(t, p); code != 2 || !strings.HasPrefix(p.stderr.String(), `demo-app: --http "eighty": not a port number (1-65535)`+"\n") {
		t.Errorf("usage error: exit %d, stderr:\n%s", code, p.stderr.String())
	}

	p = startProc(t, bin, "--help")
	if code := exitCode(t, p); code != 0 || !strings.Contains(p.stderr.String(), "usage: demo-app [flags]") {
		t.Errorf("--help: exit %d, output:\n%s", code, p.stderr.String())
	}

	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	p = startProc(t, bin, "--name", "x", "--http", port)
	if code := exitCode(t, p); code != 1 || !containsAll(p.stderr.String(), "cannot start", "--http "+port, "address already in use") {
		t.Errorf("port taken: exit %d, stderr:\n%s", code, p.stderr.String())
	}

	p = startProc(t, bin, "--dns", port, "--dns-records", filepath.Join(t.TempDir(), "missing.json"))
	if code := exitCode(t, p); code != 1 || !containsAll(p.stderr.String(), "cannot start", "--dns "+port, "missing.json: no such file") {
		t.Errorf("records missing: exit %d, stderr:\n%s", code, p.stderr.String())
	}
}

// TestBinarySignals: busy with calls, connects and servers, the process exits 0 within 1 s of SIGINT
// or SIGTERM and writes its final stats. Loopback only.
func TestBinarySignals(t *testing.T) {
	bin := demoAppBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			closed := l.Addr().String()
			// Hold this one open without ever answering: calls to it are in flight at the signal.
			silent, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer silent.Close()
			l.Close()
			stats := filepath.Join(t.TempDir(), "stats.json")
			p := startProc(t, bin, "--name", "sig", "--stats", stats, "--jitter",
				"--connect", closed+"|50", "--call", "http://"+silent.Addr().String()+"/|50|1000|1000")
			p.waitLog(t, 5*time.Second, "connect failed", "connection refused")
			time.Sleep(300 * time.Millisecond)
			p.stop(t, sig)
			if !strings.Contains(p.stderr.String(), "msg=stopping") {
				t.Errorf("no stopping line:\n%s", p.stderr.String())
			}
			f := readStats(t, stats)
			if f.Connects[0].Errors == 0 || f.Calls[0].Attempts != 0 {
				t.Errorf("final stats: %+v", f)
			}
		})
	}
}
