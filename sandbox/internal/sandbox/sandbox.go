// Package sandbox brings the whole sandbox up in order — host checks and leftover cleanup, cgroups, the
// network fabric, the control plane, the KWOK nodes, the outside hosts, the pod simulator, then the agent
// and demo manifests — and takes it down in reverse.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"flowlens.dev/sandbox/internal/apply"
	"flowlens.dev/sandbox/internal/cgroups"
	"flowlens.dev/sandbox/internal/controlplane"
	"flowlens.dev/sandbox/internal/fabric"
	"flowlens.dev/sandbox/internal/proc"
	"flowlens.dev/sandbox/internal/sim"
	"flowlens.dev/sandbox/manifests"
)

// Options configure a sandbox.
type Options struct {
	StateDir       string
	BinDir         string
	AgentBin       string
	DemoAppBin     string
	AgentManifests string
	NoAgents       bool
	Log            func(format string, args ...any)
}

// Sandbox is a running sandbox.
type Sandbox struct {
	Kubeconfig string
	opts       Options
	cp         *controlplane.ControlPlane
	kwoks      []*proc.Process
	hosts      []*proc.Process
	simCancel  context.CancelFunc
	simDone    chan error
	groups     []*cgroups.Group
}

const pinRoot = "/sys/fs/bpf/flowlens-sandbox"

// CheckHost says, precisely, why this machine cannot run the sandbox.
func CheckHost() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("the sandbox needs Linux (network namespaces, cgroup v2, eBPF); this is %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return errors.New("the sandbox needs root: it creates network namespaces, cgroups and eBPF programs (run it with sudo)")
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return errors.New("this kernel exposes no BTF (/sys/kernel/btf/vmlinux): the FlowLens agent's eBPF programs need it")
	}
	if _, err := cgroups.Mount(); err != nil {
		return err
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (Debian: apt-get install iproute2 nftables)", tool)
		}
	}
	return nil
}

// CleanLeftovers removes what a crashed sandbox left: processes (through their cgroups), network
// namespaces and links, and pinned BPF maps.
func CleanLeftovers() ([]string, error) {
	var cleaned []string
	busy, err := cgroups.KillAll()
	for _, b := range busy {
		cleaned = append(cleaned, "processes in cgroup "+b)
	}
	cleaned = append(cleaned, fabric.Leftovers()...)
	errs := []error{err}
	errs = append(errs, fabric.Teardown()...)
	if _, err := os.Stat(pinRoot); err == nil {
		cleaned = append(cleaned, "pinned maps "+pinRoot)
		errs = append(errs, os.RemoveAll(pinRoot))
	}
	return cleaned, errors.Join(errs...)
}

// Start brings the sandbox up. On error everything started so far is taken down again.
func Start(ctx context.Context, opts Options) (_ *Sandbox, err error) {
	sb := &Sandbox{opts: opts}
	defer func() {
		if err != nil {
			_ = sb.Stop()
		}
	}()
	begin := time.Now()
	if cleaned, err := CleanLeftovers(); err != nil {
		return nil, fmt.Errorf("cleaning up an earlier sandbox: %w", err)
	} else if len(cleaned) > 0 {
		opts.Log("removed leftovers of an earlier run: %s", strings.Join(cleaned, ", "))
	}
	if err := controlplane.PortsFree(); err != nil {
		return nil, err
	}
	// A fresh cluster each time: etcd data and credentials do not outlive a run.
	for _, d := range []string{"etcd", "pki", "logs"} {
		_ = os.RemoveAll(filepath.Join(opts.StateDir, d))
	}
	group := func(name string) (*cgroups.Group, error) {
		g, err := cgroups.Create(name)
		if err == nil {
			sb.groups = append(sb.groups, g)
		}
		return g, err
	}
	cpGroup, err := group("control-plane")
	if err != nil {
		return nil, err
	}
	nodeGroups := map[string]*cgroups.Group{}
	for _, n := range sim.Nodes {
		if nodeGroups[n.Name], err = group(n.Name); err != nil {
			return nil, err
		}
	}
	agentGroup, err := group("agents")
	if err != nil {
		return nil, err
	}
	hostGroup, err := group("outside-hosts")
	if err != nil {
		return nil, err
	}
	fab, err := fabric.Setup(sim.BridgeAddresses(), sim.BridgeRoutes)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}

	opts.Log("starting the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)")
	sb.cp, err = controlplane.Start(ctx, controlplane.Config{BinDir: opts.BinDir, StateDir: opts.StateDir, CgroupFD: cpGroup.FD(), Log: opts.Log})
	if err != nil {
		return nil, err
	}
	sb.Kubeconfig = sb.cp.Kubeconfig
	restConfig, err := clientcmd.BuildConfigFromFlags("", sb.Kubeconfig)
	if err != nil {
		return nil, err
	}
	restConfig.QPS, restConfig.Burst = 50, 100
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(restConfig)
	if err != nil {
		return nil, err
	}
	applier := apply.New(dyn, client.Discovery())
	if err := applier.Apply(ctx, "portforward-crd.yaml", manifests.PortForwardCRD); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 30*time.Second, "the PortForward CRD to be served", func() bool {
		_, err := client.Discovery().ServerResourcesForGroupVersion("kwok.x-k8s.io/v1alpha1")
		return err == nil
	}); err != nil {
		return nil, err
	}

	opts.Log("starting %d KWOK nodes", len(sim.Nodes))
	if err := sb.startNodes(ctx, client, cpGroup); err != nil {
		return nil, err
	}
	opts.Log("starting the outside hosts (S3, DynamoDB, internet)")
	if err := sb.startOutsideHosts(fab, hostGroup); err != nil {
		return nil, err
	}
	simulator := sim.New(sim.Config{
		Client: client, Dynamic: dyn, StateDir: opts.StateDir, DemoAppBin: opts.DemoAppBin, AgentBin: opts.AgentBin,
		CACert: sb.cp.CA.CACertPath(), Server: restConfig.Host, Fabric: fab, NodeGroups: nodeGroups, AgentGroup: agentGroup, Log: opts.Log,
	})
	simCtx, cancel := context.WithCancel(context.Background())
	sb.simCancel, sb.simDone = cancel, make(chan error, 1)
	go func() { sb.simDone <- simulator.Run(simCtx) }()

	if !opts.NoAgents {
		opts.Log("applying the agent manifests (%s)", opts.AgentManifests)
		if err := applyKustomization(ctx, applier, opts.AgentManifests); err != nil {
			return nil, err
		}
	}
	opts.Log("applying the demo application")
	if err := applier.Apply(ctx, "demo.yaml", manifests.Demo); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 3*time.Minute, "the demo pods to run", func() bool {
		pods, agents := simulator.Snapshot()
		want := 0
		list, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, p := range list.Items {
			if strings.HasPrefix(firstImage(p), sim.DemoAppImage) {
				want++
			}
		}
		return want > 0 && len(pods) == want && (opts.NoAgents || len(agents) == len(sim.Nodes))
	}); err != nil {
		return nil, err
	}
	opts.Log("up in %.1f s", time.Since(begin).Seconds())
	return sb, nil
}

func firstImage(p corev1.Pod) string {
	if len(p.Spec.Containers) == 0 {
		return ""
	}
	return p.Spec.Containers[0].Image
}

func (sb *Sandbox) startNodes(ctx context.Context, client kubernetes.Interface, group *cgroups.Group) error {
	stages := filepath.Join(sb.opts.BinDir, "kwok-stages.yaml")
	for _, n := range sim.Nodes {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: n.Name,
				Labels: map[string]string{
					"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
					"topology.kubernetes.io/region": "sandbox", "topology.kubernetes.io/zone": n.Zone, "type": "kwok",
				},
				Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			},
			Spec: corev1.NodeSpec{PodCIDR: n.PodCIDR, PodCIDRs: []string{n.PodCIDR}},
			Status: corev1.NodeStatus{
				Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.IP}, {Type: corev1.NodeHostName, Address: n.Name}},
				Capacity:    resources("32", "256Gi", "110"),
				Allocatable: resources("32", "256Gi", "110"),
			},
		}
		created, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating node %s: %w", n.Name, err)
		}
		if err == nil {
			// Status is a subresource: addresses and capacity go in with a status update.
			created.Status = node.Status
			if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("node %s status: %w", n.Name, err)
			}
		}
		cert, key, err := sb.cp.CA.Issue("kubelet-"+n.Name, "system:node:"+n.Name, []string{"system:nodes"}, n.IP, n.Name)
		if err != nil {
			return err
		}
		p, err := proc.Start(filepath.Join(sb.opts.StateDir, "logs"), "kwok-"+n.Name, group.FD(), nil, filepath.Join(sb.opts.BinDir, "kwok"),
			"--config", stages, "--kubeconfig", sb.Kubeconfig, "--manage-single-node", n.Name,
			"--node-ip", n.IP, "--node-port", "10250", "--server-address", n.IP+":10250",
			"--tls-cert-file", cert, "--tls-private-key-file", key, "--enable-crds", "PortForward")
		if err != nil {
			return err
		}
		sb.kwoks = append(sb.kwoks, p)
	}
	return waitFor(ctx, 60*time.Second, "the nodes to be Ready", func() bool {
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || len(nodes.Items) < len(sim.Nodes) {
			return false
		}
		for _, n := range nodes.Items {
			ready := false
			for _, c := range n.Status.Conditions {
				ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
			}
			if !ready {
				return false
			}
		}
		return true
	})
}

func resources(cpu, memory, pods string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory), corev1.ResourcePods: resource.MustParse(pods)}
}

func (sb *Sandbox) startOutsideHosts(fab *fabric.Fabric, group *cgroups.Group) error {
	for _, h := range sim.OutsideHosts {
		if err := fab.AddHost(h.Name, h.IP+"/24"); err != nil {
			return err
		}
		p, err := proc.Start(filepath.Join(sb.opts.StateDir, "logs"), "host-"+h.Name, group.FD(), nil, "ip",
			"netns", "exec", fabric.Namespace(h.Name), sb.opts.DemoAppBin, "--name="+h.Name, fmt.Sprintf("--http=%d", h.Port))
		if err != nil {
			return err
		}
		sb.hosts = append(sb.hosts, p)
	}
	return nil
}

// applyKustomization applies the resources a kustomization.yaml lists, in order.
func applyKustomization(ctx context.Context, applier *apply.Applier, dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return fmt.Errorf("reading the agent manifests: %w", err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
	}
	for _, r := range k.Resources {
		manifest, err := os.ReadFile(filepath.Join(dir, r))
		if err != nil {
			return err
		}
		if err := applier.Apply(ctx, r, manifest); err != nil {
			return err
		}
	}
	return nil
}

func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}

// Stop takes everything down in reverse order and checks nothing is left.
func (sb *Sandbox) Stop() error {
	if sb.simCancel != nil {
		sb.simCancel()
		<-sb.simDone
	}
	for _, p := range sb.hosts {
		p.Stop(2 * time.Second)
	}
	for _, p := range sb.kwoks {
		p.Stop(5 * time.Second)
	}
	if sb.cp != nil {
		sb.cp.Stop()
	}
	for _, g := range sb.groups {
		g.Close()
	}
	_, err := CleanLeftovers()
	if left := fabric.Leftovers(); len(left) > 0 {
		err = errors.Join(err, fmt.Errorf("left behind: %s", strings.Join(left, ", ")))
	}
	return err
}
