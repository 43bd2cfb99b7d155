import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import { ClusterError, toClusterError } from '../../src/cluster/cluster-error';
import { identityOf, loadKubeConfig } from '../../src/cluster/kubeconfig';
import { LiveCluster, type ResourceState } from '../../src/cluster/live-cluster';
import { applyPolicies } from '../../src/cluster/policy-apply';
import { adminConfig, powerlessConfig, requireSandbox } from './sandbox-cluster';

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

suite('kubeconfig', () => {
  let dir: string;
  setup(() => (dir = mkdtempSync(join(tmpdir(), 'flowlens-kc-'))));
  teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, cluster: string, context: string | undefined) => {
    const path = join(dir, name);
    writeFileSync(
      path,
      `apiVersion: v1
kind: Config
clusters: [{name: ${cluster}, cluster: {server: "https://${cluster}.example.test"}}]
users: [{name: ${cluster}, user: {token: t}}]
contexts: [{name: ${cluster}, context: {cluster: ${cluster}, user: ${cluster}}}]
${context ? `current-context: ${context}` : ''}
`,
    );
    return path;
  };

  test('KUBECONFIG with several files merges them as kubectl does: the first current-context wins', () => {
    const a = file('a', 'alpha', undefined);
    const b = file('b', 'beta', 'beta');
    const c = file('c', 'gamma', 'gamma');
    const kc = loadKubeConfig({ env: { KUBECONFIG: [a, b, c].join(':') } });
    assert.deepEqual(kc.getContexts().map((x) => x.name), ['alpha', 'beta', 'gamma']);
    assert.equal(kc.getCurrentContext(), 'beta');
    assert.deepEqual(identityOf(kc), { context: 'beta', server: 'https://beta.example.test' });
  });

  test('an explicit path and context override; missing files and unknown contexts are clear errors', () => {
    const a = file('a', 'alpha', 'alpha');
    file('b', 'beta', 'beta');
    assert.equal(loadKubeConfig({ path: a, env: { KUBECONFIG: join(dir, 'b') } }).getCurrentContext(), 'alpha');
    assert.throws(() => loadKubeConfig({ path: a, context: 'nope' }), /kubeconfig has no context "nope" \(it has alpha\)/);
    assert.throws(() => loadKubeConfig({ env: { KUBECONFIG: join(dir, 'missing') } }), (e: ClusterError) => e.kind === 'config' && /no kubeconfig found/.test(e.message));
    assert.throws(() => loadKubeConfig({ path: file('n', 'none', undefined) }), /no current context/);
  });
});

suite('cluster errors', () => {
  test('an unreachable API server is named as such', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }], currentContext: 'ctx' });
    const e = await kc.makeApiClient(CoreV1Api).listNode().then(
      () => assert.fail('listed nodes of nothing'),
      (err: unknown) => toClusterError(err, 'list nodes', identityOf(kc)),
    );
    assert.equal(e.kind, 'unreachable');
    assert.equal(e.message, 'cannot list nodes: the API server is unreachable (context ctx, https://127.0.0.1:1) (ECONNREFUSED)');
  });

  test('a watch cut off mid-stream is a lost connection, not an unknown error', () => {
    const cut = Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    const e = toClusterError(cut, 'watch pods', { context: 'ctx', server: 'https://127.0.0.1:6443' });
    assert.equal(e.kind, 'unreachable');
    assert.equal(e.full, 'cannot watch pods: lost the connection to the API server (context ctx, https://127.0.0.1:6443). Check that the cluster is running; FlowLens reconnects by itself when it is back');
  });
});

suite('live cluster (sandbox)', function () {
  let kubeconfig: string;
  let admin: KubeConfig;
  let live: LiveCluster | undefined;
  suiteSetup(function () {
    kubeconfig = requireSandbox(this);
    admin = adminConfig(kubeconfig);
  });
  teardown(() => live?.stop());

  test('informers give the core a complete model: nodes with zones, pods with IPs, Services, EndpointSlices, owners', async () => {
    live = new LiveCluster(admin);
    await live.start();
    assert.ok(Object.values(live.states()).every((s) => s.state === 'synced'), JSON.stringify(live.states()));
    const c = live.snapshot();
    assert.deepEqual([...c.nodes.keys()].sort(), ['node-a', 'node-b', 'node-c']);
    assert.equal(c.nodes.get('node-b')?.labels.get('topology.kubernetes.io/zone'), 'zone-b');
    const ui = c.pods.filter((p) => p.namespace === 'ui');
    assert.equal(ui.length, 2);
    assert.ok(ui.every((p) => p.ips.length === 1 && p.ips[0].text.startsWith('198.18.') && p.lifetime.fromMs !== undefined));
    assert.ok(c.services.some((s) => s.namespace === 'kube-system' && s.name === 'kube-dns' && s.clusterIPs[0].text === '198.19.128.10'));
    assert.ok(c.endpointSlices.some((s) => s.serviceName === 'catalog' && s.endpoints.filter((e) => e.ready).length === 2));
    assert.ok(c.workloads.some((w) => w.kind === 'ReplicaSet' && w.namespace === 'ui' && w.owners[0]?.kind === 'Deployment'));
    assert.ok(c.namespaces.get('gallery')?.labels.get('kubernetes.io/metadata.name') === 'gallery');
  });

  test('NetworkPolicies with peers reach the model whole, listed at start and watched live', async () => {
    const net = admin.makeApiClient(NetworkingV1Api);
    const name = `live-test-${Date.now().toString(36)}`;
    // Written as FlowLens applies them (raw JSON): the typed client would drop `from` on the way out, too.
    const create = async (n: string) => assert.ok((await applyPolicies(admin, [body(n)]))[0].ok);
    const body = (n: string) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: n, namespace: 'ui' },
      spec: { podSelector: { matchLabels: { app: 'ui' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'checkout' } } }, { ipBlock: { cidr: '198.51.100.0/24', except: ['198.51.100.7/32'] } }] }] },
    });
    await create(`${name}-a`);
    try {
      live = new LiveCluster(admin);
      await live.start();
      const listed = live.snapshot().policies.find((p) => p.name === `${name}-a`);
      assert.equal(listed?.ingress[0].peers.length, 2, 'both peers of the listed policy');
      await create(`${name}-b`);
      await until('the watched policy with its peers', () => live!.snapshot().policies.find((p) => p.name === `${name}-b`)?.ingress[0].peers.length === 2);
    } finally {
      for (const n of [`${name}-a`, `${name}-b`]) {
        await net.deleteNamespacedNetworkPolicy({ name: n, namespace: 'ui' }).catch(() => undefined);
      }
    }
  });

  test('changes arrive live; a deleted pod stays resolvable with the time it ended', async () => {
    let changes = 0;
    live = new LiveCluster(admin, { onChange: () => changes++ });
    await live.start();
    const apps = admin.makeApiClient(AppsV1Api);
    const core = admin.makeApiClient(CoreV1Api);
    const scale = async (replicas: number) => {
      for (let attempt = 0; ; attempt++) {
        const current = await apps.readNamespacedDeploymentScale({ name: 'carts', namespace: 'carts' });
        try {
          await apps.replaceNamespacedDeploymentScale({ name: 'carts', namespace: 'carts', body: { ...current, spec: { replicas } } });
          return;
        } catch (e) {
          if ((e as { code?: number }).code !== 409 || attempt > 5) {
            throw e;
          }
        }
      }
    };
    await scale(3);
    try {
      await until('a third carts pod in the model', () => live!.snapshot().pods.filter((p) => p.namespace === 'carts' && p.ips.length > 0).length === 3);
      await until('the change callback', () => changes > 0, 2_000);
      const victim = live.snapshot().pods.find((p) => p.namespace === 'carts')!;
      await core.deleteNamespacedPod({ name: victim.name, namespace: 'carts', gracePeriodSeconds: 0 });
      await until('the deleted pod as a tombstone', () => {
        const kept = live!.snapshot().pods.find((p) => p.name === victim.name);
        return kept !== undefined && kept.lifetime.toMs !== undefined;
      });
    } finally {
      await scale(2);
    }
  });

  test('RBAC denials are reported per resource, naming the user and resource, and the rest keeps working', async () => {
    const states: Record<string, ResourceState> = {};
    live = new LiveCluster(await powerlessConfig(admin, 'flowlens-test-nobody'), { onState: (r, s) => (states[r] = s), retryMs: 60_000 });
    await live.start();
    const pods = states.pods;
    assert.equal(pods?.state, 'error');
    assert.ok(pods?.state === 'error' && pods.error.kind === 'forbidden', JSON.stringify(pods));
    assert.match(pods.state === 'error' ? pods.error.message : '', /^cannot watch pods: forbidden by RBAC \(context flowlens-test-nobody, https:\/\/127\.0\.0\.1:16443\): pods is forbidden: User "system:serviceaccount:default:flowlens-test-nobody" cannot list resource "pods"/);
    assert.equal(live.snapshot().pods.length, 0);
  });

  test('exec credential plugins (as aws eks get-token) authenticate; an expired token is named as such', async () => {
    const token = (await powerlessConfig(admin, 'flowlens-test-exec')).getCurrentUser()!.token!;
    const cluster = admin.getCurrentCluster()!;
    const dir = mkdtempSync(join(tmpdir(), 'flowlens-exec-'));
    const kubeconfigWithPlugin = (name: string, printed: string) => {
      const plugin = join(dir, `${name}.sh`);
      const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: printed } });
      writeFileSync(plugin, `#!/bin/sh\necho '${credential}'\n`, { mode: 0o755 });
      const file = join(dir, `${name}.kubeconfig`);
      writeFileSync(
        file,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'sandbox', cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData } }],
          users: [{ name, user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } } }],
          contexts: [{ name, context: { cluster: 'sandbox', user: name } }],
          'current-context': name,
        }),
      );
      return loadKubeConfig({ path: file });
    };
    try {
      const states: Record<string, ResourceState> = {};
      live = new LiveCluster(kubeconfigWithPlugin('exec', token), { onState: (r, s) => (states[r] = s), retryMs: 60_000 });
      await live.start();
      // Authenticated as the ServiceAccount the plugin's token belongs to (which may read nothing).
      assert.match(states.pods?.state === 'error' ? states.pods.error.message : '', /User "system:serviceaccount:default:flowlens-test-exec" cannot list resource "pods"/);
      live.stop();
      const expired: Record<string, ResourceState> = {};
      live = new LiveCluster(kubeconfigWithPlugin('expired', 'not-a-valid-token'), { onState: (r, s) => (expired[r] = s), retryMs: 60_000 });
      await live.start();
      const pods = expired.pods;
      assert.ok(pods?.state === 'error' && pods.error.kind === 'unauthorized', JSON.stringify(pods));
      assert.equal(pods.state === 'error' ? pods.error.full : '', `cannot watch pods: the cluster rejected the credentials (context expired, ${cluster.server}). They may have expired: log in again (for EKS: \`aws sso login\`, then \`aws eks update-kubeconfig\`); FlowLens reconnects by itself`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
