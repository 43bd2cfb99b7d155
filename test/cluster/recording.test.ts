import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { snapshotCluster } from '../../src/cluster/cluster-snapshot';
import { LiveCluster } from '../../src/cluster/live-cluster';
import { aggregate } from '../../src/core/flows/aggregate';
import { enrichFlows } from '../../src/core/flows/enrich';
import { parseFlowRecord } from '../../src/core/flows/flow-record';
import { loadRecording } from '../../src/core/flows/recording';
import type { Cluster } from '../../src/core/kube/cluster';
import { formatBytes, formatTime } from '../../src/core/policy/generate';
import { cloudRangesFixture } from '../core/flows/flow-fixtures';
import { adminConfig, requireSandbox } from './sandbox-cluster';

const CLI = join(__dirname, '..', '..', '..', 'dist', 'cli.js');
const SUMMARY = /^Recorded (\d+) flow records from (\d+) node\(s\) \(([^)]*)\), (\S+) to (\S+) \((\w+)\): (\S+) \(([\d.]+ \w+)\), (\S+) \(([\d.]+ \w+)\)$/;

/** Runs the built CLI; `whileRunning` gets the process and its stderr so far. */
function runCli(args: string[], whileRunning?: (child: ChildProcess, stderr: () => string) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    whileRunning?.(child, () => stderr);
  });
}

/** The model as comparable data: no source positions, maps as sorted entries, lists sorted. */
function comparable(cluster: Cluster): unknown {
  const plain = JSON.parse(
    JSON.stringify(cluster, (key, value: unknown) => {
      if (key === 'source') {
        return undefined;
      }
      return value instanceof Map ? [...value.entries()].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)) : value;
    }),
  ) as Record<string, unknown[]>;
  const sorted = (list: unknown[]) => list.map((x) => JSON.stringify(x)).sort();
  // Policies are left out: the live model's initial list decodes NetworkPolicy ingress rules from the typed
  // client, whose field is `_from`; other suites create policies in the shared sandbox while this one runs.
  return { namespaces: plain.namespaces, nodes: plain.nodes, pods: sorted(plain.pods), services: sorted(plain.services), endpointSlices: sorted(plain.endpointSlices), workloads: sorted(plain.workloads) };
}

suite('recording (sandbox)', function () {
  this.timeout(120_000);
  let kubeconfig: string;
  let kc: KubeConfig;
  let dir: string;
  suiteSetup(function () {
    kubeconfig = requireSandbox(this);
    kc = adminConfig(kubeconfig);
  });
  setup(() => (dir = mkdtempSync(join(tmpdir(), 'flowlens-recording-'))));
  teardown(() => rmSync(dir, { recursive: true, force: true }));

  test('flowlens record writes the agents records and a snapshot they resolve against; the summary counts what the files hold', async () => {
    const out = join(dir, 'shop.flows.jsonl');
    const snapshotFile = join(dir, 'shop.cluster.yaml');
    const r = await runCli(['record', '--out', out, '--kubeconfig', kubeconfig, '--duration', '15s']);
    assert.equal(r.code, 0, r.stderr);

    const lines = readFileSync(out, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a line break');
    const records = lines.map((line, i) => {
      const parsed = parseFlowRecord(JSON.parse(line));
      assert.ok(parsed.ok, `line ${i + 1}: ${parsed.ok ? '' : parsed.error}`);
      return parsed.record;
    });
    // The agents' own text: compact JSON in the contract's field order.
    assert.ok(lines.every((l) => l.startsWith('{"v":1,"start":"') && JSON.stringify(JSON.parse(l)) === l));

    const summary = SUMMARY.exec(r.stdout.trimEnd());
    assert.ok(summary, r.stdout);
    const [, count, nodeCount, nodeList, from, to, , outName, outSize, snapshotName, snapshotSize] = summary;
    assert.equal(Number(count), records.length);
    assert.ok(records.length > 0);
    const agentNodes = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'flowlens-system', labelSelector: 'app.kubernetes.io/name=flowlens-agent' })).items
      .filter((p) => p.status?.phase === 'Running')
      .map((p) => p.spec!.nodeName!)
      .sort();
    assert.deepEqual([...new Set(records.map((x) => x.node))].sort(), agentNodes);
    assert.deepEqual([Number(nodeCount), nodeList], [agentNodes.length, agentNodes.join(', ')]);
    const progress = r.stderr.trimEnd().split('\n');
    assert.equal(progress[0], `recording from the agents on ${agentNodes.join(', ')} into ${out} for 15s`);
    assert.ok(progress.slice(1).every((l) => /^\d+s: \d+ records \([\d.]+ \w+\) from \d node\(s\)$/.test(l)), r.stderr);
    assert.equal(from, formatTime(Math.min(...records.map((x) => Date.parse(x.start)))));
    assert.equal(to, formatTime(Math.max(...records.map((x) => Date.parse(x.end)))));
    assert.deepEqual([outName, outSize], [out, formatBytes(statSync(out).size)]);
    assert.deepEqual([snapshotName, snapshotSize], [snapshotFile, formatBytes(statSync(snapshotFile).size)]);

    const loaded = loadRecording({ file: out, text: readFileSync(out, 'utf8') }, { file: snapshotFile, text: readFileSync(snapshotFile, 'utf8') });
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.errors.join('\n'));
    const { cluster } = loaded.recording;
    assert.deepEqual(loaded.recording.notes, []);
    for (const ns of ['ui', 'catalog', 'carts', 'orders', 'checkout', 'gallery']) {
      assert.ok(cluster.namespaces.has(ns), ns);
    }
    const deployments = new Set(cluster.workloads.filter((w) => w.kind === 'Deployment').map((w) => `${w.namespace}/${w.name}`));
    for (const d of ['ui/ui', 'catalog/catalog', 'carts/carts', 'orders/orders', 'checkout/checkout', 'gallery/photos', 'kube-system/coredns']) {
      assert.ok(deployments.has(d), d);
    }
    const flows = enrichFlows(cluster, loaded.recording.records, { cloudRanges: cloudRangesFixture() });
    assert.deepEqual(flows.filter((f) => f.client.kind !== 'pod' || f.client.workload?.kind !== 'Deployment').map((f) => f.record.client.ip), []);
    const edges = new Set(aggregate(flows, { level: 'workload' }).map((e) => `${e.client.label} -> ${e.server.label} ${e.protocol}/${e.port}`));
    for (const edge of ['ui/ui -> catalog/catalog TCP/8080', 'checkout/checkout -> orders/orders TCP/9090', 'gallery/photos -> S3 TCP/80', 'ui/ui -> kube-system/coredns UDP/53']) {
      assert.ok(edges.has(edge), `${edge} not in ${[...edges].join(', ')}`);
    }
  });

  test('without --duration, SIGTERM ends the recording: files complete, summary printed, exit 0', async () => {
    const out = join(dir, 'term.flows.jsonl');
    const r = await runCli(['record', '--out', out, '--kubeconfig', kubeconfig, '--quiet'], (child) => {
      // Once every node's records are on disk (else it rightly warns of silent nodes), stop it the way a service manager would.
      const poll = setInterval(() => {
        const text = statSync(out, { throwIfNoEntry: false })?.size ? readFileSync(out, 'utf8') : '';
        const nodes = new Set(text.split('\n').filter((l) => l.endsWith('}')).map((l) => (JSON.parse(l) as { node: string }).node));
        if (nodes.size === 3) {
          clearInterval(poll);
          child.kill('SIGTERM');
        }
      }, 200);
      child.on('close', () => clearInterval(poll));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const summary = SUMMARY.exec(r.stdout.trimEnd());
    assert.ok(summary, r.stdout);
    assert.equal(Number(summary[1]), readFileSync(out, 'utf8').split('\n').length - 1);
    assert.ok(statSync(join(dir, 'term.cluster.yaml')).size > 0);
  });

  test('the snapshot loads into the model the live informers build', async () => {
    const live = new LiveCluster(kc);
    try {
      await live.start();
      assert.ok(Object.values(live.states()).every((s) => s.state === 'synced'), JSON.stringify(live.states()));
      // Other suites change the shared sandbox: compare when the live model held still around the snapshot.
      let last: [unknown, unknown] | undefined;
      for (let attempt = 0; attempt < 5; attempt++) {
        const before = comparable(live.snapshot());
        const yaml = await snapshotCluster(kc);
        const after = comparable(live.snapshot());
        const loaded = loadRecording({ file: 'live.flows.jsonl', text: '{"v":1,"start":"2026-11-21T10:00:00Z","end":"2026-11-21T10:00:05Z","node":"node-a","protocol":"TCP","client":{"ip":"198.18.1.2"},"server":{"ip":"198.18.1.3","port":80},"observedAt":"client","bytesToServer":0,"bytesToClient":0,"packetsToServer":0,"packetsToClient":0,"connections":1,"retransmits":0,"rto":0,"rttUs":0,"resets":0,"failedConnections":0}' }, { file: 'live.cluster.yaml', text: yaml });
        assert.ok(loaded.ok, loaded.ok ? '' : loaded.errors.join('\n'));
        last = [comparable(loaded.recording.cluster), after];
        if (JSON.stringify(before) === JSON.stringify(after) && JSON.stringify(last[0]) === JSON.stringify(after)) {
          break;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      assert.deepEqual(last![0], last![1]);
    } finally {
      live.stop();
    }
  });
});
