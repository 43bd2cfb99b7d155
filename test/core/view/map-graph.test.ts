import { strict as assert } from 'node:assert';
import { edgeHealth } from '../../../src/core/view/health';
import { buildMapGraph, endpointIndex, NO_FILTERS, workloadNodeIdOf } from '../../../src/core/view/map-graph';
import { shopSnapshot } from '../../webview/fixtures';

suite('view map graph', () => {
  const s = shopSnapshot();
  const UI = 'wl:Deployment/ui/ui';
  const ORDERS = 'wl:Deployment/orders/orders';

  test('workload view: nodes, groups, links with summed figures, worst health, cross-zone from the pods', () => {
    const g = buildMapGraph(s, 'workload', NO_FILTERS);
    assert.equal(g.nodes.length, 13);
    const internet = g.nodeById.get('internet')!;
    assert.deepEqual([internet.kind, internet.group, internet.ips], ['internet', 'group:outside', ['198.51.100.10']]);
    assert.equal(g.nodeById.get('cloud:S3')!.group, 'group:outside');
    const ui = g.nodeById.get(UI)!;
    assert.deepEqual([ui.name, ui.group, ui.zones, ui.pods], ['ui', 'ns:ui', ['zone-a', 'zone-b'], ['ui-6d9f-a1', 'ui-6d9f-b2']]);
    const co = g.linkById.get(`wl:Deployment/checkout/checkout>${ORDERS}`)!;
    assert.deepEqual(co.edges.map((e) => e.port), [8080, 9999]);
    assert.equal(co.totals.failedConnections, 6);
    assert.equal(co.health, 'failing');
    const uo = g.linkById.get(`${UI}>${ORDERS}`)!;
    assert.equal(uo.crossZone, true, 'one ui pod calls an orders pod in another zone');
    assert.deepEqual(uo.categories, ['inter-zone', 'intra-node']);
    assert.equal(g.linkById.get(`${UI}>wl:Deployment/catalog/catalog`)!.crossZone, true);
    assert.equal(g.linkById.get(`wl:Deployment/gallery/gallery>cloud:S3`)!.crossZone, false);
  });

  test('pod view: one node per pod, namespaces as groups, bidirectional links marked', () => {
    const g = buildMapGraph(s, 'pod', NO_FILTERS);
    assert.equal(g.nodes.filter((n) => n.kind === 'pod').length, 15);
    assert.equal(g.groups.filter((x) => x.kind === 'namespace').length, 7);
    assert.ok(g.links.every((l) => !l.bidirectional), 'no pair talks both ways in the fixture');
  });

  test('scope and filters', () => {
    const idx = endpointIndex(s);
    const scoped = buildMapGraph(s, 'workload', { ...NO_FILTERS, namespaces: ['carts'] }, idx);
    assert.deepEqual(scoped.nodes.map((n) => n.id).sort(), ['wl:Deployment/carts/carts', 'wl:Deployment/checkout/checkout', 'wl:Deployment/kube-system/coredns', UI, 'wl:StatefulSet/carts/carts-redis'].sort());
    const udp = buildMapGraph(s, 'workload', { ...NO_FILTERS, ports: [53] }, idx);
    assert.ok(udp.links.every((l) => l.target === 'wl:Deployment/kube-system/coredns'));
    assert.equal(udp.links.length, 6);
    const ext = buildMapGraph(s, 'workload', { ...NO_FILTERS, categories: ['external'] }, idx);
    assert.deepEqual(ext.links.map((l) => l.id), ['wl:Deployment/gallery/gallery>internet']);
    const bad = buildMapGraph(s, 'workload', { ...NO_FILTERS, onlyUnhealthy: true }, idx);
    assert.ok(bad.links.length > 0 && bad.links.every((l) => l.health !== 'healthy'));
    const wl = buildMapGraph(s, 'workload', { ...NO_FILTERS, workload: 'REDIS' }, idx);
    assert.deepEqual(wl.links.map((l) => l.id), ['wl:Deployment/carts/carts>wl:StatefulSet/carts/carts-redis']);
  });

  test('pod endpoints map to their workload node', () => {
    const ep = s.endpoints.find((e) => e.id === 'pod:orders/orders-db-0')!;
    assert.equal(workloadNodeIdOf(ep), 'wl:StatefulSet/orders/orders-db');
    assert.equal(workloadNodeIdOf(s.endpoints.find((e) => e.id === 'ip:198.51.100.10')!), 'internet');
  });

  test('health: failed connections, RTOs and >= 2 % retransmitted fail; other retransmits and resets degrade', () => {
    const t = { bytesToServer: 1, bytesToClient: 1, packetsToServer: 500, packetsToClient: 500, connections: 1, retransmits: 0, rto: 0, resets: 0, failedConnections: 0, rttUs: 0 };
    assert.equal(edgeHealth(t), 'healthy');
    assert.equal(edgeHealth({ ...t, retransmits: 19 }), 'degraded');
    assert.equal(edgeHealth({ ...t, retransmits: 20 }), 'failing');
    assert.equal(edgeHealth({ ...t, resets: 1 }), 'degraded');
    assert.equal(edgeHealth({ ...t, rto: 1 }), 'failing');
    assert.equal(edgeHealth({ ...t, failedConnections: 1 }), 'failing');
  });
});
