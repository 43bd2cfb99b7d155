import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { aggregate, lossScore, topTalkers } from '../../../src/core/flows/aggregate';
import { enrichFlows } from '../../../src/core/flows/enrich';
import type { FlowRecord } from '../../../src/core/flows/flow-record';
import { clusterFromYaml } from '../fixtures';
import { cloudRangesFixture, FIXTURES, record } from './flow-fixtures';

suite('flow aggregation', () => {
  const cluster = clusterFromYaml(readFileSync(join(FIXTURES, 'flows', 'cluster.yaml'), 'utf8'), 'cluster.yaml');
  const enrich = (records: FlowRecord[]) => enrichFlows(cluster, records, { cloudRanges: cloudRangesFixture() });
  const w = (start: string, end: string) => ({ start: `2026-11-21T${start}Z`, end: `2026-11-21T${end}Z` });

  // web calls the api Service (two backends) for two windows; both backends report the server side.
  const flows = enrich([
    record('198.18.1.10', '198.19.128.20', 80, { ...w('10:00:00', '10:00:05'), bytesToServer: 300, bytesToClient: 3000, connections: 3, retransmits: 2, failedConnections: 1 }),
    record('198.18.1.10', '198.18.2.20', 9090, { ...w('10:00:00', '10:00:05'), observedAt: 'server', node: 'node-b', bytesToServer: 200, bytesToClient: 2000, connections: 2, retransmits: 1 }),
    record('198.18.1.10', '198.18.3.21', 9090, { ...w('10:00:00', '10:00:05'), observedAt: 'server', node: 'node-c', bytesToServer: 100, bytesToClient: 1000, connections: 1 }),
    record('198.18.1.10', '198.19.128.20', 80, { ...w('10:00:05', '10:00:10'), bytesToServer: 50, bytesToClient: 500, connections: 1, rttUs: 900 }),
    record('198.18.1.10', '203.0.113.10', 443, { ...w('10:00:00', '10:00:05'), bytesToServer: 65536, bytesToClient: 200 }),
    record('198.18.2.20', '198.18.1.30', 5432, { ...w('10:00:00', '10:00:05'), rto: 2, retransmits: 5, bytesToServer: 10, bytesToClient: 10 }),
  ]);

  test('workload level: client- and server-side observations of the same traffic are not double counted', () => {
    const edges = aggregate(flows, { level: 'workload' });
    const api = edges.find((e) => e.client.label === 'shop/web' && e.server.label === 'shop/api')!;
    assert.equal(api.port, 9090, 'keyed by the pod port, not the Service port');
    // Client side saw 350 B up over both windows; the servers saw 300 B: the larger side counts once.
    assert.deepEqual(
      [api.totals.bytesToServer, api.totals.bytesToClient, api.totals.connections, api.totals.retransmits, api.totals.failedConnections, api.totals.rttUs],
      [350, 3500, 4, 3, 1, 900],
    );
    assert.equal(api.records, 4);
    assert.deepEqual([api.firstSeenMs, api.lastSeenMs], [Date.parse('2026-11-21T10:00:00Z'), Date.parse('2026-11-21T10:00:10Z')]);
    assert.equal(api.category, 'inter-zone');
  });

  test('an edge takes the farthest category of its flows, whichever comes first', () => {
    // web (node-a) -> db-0 (node-a) is intra-node; api (node-b, zone-b) -> db-0 crosses zones.
    const mixed = enrich([record('198.18.1.10', '198.18.1.30', 5432), record('198.18.2.20', '198.18.1.30', 5432)]);
    const edges = aggregate(mixed, { level: 'namespace' });
    assert.deepEqual(edges.map((e) => [e.client.label, e.server.label, e.category]), [['shop', 'data', 'inter-zone']]);
    assert.equal(aggregate([...mixed].reverse(), { level: 'namespace' })[0].category, 'inter-zone');
  });

  test('pod level: the server side tells which backend answered; the client side adds only its own losses', () => {
    const edges = aggregate(flows, { level: 'pod', toMs: Date.parse('2026-11-21T10:00:04Z') });
    const byServer = Object.fromEntries(edges.filter((e) => e.client.label === 'shop/web-5d8f7-aaaaa' && e.port === 9090).map((e) => [e.server.label, e.totals]));
    assert.deepEqual(Object.keys(byServer).sort(), ['shop/api-7c9d-bbbbb', 'shop/api-7c9d-ccccc']);
    assert.deepEqual([byServer['shop/api-7c9d-bbbbb'].bytesToServer, byServer['shop/api-7c9d-bbbbb'].retransmits, byServer['shop/api-7c9d-bbbbb'].failedConnections], [200, 3, 1]);
    assert.deepEqual([byServer['shop/api-7c9d-ccccc'].bytesToServer, byServer['shop/api-7c9d-ccccc'].retransmits], [100, 0]);
  });

  test('namespace level, time windows and category filters', () => {
    const ns = aggregate(flows, { level: 'namespace' });
    assert.deepEqual(ns.map((e) => `${e.client.label} -> ${e.server.label}:${e.port}`), ['shop -> S3:443', 'shop -> data:5432', 'shop -> shop:9090']);
    const second = aggregate(flows, { level: 'workload', fromMs: Date.parse('2026-11-21T10:00:06Z') });
    assert.deepEqual(second.map((e) => e.totals.bytesToServer), [50]);
    const cloud = aggregate(flows, { level: 'workload', categories: ['cloud-service'] });
    assert.deepEqual(cloud.map((e) => [e.server.id, e.totals.bytesToServer]), [['cloud:S3', 65536]]);
  });

  test('top talkers by bytes and by loss score', () => {
    const edges = aggregate(flows, { level: 'workload' });
    assert.deepEqual(topTalkers(edges, 'bytes', 2).map((e) => e.server.label), ['S3', 'shop/api']);
    const lossy = topTalkers(edges, 'loss', 5);
    assert.deepEqual(lossy.map((e) => [e.server.label, lossScore(e.totals)]), [
      ['data/db', 25],
      ['shop/api', 13],
    ]);
  });
});
