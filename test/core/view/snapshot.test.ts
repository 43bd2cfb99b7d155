import { strict as assert } from 'node:assert';
import { aggregate } from '../../../src/core/flows/aggregate';
import { applyDelta, diffSnapshots } from '../../../src/core/view/delta';
import { buildSnapshot, endpointIdOf } from '../../../src/core/view/snapshot';
import { NOW_MS, shopFlows, shopSnapshot } from '../../webview/fixtures';

suite('view snapshot: builder and deltas', () => {
  const flows = shopFlows();

  test('endpoint ids are the ones aggregate() gives, at pod and workload level', () => {
    for (const level of ['pod', 'workload'] as const) {
      const ids = new Set(aggregate(flows, { level }).flatMap((e) => [e.client.id, e.server.id]));
      const ours = new Set(flows.flatMap((f) => [endpointIdOf(f.client, level), endpointIdOf(f.server, level)]));
      assert.deepEqual([...ours].sort(), [...ids].sort(), level);
    }
  });

  test('the snapshot carries aggregate()\'s edges unchanged and every end with its details', () => {
    const s = shopSnapshot();
    assert.equal(s.window, '15m');
    assert.equal(s.toMs - s.fromMs, 900_000);
    assert.deepEqual(
      s.workloadEdges.map((e) => [e.key, e.totals]),
      aggregate(flows, { level: 'workload' }).map((e) => [e.key, e.totals]),
    );
    const ids = new Set(s.endpoints.map((e) => e.id));
    for (const e of [...s.podEdges, ...s.workloadEdges]) {
      assert.ok(ids.has(e.client) && ids.has(e.server), e.key);
    }
    const orders = s.endpoints.find((e) => e.id === 'wl:Deployment/orders/orders')!;
    assert.deepEqual([orders.pods, orders.ips, orders.nodes, orders.zones], [['orders-8d2e-a1', 'orders-8d2e-c2'], ['198.18.1.40', '198.18.3.40'], ['node-a', 'node-c'], ['zone-a', 'zone-c']]);
    const pod = s.endpoints.find((e) => e.id === 'pod:carts/carts-redis-0')!;
    assert.deepEqual([pod.pod, pod.namespace, pod.workload, pod.ips, pod.nodes, pod.zones], ['carts-redis-0', 'carts', { kind: 'StatefulSet', namespace: 'carts', name: 'carts-redis' }, ['198.18.2.31'], ['node-b'], ['zone-b']]);
    const s3 = s.endpoints.find((e) => e.id === 'cloud:S3')!;
    assert.deepEqual([s3.kind, s3.cloudService, s3.ips], ['cloud-service', 'S3', ['203.0.113.5']]);
    const www = s.endpoints.find((e) => e.id === 'ip:198.51.100.10')!;
    assert.equal(www.kind, 'external');
    assert.deepEqual(s.namespaces, ['carts', 'catalog', 'checkout', 'default', 'gallery', 'kube-system', 'orders', 'ui']);
  });

  test('flows outside the window are left out', () => {
    const s = buildSnapshot(flows, { window: '5m', nowMs: NOW_MS + 600_000, seq: 1 });
    assert.deepEqual([s.podEdges.length, s.workloadEdges.length, s.endpoints.length], [0, 0, 0]);
  });

  test('diff then apply gives the next snapshot; a delta for another base does not apply', () => {
    const a = shopSnapshot(1);
    const b = structuredClone(shopSnapshot(2));
    b.podEdges[0].totals.bytesToServer += 1;
    b.podEdges.splice(3, 1);
    b.endpoints.push({ id: 'ip:198.51.100.99', kind: 'external', label: '198.51.100.99', pods: [], ips: ['198.51.100.99'], nodes: [], zones: [] });
    b.namespaces = [...b.namespaces, 'new'];
    const d = diffSnapshots(a, b);
    assert.deepEqual([d.podEdges.length, d.removedPodEdges.length, d.endpoints.length, d.removedEndpoints.length, d.workloadEdges.length], [1, 1, 1, 0, 0]);
    const applied = applyDelta(a, d)!;
    const byKey = <T extends { key: string }>(xs: T[]) => [...xs].sort((x, y) => (x.key < y.key ? -1 : 1));
    assert.deepEqual(byKey(applied.podEdges), byKey(b.podEdges));
    assert.deepEqual(
      [...applied.endpoints].sort((x, y) => (x.id < y.id ? -1 : 1)),
      [...b.endpoints].sort((x, y) => (x.id < y.id ? -1 : 1)),
    );
    assert.deepEqual(applied.namespaces, b.namespaces);
    assert.equal(applied.seq, 2);
    assert.equal(applyDelta(b, d), undefined);
  });
});
