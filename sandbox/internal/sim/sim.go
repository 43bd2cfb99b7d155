package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"flowlens.dev/sandbox/internal/cgroups"
	"flowlens.dev/sandbox/internal/fabric"
	"flowlens.dev/sandbox/internal/proc"
)

const (
	// DemoAppImage marks the containers whose args are demo-app flags.
	DemoAppImage = "flowlens/demo-app"
	// LossAnnotation on a pod drops that percentage of TCP packets arriving at it.
	LossAnnotation = "sandbox.flowlens.dev/ingress-loss-percent"
	// AgentNamespace and AgentLabel identify FlowLens agent pods (agent-manifests/).
	AgentNamespace = "flowlens-system"
	AgentLabel     = "app.kubernetes.io/name=flowlens-agent"
	agentSA        = "flowlens-agent"
)

var portForwardGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "portforwards"}

// Config wires the simulator to the cluster and the host.
type Config struct {
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface
	StateDir   string
	DemoAppBin string
	AgentBin   string
	// CACert is the cluster CA, for the agents' kubeconfig.
	CACert string
	Server string
	Fabric *fabric.Fabric
	// NodeGroups holds each node's cgroup: its pods run there and its agent attaches there.
	NodeGroups map[string]*cgroups.Group
	AgentGroup *cgroups.Group
	Log        func(format string, args ...any)
}

type runningPod struct {
	name    string // namespace/name
	netns   string
	node    string
	process *proc.Process
	started time.Time
}

type runningAgent struct {
	podUID  types.UID
	podIP   string
	process *proc.Process
}

// Sim reconciles the cluster's pods and Services into namespaces, processes and rules.
type Sim struct {
	cfg       Config
	factory   informers.SharedInformerFactory
	trigger   chan struct{}
	pods      map[types.UID]*runningPod
	agents    map[string]*runningAgent // by node
	rules     map[string]string        // netns -> applied ruleset
	dnsJSON   string
	forwarded map[types.UID]bool
	warned    map[string]bool
	mu        sync.Mutex
}

// New prepares a simulator; Run starts it.
func New(cfg Config) *Sim {
	return &Sim{
		cfg:       cfg,
		factory:   informers.NewSharedInformerFactory(cfg.Client, 0),
		trigger:   make(chan struct{}, 1),
		pods:      map[types.UID]*runningPod{},
		agents:    map[string]*runningAgent{},
		rules:     map[string]string{},
		forwarded: map[types.UID]bool{},
		warned:    map[string]bool{},
	}
}

// DNSRecordsPath is the file the cluster DNS pods answer from.
func (s *Sim) DNSRecordsPath() string { return filepath.Join(s.cfg.StateDir, "dns-records.json") }

// Run reconciles until ctx ends, then stops every process it started and removes their namespaces.
func (s *Sim) Run(ctx context.Context) error {
	poke := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.poke() },
		UpdateFunc: func(any, any) { s.poke() },
		DeleteFunc: func(any) { s.poke() },
	}
	for _, inf := range []cache.SharedIndexInformer{s.factory.Core().V1().Pods().Informer(), s.factory.Core().V1().Services().Informer(), s.factory.Discovery().V1().EndpointSlices().Informer()} {
		if _, err := inf.AddEventHandler(poke); err != nil {
			return err
		}
	}
	s.factory.Start(ctx.Done())
	for typ, ok := range s.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("watching %v did not sync", typ)
		}
	}
	defer s.shutdown()
	// Periodic resync restarts pod programs that died.
	ticker := time.NewTicker(5 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.trigger:
		case <-ticker.C:
		}
		// Coalesce bursts (a rollout changes many objects at once).
		time.Sleep(100 * time.Millisecond)
		s.reconcile(ctx)
	}
}

func (s *Sim) poke() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// Snapshot lists the pods and agents currently simulated, for status output and tests.
func (s *Sim) Snapshot() (pods []string, agents []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pods {
		pods = append(pods, p.name)
	}
	for node := range s.agents {
		agents = append(agents, node)
	}
	sort.Strings(pods)
	sort.Strings(agents)
	return pods, agents
}

func (s *Sim) reconcile(ctx context.Context) {
	pods, err := s.factory.Core().V1().Pods().Lister().List(labels.Everything())
	if err != nil {
		s.cfg.Log("listing pods: %v", err)
		return
	}
	s.reconcileDemoPods(pods)
	s.reconcileAgents(ctx, pods)
	s.reconcileServices()
}

func runningOnSimNode(p *corev1.Pod) (Node, bool) {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
		return Node{}, false
	}
	return NodeByName(p.Spec.NodeName)
}

func demoArgs(p *corev1.Pod) ([]string, bool) {
	for _, c := range p.Spec.Containers {
		if strings.HasPrefix(c.Image, DemoAppImage) {
			return c.Args, true
		}
	}
	return nil, false
}

func (s *Sim) reconcileDemoPods(pods []*corev1.Pod) {
	desired := map[types.UID]*corev1.Pod{}
	for _, p := range pods {
		if _, ok := runningOnSimNode(p); !ok || p.Spec.HostNetwork {
			continue
		}
		if _, ok := demoArgs(p); ok {
			desired[p.UID] = p
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for uid, rp := range s.pods {
		_, wanted := desired[uid]
		exited, _ := rp.process.Exited()
		if wanted && (!exited || time.Since(rp.started) < 5*time.Second) {
			continue // running, or crashed right after start: back off before restarting
		}
		rp.process.Stop(2 * time.Second)
		if err := s.cfg.Fabric.RemoveHost(rp.netns); err != nil {
			s.cfg.Log("removing %s: %v", rp.name, err)
		}
		delete(s.rules, rp.netns)
		delete(s.pods, uid)
		if !wanted {
			s.cfg.Log("pod %s stopped", rp.name)
		}
	}
	for uid, p := range desired {
		if _, ok := s.pods[uid]; ok {
			continue
		}
		if err := s.startDemoPod(p); err != nil {
			key := p.Namespace + "/" + p.Name
			if !s.warned[key] {
				s.cfg.Log("pod %s: %v", key, err)
				s.warned[key] = true
			}
		}
	}
}

func (s *Sim) startDemoPod(p *corev1.Pod) error {
	node, _ := NodeByName(p.Spec.NodeName)
	netns := PodNamespace(p.Namespace, p.Name)
	if err := s.cfg.Fabric.AddHost(netns, p.Status.PodIP+"/16"); err != nil {
		return err
	}
	args, _ := demoArgs(p)
	args = append([]string{}, args...)
	for _, a := range args {
		if strings.HasPrefix(a, "--dns=") || a == "--dns" {
			args = append(args, "--dns-records="+s.DNSRecordsPath())
			break
		}
	}
	name := fmt.Sprintf("pod-%s.%s", p.Namespace, p.Name)
	process, err := proc.Start(filepath.Join(s.cfg.StateDir, "logs"), name, s.cfg.NodeGroups[node.Name].FD(), nil,
		"ip", append([]string{"netns", "exec", fabric.Namespace(netns), s.cfg.DemoAppBin, "--name=" + p.Namespace + "/" + p.Name}, args...)...)
	if err != nil {
		_ = s.cfg.Fabric.RemoveHost(netns)
		return err
	}
	s.pods[p.UID] = &runningPod{name: p.Namespace + "/" + p.Name, netns: netns, node: node.Name, process: process, started: time.Now()}
	return nil
}

// reconcileServices renders kube-proxy's job: every pod namespace gets DNAT rules for every Service
// port with ready endpoints; and the DNS records file gets every Service name.
func (s *Sim) reconcileServices() {
	services, _ := s.factory.Core().V1().Services().Lister().List(labels.Everything())
	slices, _ := s.factory.Discovery().V1().EndpointSlices().Lister().List(labels.Everything())
	var rules []fabric.ServiceRule
	records := map[string][]string{}
	for _, h := range OutsideHosts {
		for _, n := range h.DNSNames {
			records[n] = []string{h.IP}
		}
	}
	for _, svc := range services {
		if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		records[fmt.Sprintf("%s.%s.svc.cluster.local", svc.Name, svc.Namespace)] = []string{svc.Spec.ClusterIP}
		for _, port := range svc.Spec.Ports {
			rules = append(rules, fabric.ServiceRule{
				ClusterIP: svc.Spec.ClusterIP,
				Port:      int(port.Port),
				Protocol:  strings.ToLower(string(port.Protocol)),
				Backends:  backends(svc, port, slices),
			})
		}
	}
	if data, err := json.MarshalIndent(records, "", "  "); err == nil && string(data) != s.dnsJSON {
		tmp := s.DNSRecordsPath() + ".tmp"
		if err := os.WriteFile(tmp, data, 0o644); err == nil && os.Rename(tmp, s.DNSRecordsPath()) == nil {
			s.dnsJSON = string(data)
		}
	}
	pods, _ := s.factory.Core().V1().Pods().Lister().List(labels.Everything())
	loss := map[string]int{}
	for _, p := range pods {
		if v, ok := p.Annotations[LossAnnotation]; ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 100 {
				loss[PodNamespace(p.Namespace, p.Name)] = n
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rp := range s.pods {
		ruleset := fabric.Ruleset(rules, loss[rp.netns])
		if s.rules[rp.netns] == ruleset {
			continue
		}
		if err := fabric.ApplyRules(rp.netns, ruleset); err != nil {
			s.cfg.Log("rules for %s: %v", rp.name, err)
			continue
		}
		s.rules[rp.netns] = ruleset
	}
}

func backends(svc *corev1.Service, port corev1.ServicePort, slices []*discoveryv1.EndpointSlice) []fabric.ServiceBackend {
	var out []fabric.ServiceBackend
	for _, slice := range slices {
		if slice.Namespace != svc.Namespace || slice.Labels[discoveryv1.LabelServiceName] != svc.Name || slice.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		target := -1
		for _, p := range slice.Ports {
			if p.Port != nil && ptrString(p.Name) == port.Name && (p.Protocol == nil || *p.Protocol == port.Protocol) {
				target = int(*p.Port)
			}
		}
		if target < 0 {
			continue
		}
		for _, e := range slice.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				out = append(out, fabric.ServiceBackend{IP: a, Port: target})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP < out[j].IP })
	return out
}

func ptrString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// reconcileAgents runs one real flowlens-agent per node that has a Running agent pod, as that node's
// kubelet would, and makes port-forward to the pod reach the agent's loopback-only flow API.
func (s *Sim) reconcileAgents(ctx context.Context, pods []*corev1.Pod) {
	selector, _ := labels.Parse(AgentLabel)
	desired := map[string]*corev1.Pod{}
	for _, p := range pods {
		if p.Namespace != AgentNamespace || !selector.Matches(labels.Set(p.Labels)) {
			continue
		}
		if node, ok := runningOnSimNode(p); ok {
			desired[node.Name] = p
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for node, ra := range s.agents {
		p := desired[node]
		exited, err := ra.process.Exited()
		if p != nil && p.UID == ra.podUID && !exited {
			continue
		}
		if exited && p != nil {
			s.cfg.Log("agent on %s exited (%v); restarting", node, err)
		}
		ra.process.Stop(10 * time.Second)
		s.removeBridgeAddress(ra.podIP)
		delete(s.agents, node)
	}
	for nodeName, p := range desired {
		if _, ok := s.agents[nodeName]; ok {
			continue
		}
		node, _ := NodeByName(nodeName)
		if err := s.startAgent(ctx, node, p); err != nil {
			key := "agent/" + p.Name
			if !s.warned[key] {
				s.cfg.Log("agent pod %s on %s: %v", p.Name, nodeName, err)
				s.warned[key] = true
			}
			continue
		}
		if !s.forwarded[p.UID] {
			if err := s.ensurePortForward(ctx, node, p); err != nil {
				s.cfg.Log("port-forward for %s: %v", p.Name, err)
			} else {
				s.forwarded[p.UID] = true
			}
		}
	}
}

func (s *Sim) startAgent(ctx context.Context, node Node, p *corev1.Pod) error {
	kubeconfig, err := s.agentKubeconfig(ctx, node.Name)
	if err != nil {
		return err
	}
	var args []string
	for _, c := range p.Spec.Containers {
		args = append(args, c.Args...)
		break
	}
	// The pod's args, with what differs between a real node and a simulated one overridden.
	overrides := map[string]string{
		"--cgroup":      s.cfg.NodeGroups[node.Name].Path,
		"--api-address": node.AgentAPI,
		"--pin-dir":     "/sys/fs/bpf/flowlens-sandbox/" + node.Name,
	}
	var final []string
	for _, a := range args {
		key := strings.SplitN(a, "=", 2)[0]
		if _, ok := overrides[key]; !ok {
			final = append(final, a)
		}
	}
	for k, v := range overrides {
		final = append(final, k+"="+v)
	}
	// Metrics listen on the pod's IP, as in the real pod; the address is put on the bridge.
	if err := s.addBridgeAddress(p.Status.PodIP); err != nil {
		return err
	}
	env := []string{"NODE_NAME=" + node.Name, "KUBECONFIG=" + kubeconfig, "OPEN_METRICS=on", "OPEN_METRICS_ADDRESS=" + p.Status.PodIP, "OPEN_METRICS_PORT=9101"}
	process, err := proc.Start(filepath.Join(s.cfg.StateDir, "logs"), "agent-"+node.Name, s.cfg.AgentGroup.FD(), env, s.cfg.AgentBin, final...)
	if err != nil {
		s.removeBridgeAddress(p.Status.PodIP)
		return err
	}
	s.agents[node.Name] = &runningAgent{podUID: p.UID, podIP: p.Status.PodIP, process: process}
	s.cfg.Log("agent for %s started (pod %s, flow API %s, metrics %s:9101)", node.Name, p.Name, node.AgentAPI, p.Status.PodIP)
	return nil
}

// agentKubeconfig gives the agent the identity of its ServiceAccount, so RBAC applies to it as in a
// real pod: a bound token from the TokenRequest API.
func (s *Sim) agentKubeconfig(ctx context.Context, node string) (string, error) {
	expiry := int64(24 * 3600)
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}
	tr, err := s.cfg.Client.CoreV1().ServiceAccounts(AgentNamespace).CreateToken(ctx, agentSA, request, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for %s/%s: %w", AgentNamespace, agentSA, err)
	}
	path := filepath.Join(s.cfg.StateDir, "agent-"+node+".kubeconfig")
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster: {server: %q, certificate-authority: %q}
users:
- name: flowlens-agent
  user: {token: %q}
contexts:
- name: agent
  context: {cluster: sandbox, user: flowlens-agent, namespace: %s}
current-context: agent
`, s.cfg.Server, s.cfg.CACert, tr.Status.Token, AgentNamespace)
	return path, os.WriteFile(path, []byte(content), 0o600)
}

func (s *Sim) ensurePortForward(ctx context.Context, node Node, p *corev1.Pod) error {
	apiHost, apiPort, _ := strings.Cut(node.AgentAPI, ":")
	port, _ := strconv.Atoi(apiPort)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "PortForward",
		"metadata":   map[string]any{"name": p.Name, "namespace": p.Namespace},
		"spec": map[string]any{"forwards": []any{
			map[string]any{"ports": []any{int64(port)}, "target": map[string]any{"address": apiHost, "port": int64(port)}},
			map[string]any{"ports": []any{int64(9101)}, "target": map[string]any{"address": p.Status.PodIP, "port": int64(9101)}},
		}},
	}}
	_, err := s.cfg.Dynamic.Resource(portForwardGVR).Namespace(p.Namespace).Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func (s *Sim) addBridgeAddress(ip string) error {
	return fabric.AddBridgeAddress(ip + "/32")
}

func (s *Sim) removeBridgeAddress(ip string) {
	_ = fabric.RemoveBridgeAddress(ip + "/32")
}

func (s *Sim) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for node, ra := range s.agents {
		ra.process.Stop(10 * time.Second)
		s.removeBridgeAddress(ra.podIP)
		delete(s.agents, node)
	}
	for uid, rp := range s.pods {
		rp.process.Stop(2 * time.Second)
		_ = s.cfg.Fabric.RemoveHost(rp.netns)
		delete(s.pods, uid)
	}
}
