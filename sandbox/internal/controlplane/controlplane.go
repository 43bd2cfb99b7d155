// Package controlplane starts a real Kubernetes control plane on loopback: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, with generated credentials and an admin kubeconfig.
package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"flowlens.dev/sandbox/internal/pki"
	"flowlens.dev/sandbox/internal/proc"
)

// Ports on 127.0.0.1; chosen away from the defaults so that a real cluster's components on this
// machine do not collide with the sandbox.
const (
	APIServerPort = 16443
	EtcdPort      = 12379
	etcdPeerPort  = 12380
	// ServiceCIDR holds ClusterIPs; node addresses use 198.19.0.0/24 of the same /16.
	ServiceCIDR = "198.19.128.0/17"
	// ContextName is the kubeconfig context the sandbox writes.
	ContextName = "flowlens-sandbox"
)

// Config says where the binaries are, where state goes and which cgroup the components run in.
type Config struct {
	BinDir   string
	StateDir string
	CgroupFD int
	Log      func(format string, args ...any)
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	// Kubeconfig is the admin kubeconfig (context flowlens-sandbox).
	Kubeconfig string
	// CA signs every sandbox certificate; the simulated kubelets get theirs from it too.
	CA        *pki.Authority
	processes []*proc.Process
}

// Start brings the control plane up and waits until the API server is ready.
func Start(ctx context.Context, cfg Config) (*ControlPlane, error) {
	cp := &ControlPlane{}
	ok := false
	defer func() {
		if !ok {
			cp.Stop()
		}
	}()
	pkiDir := filepath.Join(cfg.StateDir, "pki")
	ca, err := pki.NewAuthority(pkiDir)
	if err != nil {
		return nil, err
	}
	cp.CA = ca
	servingCert, servingKey, err := ca.Issue("apiserver", "kube-apiserver", nil, "127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
	if err != nil {
		return nil, err
	}
	kubeletClientCert, kubeletClientKey, err := ca.Issue("apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"})
	if err != nil {
		return nil, err
	}
	saKey, saPub, err := pki.ServiceAccountKeys(pkiDir)
	if err != nil {
		return nil, err
	}
	kubeconfigs := map[string]string{}
	for _, id := range []struct {
		name, user string
		groups     []string
	}{
		{"admin", "flowlens-admin", []string{"system:masters"}},
		{"controller-manager", "system:kube-controller-manager", nil},
		{"scheduler", "system:kube-scheduler", nil},
	} {
		certPath, keyPath, err := ca.Issue(id.name, id.user, id.groups)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(cfg.StateDir, id.name+".kubeconfig")
		if err := writeKubeconfig(path, ca.CACertPath(), certPath, keyPath); err != nil {
			return nil, err
		}
		kubeconfigs[id.name] = path
	}
	cp.Kubeconfig = kubeconfigs["admin"]

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", EtcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeerPort)
	if err := cp.start(cfg, "etcd", "--data-dir", filepath.Join(cfg.StateDir, "etcd"), "--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL, "--initial-cluster", "default="+peerURL, "--unsafe-no-fsync", "--log-level", "warn"); err != nil {
		return nil, err
	}
	if err := cp.start(cfg, "kube-apiserver",
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", fmt.Sprintf("--secure-port=%d", APIServerPort),
		"--tls-cert-file", servingCert, "--tls-private-key-file", servingKey, "--client-ca-file", ca.CACertPath(),
		"--authorization-mode", "Node,RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", saPub, "--service-account-signing-key-file", saKey,
		"--service-cluster-ip-range", ServiceCIDR,
		"--kubelet-client-certificate", kubeletClientCert, "--kubelet-client-key", kubeletClientKey,
		"--kubelet-preferred-address-types", "InternalIP",
		// The API server's own endpoint would be 127.0.0.1, which EndpointSlices reject: nothing in the
		// sandbox dials the kubernetes Service, so its endpoints are not maintained.
		"--allow-privileged=false", "--profiling=false", "--endpoint-reconciler-type", "none"); err != nil {
		return nil, err
	}
	cfg.Log("waiting for kube-apiserver on https://127.0.0.1:%d", APIServerPort)
	if err := cp.waitReady(ctx, ca.CACertPath()); err != nil {
		return nil, err
	}
	common := func(name string) []string {
		kc := kubeconfigs[name]
		return []string{"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc, "--bind-address", "127.0.0.1", "--leader-elect=false"}
	}
	if err := cp.start(cfg, "kube-controller-manager", append(common("controller-manager"), "--secure-port=0",
		"--service-account-private-key-file", saKey, "--root-ca-file", ca.CACertPath(), "--use-service-account-credentials=true",
		"--controllers", "*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller")...); err != nil {
		return nil, err
	}
	if err := cp.start(cfg, "kube-scheduler", append(common("scheduler"), "--secure-port=0")...); err != nil {
		return nil, err
	}
	ok = true
	return cp, nil
}

func (cp *ControlPlane) start(cfg Config, name string, args ...string) error {
	p, err := proc.Start(filepath.Join(cfg.StateDir, "logs"), name, cfg.CgroupFD, nil, filepath.Join(cfg.BinDir, name), args...)
	if err != nil {
		return err
	}
	cp.processes = append(cp.processes, p)
	return nil
}

// Processes lists the running components, for health checks.
func (cp *ControlPlane) Processes() []*proc.Process { return cp.processes }

// Stop ends the components in reverse order of start.
func (cp *ControlPlane) Stop() {
	for i := len(cp.processes) - 1; i >= 0; i-- {
		cp.processes[i].Stop(5 * time.Second)
	}
	cp.processes = nil
}

func (cp *ControlPlane) waitReady(ctx context.Context, caPath string) error {
	pem, err := os.ReadFile(caPath)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range cp.processes {
			if exited, err := p.Exited(); exited {
				return fmt.Errorf("%s exited during start (%v); see its log in the state directory", p.Name, err)
			}
		}
		// /readyz answers 401 to anonymous clients once it serves at all; /livez is public.
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/livez", APIServerPort))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("kube-apiserver not ready after 90 s")
}

func writeKubeconfig(path, caPath, certPath, keyPath string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[ContextName] = &clientcmdapi.Cluster{Server: fmt.Sprintf("https://127.0.0.1:%d", APIServerPort), CertificateAuthority: caPath}
	cfg.AuthInfos[ContextName] = &clientcmdapi.AuthInfo{ClientCertificate: certPath, ClientKey: keyPath}
	cfg.Contexts[ContextName] = &clientcmdapi.Context{Cluster: ContextName, AuthInfo: ContextName}
	cfg.CurrentContext = ContextName
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// Embed the files so the kubeconfig works wherever it is copied.
	loaded, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return err
	}
	if err := clientcmdapi.FlattenConfig(loaded); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*loaded, path)
}

// PortsFree reports which of the sandbox's fixed ports are taken, for a clear error before starting.
func PortsFree() error {
	for _, port := range []int{APIServerPort, EtcdPort, etcdPeerPort} {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return fmt.Errorf("port 127.0.0.1:%d is taken (another sandbox, or something else, is using it)", port)
		}
		l.Close()
	}
	return nil
}
