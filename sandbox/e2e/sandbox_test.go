//go:build linux

// Package e2e runs the sandbox as a user would — the real command, a real control plane, real agents —
// and checks what the issue promises: nodes and pods, the demo's call graph read from the agents' flow
// API through port-forward, crash recovery, teardown, and clear errors. It needs root and the command
// line that `scripts/sandbox.sh build` prints, in FLOWLENS_SANDBOX_CMD.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"flowlens.dev/sandbox/internal/fabric"
)

// flow is the part of flow record v1 the checks read.
type flow struct {
	Protocol string `json:"protocol"`
	Client   struct {
		IP string `json:"ip"`
	} `json:"client"`
	Server struct {
		IP   string `json:"ip"`
		Port int    `json:"port"`
	} `json:"server"`
	ObservedAt        string `json:"observedAt"`
	BytesToServer     int64  `json:"bytesToServer"`
	BytesToClient     int64  `json:"bytesToClient"`
	Retransmits       int64  `json:"retransmits"`
	FailedConnections int64  `json:"failedConnections"`
}

type sandboxRun struct {
	cmd     *exec.Cmd
	output  *syncBuffer
	started time.Time
	exited  chan error
}

func sandboxCommand(t *testing.T) []string {
	line := os.Getenv("FLOWLENS_SANDBOX_CMD")
	if line == "" {
		t.Skip("FLOWLENS_SANDBOX_CMD is not set: run through scripts/test.sh, which builds the sandbox and sets it")
	}
	return strings.Fields(line)
}

func start(t *testing.T, args []string, stateDir string) *sandboxRun {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "FLOWLENS_SANDBOX_DIR="+stateDir)
	r := &sandboxRun{cmd: cmd, output: out, started: time.Now(), exited: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-r.exited:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
			}
		}
	})
	return r
}

func (r *sandboxRun) waitUp(t *testing.T) string {
	t.Helper()
	deadline := time.After(4 * time.Minute)
	for !strings.Contains(r.output.String(), "FlowLens sandbox is up.") {
		select {
		case err := <-r.exited:
			t.Fatalf("sandbox exited before it was up (%v):\n%s", err, r.output.String())
		case <-deadline:
			t.Fatalf("sandbox not up after 4 minutes:\n%s", r.output.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	m := regexp.MustCompile(`export KUBECONFIG=(\S+)`).FindStringSubmatch(r.output.String())
	if m == nil {
		t.Fatalf("no kubeconfig path printed:\n%s", r.output.String())
	}
	return m[1]
}

func TestSandbox(t *testing.T) {
	args := sandboxCommand(t)
	stateDir := t.TempDir()

	first := start(t, args, stateDir)
	kubeconfig := first.waitUp(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()

	t.Run("the host's routes to outside ranges are untouched", func(t *testing.T) {
		out, err := exec.Command("ip", "route", "show", "dev", fabric.Bridge).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, cidr := range []string{"203.0.113.", "198.51.100."} {
			if strings.Contains(string(out), cidr) {
				t.Errorf("the sandbox routes %s* to its bridge in the host namespace:\n%s", cidr, out)
			}
		}
	})

	t.Run("kubeconfig context", func(t *testing.T) {
		raw, err := clientcmd.LoadFromFile(kubeconfig)
		if err != nil || raw.CurrentContext != "flowlens-sandbox" {
			t.Fatalf("current context %q, %v", raw.CurrentContext, err)
		}
	})

	t.Run("nodes are Ready in three zones with their InternalIPs", func(t *testing.T) {
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, n := range nodes.Items {
			ready := false
			for _, c := range n.Status.Conditions {
				ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
			}
			if !ready {
				t.Errorf("node %s is not Ready", n.Name)
			}
			for _, a := range n.Status.Addresses {
				if a.Type == corev1.NodeInternalIP {
					got[n.Name] = n.Labels["topology.kubernetes.io/zone"] + " " + a.Address
				}
			}
		}
		want := map[string]string{"node-a": "zone-a 198.19.0.1", "node-b": "zone-b 198.19.0.2", "node-c": "zone-c 198.19.0.3"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("nodes: got %v, want %v", got, want)
		}
	})

	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	podByIP := map[string]corev1.Pod{}
	t.Run("demo pods are Running with IPs from their node's pod CIDR", func(t *testing.T) {
		cidrs := map[string]string{"node-a": "198.18.1.0/24", "node-b": "198.18.2.0/24", "node-c": "198.18.3.0/24"}
		workloads := map[string]int{}
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodRunning {
				t.Errorf("pod %s/%s is %s", p.Namespace, p.Name, p.Status.Phase)
			}
			_, cidr, _ := net.ParseCIDR(cidrs[p.Spec.NodeName])
			if cidr == nil || !cidr.Contains(net.ParseIP(p.Status.PodIP)) {
				t.Errorf("pod %s/%s on %s has IP %q outside %s", p.Namespace, p.Name, p.Spec.NodeName, p.Status.PodIP, cidrs[p.Spec.NodeName])
			}
			podByIP[p.Status.PodIP] = p
			workloads[p.Namespace+"/"+workload(p)]++
		}
		for w, n := range map[string]int{"ui/ui": 2, "catalog/catalog": 2, "carts/carts": 2, "orders/orders": 2, "checkout/checkout": 1, "gallery/photos": 2, "kube-system/coredns": 2, "flowlens-system/flowlens-agent": 3} {
			if workloads[w] != n {
				t.Errorf("%s has %d running pods, want %d", w, workloads[w], n)
			}
		}
	})

	t.Run("Services have ClusterIPs and EndpointSlices with ready endpoints", func(t *testing.T) {
		_, serviceCIDR, _ := net.ParseCIDR("198.19.128.0/17")
		for _, ns := range []string{"ui", "catalog", "carts", "orders", "checkout", "kube-system"} {
			services, _ := client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
			if len(services.Items) == 0 {
				t.Errorf("namespace %s has no Service", ns)
			}
			for _, s := range services.Items {
				if !serviceCIDR.Contains(net.ParseIP(s.Spec.ClusterIP)) {
					t.Errorf("Service %s/%s has ClusterIP %s outside %s", ns, s.Name, s.Spec.ClusterIP, serviceCIDR)
				}
				waitFor(t, 30*time.Second, "EndpointSlice of "+ns+"/"+s.Name, func() bool {
					slices, _ := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + s.Name})
					for _, sl := range slices.Items {
						for _, e := range sl.Endpoints {
							if e.Conditions.Ready != nil && *e.Conditions.Ready && len(e.Addresses) > 0 {
								return true
							}
						}
					}
					return false
				})
			}
		}
	})

	t.Run("the agents' flow API, through port-forward, shows the demo's call graph", func(t *testing.T) {
		var firstFlows time.Duration
		var flows []flow
		want := expectedEdges()
		deadline := time.Now().Add(90 * time.Second)
		for {
			flows = flows[:0]
			for _, p := range pods.Items {
				if p.Namespace == "flowlens-system" {
					flows = append(flows, fetchFlows(t, cfg, client, p)...)
				}
			}
			if firstFlows == 0 && len(flows) > 0 {
				firstFlows = time.Since(first.started)
				fmt.Printf("sandbox: %.1f s from command to first flows through port-forward\n", firstFlows.Seconds())
			}
			missing := missingEdges(want, flows, podByIP)
			if len(missing) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("edges never seen within 90 s:\n  %s", strings.Join(missing, "\n  "))
			}
			time.Sleep(2 * time.Second)
		}
		if firstFlows > 60*time.Second {
			t.Errorf("first flows after %s, target under 60 s", firstFlows)
		}
	})

	t.Run("scaling a Deployment creates and removes pod network namespaces", func(t *testing.T) {
		scale := func(replicas int32) {
			s, err := client.AppsV1().Deployments("catalog").GetScale(ctx, "catalog", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s.Spec.Replicas = replicas
			if _, err := client.AppsV1().Deployments("catalog").UpdateScale(ctx, "catalog", s, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 60*time.Second, fmt.Sprintf("%d catalog pods with one network namespace each", replicas), func() bool {
				list, err := client.CoreV1().Pods("catalog").List(ctx, metav1.ListOptions{LabelSelector: "app=catalog"})
				if err != nil {
					return false
				}
				running := map[string]bool{}
				for _, p := range list.Items {
					if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
						running[fabric.Namespace("catalog."+p.Name)] = true
					}
				}
				namespaces := 0
				for _, l := range fabric.Leftovers() {
					name := strings.TrimPrefix(l, "netns ")
					if strings.HasPrefix(name, fabric.Namespace("catalog.")) {
						if !running[name] {
							return false
						}
						namespaces++
					}
				}
				return len(running) == int(replicas) && namespaces == int(replicas)
			})
		}
		scale(3)
		scale(1)
	})

	t.Run("a crash is cleaned up by the next start", func(t *testing.T) {
		_ = first.cmd.Process.Kill()
		<-first.exited
		if len(fabric.Leftovers()) == 0 {
			t.Fatal("killing the sandbox left nothing behind, so this test cannot show the cleanup")
		}
		second := start(t, args, stateDir)
		second.waitUp(t)
		if !strings.Contains(second.output.String(), "removed leftovers of an earlier run") {
			t.Errorf("the second start did not report the crash leftovers it removed:\n%s", second.output.String())
		}
		if err := second.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-second.exited:
			if err != nil {
				t.Fatalf("sandbox exited with %v:\n%s", err, second.output.String())
			}
		case <-time.After(90 * time.Second):
			t.Fatal("sandbox did not stop within 90 s of Ctrl-C")
		}
	})

	t.Run("teardown leaves the machine as it found it", func(t *testing.T) {
		if left := fabric.Leftovers(); len(left) > 0 {
			t.Errorf("network objects left: %v", left)
		}
		if matches, _ := filepath.Glob("/sys/fs/cgroup/unified/flowlens-sandbox"); len(matches) > 0 {
			t.Errorf("cgroup subtree left: %v", matches)
		}
		if _, err := os.Stat("/sys/fs/bpf/flowlens-sandbox"); err == nil {
			t.Error("pinned BPF maps left in /sys/fs/bpf/flowlens-sandbox")
		}
		out, _ := exec.Command("pgrep", "-f", stateDir).Output()
		if len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("processes left: %s", out)
		}
		for _, port := range []string{"127.0.0.1:16443", "127.0.0.1:12379"} {
			if c, err := net.DialTimeout("tcp", port, time.Second); err == nil {
				c.Close()
				t.Errorf("%s still listening", port)
			}
		}
	})
}

func TestClearErrors(t *testing.T) {
	args := sandboxCommand(t)
	t.Run("ports taken", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:16443")
		if err != nil {
			t.Skipf("cannot hold the port for the test: %v", err)
		}
		defer l.Close()
		out, err := exec.Command(args[0], append(args[1:], "--state-dir", t.TempDir())...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "port 127.0.0.1:16443 is taken") {
			t.Fatalf("want a clear error about the taken port, got %v:\n%s", err, out)
		}
		if left := fabric.Leftovers(); len(left) > 0 {
			t.Errorf("a failed start left %v", left)
		}
	})
	t.Run("not root", func(t *testing.T) {
		// A copy the unprivileged user can execute (the original may sit under /root).
		dir, err := os.MkdirTemp("", "flowlens-sandbox-nonroot-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "flowlens-sandbox")
		data, err := os.ReadFile(args[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil || os.Chmod(dir, 0o755) != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, append(args[1:], "--state-dir", dir)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "the sandbox needs root") {
			t.Fatalf("want a clear error about root, got %v:\n%s", err, out)
		}
	})
}

type edge struct {
	name     string
	protocol string
	client   string // namespace/workload of the client pod
	server   string // namespace/workload of the server pod, or an outside address
	port     int    // the server pod's port (target port, not the Service port)
	side     string // which agent observation proves it
	check    func(sum flow) string
}

func expectedEdges() []edge {
	positive := func(what string, get func(flow) int64) func(flow) string {
		return func(f flow) string {
			if get(f) <= 0 {
				return what + " is 0"
			}
			return ""
		}
	}
	bytesFlow := positive("bytes to server", func(f flow) int64 { return f.BytesToServer })
	return []edge{
		{"ui -> catalog on the pod's port 8080 (Service port 80)", "TCP", "ui/ui", "catalog/catalog", 8080, "server", bytesFlow},
		{"ui -> carts on named target port api=8081 (Service port 80)", "TCP", "ui/ui", "carts/carts", 8081, "server", bytesFlow},
		{"ui -> checkout", "TCP", "ui/ui", "checkout/checkout", 8080, "server", bytesFlow},
		{"checkout -> carts", "TCP", "checkout/checkout", "carts/carts", 8081, "server", bytesFlow},
		{"checkout -> orders, lossy: retransmissions", "TCP", "checkout/checkout", "orders/orders", 9090, "client-or-server", positive("retransmits", func(f flow) int64 { return f.Retransmits })},
		{"DNS from ui to coredns over UDP 53", "UDP", "ui/ui", "kube-system/coredns", 53, "server", bytesFlow},
		{"DNS from gallery to coredns", "UDP", "gallery/photos", "kube-system/coredns", 53, "server", bytesFlow},
		{"photos -> S3 (cloud service)", "TCP", "gallery/photos", "203.0.113.10", 80, "client", positive("upload bytes", func(f flow) int64 { return f.BytesToServer })},
		{"photos -> DynamoDB (cloud service)", "TCP", "gallery/photos", "203.0.113.20", 80, "client", bytesFlow},
		{"photos -> internet", "TCP", "gallery/photos", "198.51.100.10", 80, "client", positive("download bytes", func(f flow) int64 { return f.BytesToClient })},
		{"checkout -> orders:9999, nobody serves it: failed connections", "TCP", "checkout/checkout", "", 9999, "client", positive("failed connections", func(f flow) int64 { return f.FailedConnections })},
	}
}

// missingEdges sums the flows of each expected edge and says which are absent or lack their evidence.
// Client pods are resolved from the API's pod list: an agent labels only its own node's pods.
func missingEdges(want []edge, flows []flow, podByIP map[string]corev1.Pod) []string {
	var missing []string
	for _, e := range want {
		var sum flow
		n := 0
		for _, f := range flows {
			client, ok := podByIP[f.Client.IP]
			if !ok || f.Protocol != e.protocol || client.Namespace+"/"+workload(client) != e.client || f.Server.Port != e.port {
				continue
			}
			if e.side != "client-or-server" && f.ObservedAt != e.side {
				continue
			}
			if server, ok := podByIP[f.Server.IP]; ok {
				if server.Namespace+"/"+workload(server) != e.server {
					continue
				}
			} else if e.server != "" && f.Server.IP != e.server {
				continue
			}
			n++
			sum.BytesToServer += f.BytesToServer
			sum.BytesToClient += f.BytesToClient
			sum.Retransmits += f.Retransmits
			sum.FailedConnections += f.FailedConnections
		}
		if n == 0 {
			missing = append(missing, e.name+": no flow")
		} else if problem := e.check(sum); problem != "" {
			missing = append(missing, fmt.Sprintf("%s: %s (over %d records)", e.name, problem, n))
		}
	}
	return missing
}

func workload(p corev1.Pod) string {
	for _, o := range p.OwnerReferences {
		if o.Kind == "ReplicaSet" {
			if i := strings.LastIndex(o.Name, "-"); i > 0 {
				return o.Name[:i]
			}
		}
		return o.Name
	}
	return p.Name
}

// fetchFlows reads an agent's flows through a real port-forward to its pod, as the extension does.
func fetchFlows(t *testing.T, cfg *rest.Config, client kubernetes.Interface, pod corev1.Pod) []flow {
	t.Helper()
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	url := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	stop, ready := make(chan struct{}), make(chan struct{})
	defer close(stop)
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:9102"}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() { errs <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-errs:
		t.Fatalf("port-forward to %s: %v", pod.Name, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("port-forward to %s not ready", pod.Name)
	}
	ports, err := fw.GetPorts()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/v1/flows?since=%s", ports[0].Local, time.Now().Add(-10*time.Minute).UTC().Format(time.RFC3339)))
	if err != nil {
		t.Fatalf("GET /v1/flows from %s: %v", pod.Name, err)
	}
	defer resp.Body.Close()
	var body struct {
		Node  string `json:"node"`
		Flows []flow `json:"flows"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding flows from %s: %v", pod.Name, err)
	}
	if body.Node != pod.Spec.NodeName {
		t.Errorf("agent pod %s on %s answered as node %q", pod.Name, pod.Spec.NodeName, body.Node)
	}
	return body.Flows
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
