import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { agentStatus, deployAgent, removeAgent, type RolloutProgress } from '../../src/cluster/agent-deployment';
import { AgentStreams, type AgentConnection } from '../../src/cluster/agent-streams';
import { ClusterError } from '../../src/cluster/cluster-error';
import type { FlowRecord } from '../../src/core/flows/flow-record';
import { adminConfig, requireSandbox } from './sandbox-cluster';

const MANIFESTS = join(__dirname, '..', '..', '..', 'agent-manifests');
const IMAGE = 'flowlens-agent:e2e';

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

suite('agent lifecycle (sandbox)', function () {
  this.timeout(180_000);
  let kc: KubeConfig;
  suiteSetup(function () {
    kc = adminConfig(requireSandbox(this));
  });

  test('remove deletes exactly the objects the manifests define', async () => {
    const removed = await removeAgent(kc, MANIFESTS);
    assert.deepEqual(removed, [
      'Service flowlens-system/flowlens-agent-metrics',
      'DaemonSet flowlens-system/flowlens-agent',
      'ClusterRoleBinding flowlens-agent',
      'ClusterRole flowlens-agent',
      'ServiceAccount flowlens-system/flowlens-agent',
      'Namespace flowlens-system',
    ]);
    const apps = kc.makeApiClient(AppsV1Api);
    await assert.rejects(apps.readNamespacedDaemonSet({ name: 'flowlens-agent', namespace: 'flowlens-system' }), (e: { code?: number }) => e.code === 404);
    assert.deepEqual(await removeAgent(kc, MANIFESTS), [], 'removing twice finds nothing left to remove');
  });

  test('deploy applies with server-side apply as "flowlens", rolls out to every node, and is idempotent', async () => {
    const progress: RolloutProgress[] = [];
    const result = await deployAgent(kc, { manifestsDir: MANIFESTS, image: IMAGE, onProgress: (p) => progress.push(p), timeoutMs: 120_000 });
    assert.deepEqual([result.desired, result.updated, result.ready], [3, 3, 3]);
    assert.deepEqual(result.nodes.map((n) => [n.node, n.ready, n.image]), [
      ['node-a', true, IMAGE],
      ['node-b', true, IMAGE],
      ['node-c', true, IMAGE],
    ]);
    assert.ok(progress.length >= 1 && progress.at(-1)!.ready === 3);
    const ds = await kc.makeApiClient(AppsV1Api).readNamespacedDaemonSet({ name: 'flowlens-agent', namespace: 'flowlens-system' });
    const c = ds.spec!.template.spec!.containers[0];
    assert.equal(c.image, IMAGE);
    assert.equal(c.securityContext?.privileged, false);
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(JSON.parse(JSON.stringify(c.securityContext?.capabilities)), { drop: ['ALL'], add: ['BPF', 'PERFMON', 'NET_ADMIN'] });
    assert.equal(ds.spec!.template.spec!.serviceAccountName, 'flowlens-agent');
    assert.ok(ds.metadata?.managedFields?.some((f) => f.manager === 'flowlens' && f.operation === 'Apply'), 'applied by field manager flowlens');
    const generation = ds.metadata?.generation;
    await deployAgent(kc, { manifestsDir: MANIFESTS, image: IMAGE });
    const again = await kc.makeApiClient(AppsV1Api).readNamespacedDaemonSet({ name: 'flowlens-agent', namespace: 'flowlens-system' });
    assert.equal(again.metadata?.generation, generation, 'a second deploy changes nothing');
    const status = await agentStatus(kc);
    assert.ok(status.every((n) => n.ready && n.pod?.startsWith('flowlens-agent-')), JSON.stringify(status));
  });

  test('a deploy can be cancelled, and times out with every node accounted for', async () => {
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(deployAgent(kc, { manifestsDir: MANIFESTS, image: IMAGE, signal: aborted.signal }), (e: ClusterError) => {
      assert.equal(e.kind, 'cancelled', e.message);
      return true;
    });
    await assert.rejects(
      deployAgent(kc, { manifestsDir: MANIFESTS, image: `${IMAGE}-next`, timeoutMs: 1 }),
      (e: ClusterError) => {
        assert.equal(e.kind, 'timeout', e.message);
        assert.match(e.message, /did not become ready on every node within 0 s .*node-a: .*node-b: .*node-c: /);
        return true;
      },
    );
    await deployAgent(kc, { manifestsDir: MANIFESTS, image: IMAGE });
  });
});

suite('agent flow streams through port-forward (sandbox)', function () {
  this.timeout(180_000);
  let kc: KubeConfig;
  suiteSetup(function () {
    kc = adminConfig(requireSandbox(this));
  });

  test('records from every node arrive; a restarted agent pod resumes without repeating a window', async () => {
    const windows = new Map<string, number>(); // "node end" -> deliveries
    const records: FlowRecord[] = [];
    const states: AgentConnection[] = [];
    const streams = new AgentStreams(kc, {
      onRecords: (batch, node) => {
        records.push(...batch);
        for (const end of new Set(batch.map((r) => r.end))) {
          windows.set(`${node} ${end}`, (windows.get(`${node} ${end}`) ?? 0) + 1);
        }
      },
      onState: (c) => states.push(c),
      backoffMs: 200,
    });
    await streams.start();
    try {
      await until('records from all three nodes', () => new Set(records.map((r) => r.node)).size === 3);
      assert.ok(streams.status().every((c) => c.state === 'streaming'), JSON.stringify(streams.status()));
      assert.ok(records.some((r) => r.protocol === 'UDP' && r.server.port === 53), 'DNS flows');
      assert.ok(records.some((r) => r.protocol === 'TCP' && r.server.port === 8080 && r.observedAt === 'server'), 'HTTP flows seen by the server side');

      const core = kc.makeApiClient(CoreV1Api);
      const victim = streams.status().find((c) => c.node === 'node-b')!;
      await core.deleteNamespacedPod({ name: victim.pod, namespace: 'flowlens-system' });
      await until('a new agent pod on node-b streaming', () => streams.status().some((c) => c.node === 'node-b' && c.pod !== victim.pod && c.state === 'streaming'));
      const before = records.filter((r) => r.node === 'node-b').length;
      await until('records from the new agent on node-b', () => records.filter((r) => r.node === 'node-b').length > before);
      assert.ok(states.some((s) => s.node === 'node-b' && s.pod === victim.pod && s.state === 'down'), 'the old connection was reported down');
      const repeated = [...windows].filter(([, n]) => n > 1);
      assert.deepEqual(repeated, [], 'no window delivered twice');
    } finally {
      streams.stop();
    }
  });
});
