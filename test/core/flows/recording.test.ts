import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { aggregate, type Edge } from '../../../src/core/flows/aggregate';
import { enrichFlows } from '../../../src/core/flows/enrich';
import { loadRecording, recordingFileFor, snapshotFileFor, type Recording, type RecordingLoad } from '../../../src/core/flows/recording';
import { cloudRangesFixture, record } from './flow-fixtures';

const DEMO = join(__dirname, '..', '..', '..', '..', 'examples', 'demo');

const SNAPSHOT = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata: {name: node-a, labels: {topology.kubernetes.io/zone: zone-a}}
  status: {addresses: [{type: InternalIP, address: 192.168.0.1}]}
- apiVersion: v1
  kind: Node
  metadata: {name: node-b}
  status: {addresses: [{type: InternalIP, address: 192.168.0.2}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: web, namespace: shop, labels: {app: web}, creationTimestamp: "2026-11-21T09:00:00Z"}
  spec: {nodeName: node-a}
  status: {phase: Running, podIP: 10.0.0.5}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: settings, namespace: shop}
`;

function jsonl(...records: object[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

function loaded(result: RecordingLoad): Recording {
  assert.ok(result.ok, `load failed: ${result.ok ? '' : result.errors.join('\n')}`);
  return result.recording;
}

function errorsOf(result: RecordingLoad): readonly string[] {
  assert.ok(!result.ok, 'the recording loaded');
  return result.errors;
}

suite('recording', () => {
  test('loads the records and the cluster, with the time span, the reporting nodes and what does not match up', () => {
    const text = jsonl(
      record('10.0.0.5', '10.0.0.99', 80, { node: 'node-a', start: '2026-11-21T10:00:05Z', end: '2026-11-21T10:00:10Z' }),
      record('10.0.0.5', '1.2.3.4', 443, { node: 'node-a', start: '2026-11-21T10:00:00Z', end: '2026-11-21T10:00:05Z' }),
      record('172.16.0.1', '172.16.0.2', 80, { node: 'node-z', start: '2026-11-21T10:00:10Z', end: '2026-11-21T10:00:15.5Z' }),
    );
    const r = loaded(loadRecording({ file: 'r.flows.jsonl', text }, { file: 'r.cluster.yaml', text: SNAPSHOT }));
    assert.equal(r.records.length, 3);
    assert.equal(r.records[0].server.ip, '10.0.0.99', 'file order');
    assert.equal(r.fromMs, Date.parse('2026-11-21T10:00:00Z'));
    assert.equal(r.toMs, Date.parse('2026-11-21T10:00:15.5Z'));
    assert.deepEqual(r.nodes, ['node-a', 'node-z']);
    assert.deepEqual([...r.cluster.nodes.keys()], ['node-a', 'node-b']);
    assert.deepEqual(r.cluster.pods.map((p) => `${p.namespace}/${p.name}`), ['shop/web']);
    assert.deepEqual(r.notes, [
      'r.cluster.yaml:17: ignoring v1 ConfigMap shop/settings: FlowLens does not read this kind',
      'r.cluster.yaml: namespace(s) shop are used but not defined in the input; assuming they carry only the kubernetes.io/metadata.name label',
      'r.flows.jsonl: records from node(s) node-z, which r.cluster.yaml does not have',
      'r.flows.jsonl: no records from node(s) node-b (was the agent running there?)',
      '1 of 3 records have neither address in r.cluster.yaml (no pod, node or Service has it): is it the snapshot taken with r.flows.jsonl?',
    ]);
  });

  test('every bad line is an error with its file and line, in the flows and in the snapshot', () => {
    const good = JSON.stringify(record('10.0.0.5', '10.0.0.6', 80));
    const flows = [good, '', '{"v":1,', good, JSON.stringify({ ...record('10.0.0.5', '10.0.0.6', 80), bytesToServer: -1 }), good].join('\n');
    const snapshot = SNAPSHOT.replace('podIP: 10.0.0.5', 'podIP: 10.0.0.500').replace('name: node-b}', 'name: node-a}');
    const errors = errorsOf(loadRecording({ file: 'x.flows.jsonl', text: flows }, { file: 'x.cluster.yaml', text: snapshot }));
    assert.deepEqual(errors.slice(0, 2), [
      'x.cluster.yaml:16: Pod shop/web: status.podIP: "10.0.0.500" is not a valid IP address',
      'x.cluster.yaml: Node node-a is defined twice (x.cluster.yaml:4 and x.cluster.yaml:8)',
    ]);
    // The JSON parser's own words vary with the Node version.
    assert.match(errors[2], /^x\.flows\.jsonl:3: not JSON: /);
    assert.deepEqual(errors.slice(3), ['x.flows.jsonl:5: bytesToServer: must not be negative']);
    assert.deepEqual(errorsOf(loadRecording({ file: 'x.flows.jsonl', text: good }, { file: 'x.cluster.yaml', text: 'items: [\n' })), [
      'x.cluster.yaml:2: invalid YAML/JSON: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  test('an empty recording or snapshot is an error, and a flood of bad lines is counted, not listed', () => {
    assert.deepEqual(errorsOf(loadRecording({ file: 'e.flows.jsonl', text: '\n\n' }, { file: 'e.cluster.yaml', text: '# nothing\n' })), [
      'e.cluster.yaml: no Kubernetes objects FlowLens reads (namespaces, nodes, pods, services, ...)',
      'e.flows.jsonl: no flow records',
    ]);
    const errors = errorsOf(loadRecording({ file: 'b.flows.jsonl', text: 'nope\n'.repeat(100) }, { file: 'b.cluster.yaml', text: SNAPSHOT }));
    assert.equal(errors.length, 21);
    assert.match(errors[0], /^b\.flows\.jsonl:1: not JSON: /);
    assert.match(errors[19], /^b\.flows\.jsonl:20: not JSON: /);
    assert.equal(errors[20], '... and 80 more errors');
  });

  test('a recording and its snapshot are paired by name', () => {
    assert.equal(snapshotFileFor('/rec/shop.flows.jsonl'), '/rec/shop.cluster.yaml');
    assert.equal(snapshotFileFor('C:\\rec\\shop.flows.jsonl'), 'C:\\rec\\shop.cluster.yaml');
    assert.equal(snapshotFileFor('shop.jsonl'), 'shop.cluster.yaml');
    assert.equal(snapshotFileFor('shop.flows'), 'shop.flows.cluster.yaml');
    assert.equal(recordingFileFor('/rec/shop.cluster.yaml'), '/rec/shop.flows.jsonl');
    assert.equal(recordingFileFor('/rec/cluster.yaml'), undefined);
    assert.equal(recordingFileFor(snapshotFileFor('a.b.flows.jsonl')), 'a.b.flows.jsonl');
  });

  test('the shipped demo recording loads cleanly and has every edge of the demo application', () => {
    const file = (name: string) => ({ file: name, text: readFileSync(join(DEMO, name), 'utf8') });
    const r = loaded(loadRecording(file('demo.flows.jsonl'), file('demo.cluster.yaml')));
    assert.deepEqual(r.notes, []);
    assert.deepEqual(r.nodes, ['node-a', 'node-b', 'node-c']);
    const seconds = (r.toMs - r.fromMs) / 1000;
    assert.ok(seconds >= 40 && seconds <= 200, `${seconds} s`);

    const flows = enrichFlows(r.cluster, r.records, { cloudRanges: cloudRangesFixture() });
    // Every record's client is a pod of the demo (the agents report connections of pods).
    assert.deepEqual(flows.filter((f) => f.client.kind !== 'pod').map((f) => f.record.client.ip), []);
    const edges = new Map<string, Edge>();
    for (const e of aggregate(flows, { level: 'workload' })) {
      edges.set(`${e.client.label} -> ${e.server.label} ${e.protocol}/${e.port}`, e);
    }
    const edge = (key: string) => {
      const e = edges.get(key);
      assert.ok(e, `no edge ${key}; edges: ${[...edges.keys()].join(', ')}`);
      assert.ok(e.records > 0);
      return e;
    };
    for (const client of ['ui/ui', 'checkout/checkout', 'gallery/photos']) {
      assert.ok(edge(`${client} -> kube-system/coredns UDP/53`).totals.bytesToServer > 0);
    }
    assert.ok(edge('ui/ui -> catalog/catalog TCP/8080').totals.connections > 0);
    assert.ok(edge('ui/ui -> carts/carts TCP/8081').totals.connections > 0);
    assert.ok(edge('ui/ui -> checkout/checkout TCP/8080').totals.connections > 0);
    assert.ok(edge('checkout/checkout -> carts/carts TCP/8081').totals.connections > 0);
    const orders = edge('checkout/checkout -> orders/orders TCP/9090');
    assert.ok(orders.totals.retransmits > 0, 'the orders pods drop 5% of arriving packets');
    const legacy = edge('checkout/checkout -> orders/orders TCP/9999');
    assert.ok(legacy.totals.failedConnections > 0);
    assert.equal(legacy.totals.bytesToServer + legacy.totals.bytesToClient, 0);
    assert.equal(edge('gallery/photos -> S3 TCP/80').category, 'cloud-service');
    assert.equal(edge('gallery/photos -> DYNAMODB TCP/80').category, 'cloud-service');
    assert.equal(edge('gallery/photos -> 198.51.100.10 TCP/80').category, 'external');
  });
});
