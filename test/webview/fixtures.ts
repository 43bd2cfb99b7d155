/**
 * Fixture data for the webview tests: a small shop like the sandbox's demo (namespaces ui, catalog, carts,
 * orders, checkout, gallery, kube-system over three zones; S3, DynamoDB and an internet host), run through
 * the real enrichment, aggregation and snapshot builder; and synthetic snapshots of any size for the scale
 * tests and the benchmark.
 */
import { enrichFlows } from '../../src/core/flows/enrich';
import type { EnrichedFlow } from '../../src/core/flows/enriched-flow';
import type { FlowRecord } from '../../src/core/flows/flow-record';
import { buildSnapshot } from '../../src/core/view/snapshot';
import type { EdgeView, EndpointView, ViewSnapshot } from '../../src/core/view/protocol';
import { clusterFromYaml } from '../core/fixtures';
import { cloudRangesFixture } from '../core/flows/flow-fixtures';

export const NOW_MS = Date.parse('2026-11-21T10:10:00Z');

interface WorkloadSpec {
  ns: string;
  name: string;
  kind: 'Deployment' | 'StatefulSet';
  /** [pod suffix, node, ip] */
  pods: [string, string, string][];
  port: number;
}

const WORKLOADS: WorkloadSpec[] = [
  { ns: 'ui', name: 'ui', kind: 'Deployment', port: 8080, pods: [['ui-6d9f-a1', 'node-a', '198.18.1.10'], ['ui-6d9f-b2', 'node-b', '198.18.2.10']] },
  { ns: 'catalog', name: 'catalog', kind: 'Deployment', port: 8080, pods: [['catalog-5c7b-a1', 'node-a', '198.18.1.20'], ['catalog-5c7b-c2', 'node-c', '198.18.3.20']] },
  { ns: 'catalog', name: 'catalog-db', kind: 'StatefulSet', port: 3306, pods: [['catalog-db-0', 'node-a', '198.18.1.21']] },
  { ns: 'carts', name: 'carts', kind: 'Deployment', port: 8080, pods: [['carts-77f4-b1', 'node-b', '198.18.2.30'], ['carts-77f4-c2', 'node-c', '198.18.3.30']] },
  { ns: 'carts', name: 'carts-redis', kind: 'StatefulSet', port: 6379, pods: [['carts-redis-0', 'node-b', '198.18.2.31']] },
  { ns: 'orders', name: 'orders', kind: 'Deployment', port: 8080, pods: [['orders-8d2e-a1', 'node-a', '198.18.1.40'], ['orders-8d2e-c2', 'node-c', '198.18.3.40']] },
  { ns: 'orders', name: 'orders-db', kind: 'StatefulSet', port: 5432, pods: [['orders-db-0', 'node-c', '198.18.3.41']] },
  { ns: 'checkout', name: 'checkout', kind: 'Deployment', port: 8080, pods: [['checkout-4a1b-b1', 'node-b', '198.18.2.50']] },
  { ns: 'gallery', name: 'gallery', kind: 'Deployment', port: 8080, pods: [['gallery-9e3c-a1', 'node-a', '198.18.1.60']] },
  { ns: 'kube-system', name: 'coredns', kind: 'Deployment', port: 53, pods: [['coredns-6f5d-a1', 'node-a', '198.18.1.2'], ['coredns-6f5d-b1', 'node-b', '198.18.2.2']] },
];

function clusterYaml(): string {
  const items: unknown[] = [];
  for (const [i, zone] of ['zone-a', 'zone-b', 'zone-c'].entries()) {
    const n = 'abc'[i];
    items.push({ apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${n}`, labels: { 'topology.kubernetes.io/zone': zone } }, status: { addresses: [{ type: 'InternalIP', address: `198.19.0.${i + 1}` }] } });
  }
  for (const ns of new Set(WORKLOADS.map((w) => w.ns))) {
    items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  }
  for (const w of WORKLOADS) {
    const labels = { app: w.name };
    items.push({ apiVersion: 'apps/v1', kind: w.kind, metadata: { name: w.name, namespace: w.ns }, spec: { selector: { matchLabels: labels }, template: { metadata: { labels } } } });
    let owner: { kind: string; name: string; controller: boolean } = { kind: w.kind, name: w.name, controller: true };
    if (w.kind === 'Deployment') {
      const rs = `${w.name}-rs`;
      items.push({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: rs, namespace: w.ns, ownerReferences: [owner] }, spec: { selector: { matchLabels: labels }, template: { metadata: { labels } } } });
      owner = { kind: 'ReplicaSet', name: rs, controller: true };
    }
    for (const [pod, node, ip] of w.pods) {
      items.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: pod, namespace: w.ns, labels, ownerReferences: [owner], creationTimestamp: '2026-11-21T09:00:00Z' },
        spec: { nodeName: node, containers: [{ ports: [{ containerPort: w.port, protocol: w.port === 53 ? 'UDP' : 'TCP' }] }] },
        status: { phase: 'Running', podIP: ip },
      });
    }
  }
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

const pod = (ns: string, name: string) => WORKLOADS.find((w) => w.ns === ns && w.name === name)!;

function rec(client: string, server: string, port: number, extra: Partial<FlowRecord> = {}): FlowRecord {
  return {
    v: 1,
    start: '2026-11-21T10:05:00Z',
    end: '2026-11-21T10:05:05Z',
    node: 'node-a',
    protocol: 'TCP',
    client: { ip: client },
    server: { ip: server, port },
    observedAt: 'server',
    bytesToServer: 1000,
    bytesToClient: 10000,
    packetsToServer: 10,
    packetsToClient: 12,
    connections: 2,
    retransmits: 0,
    rto: 0,
    rttUs: 400,
    resets: 0,
    failedConnections: 0,
    ...extra,
  };
}

/** Records between every pod of two workloads (client i talks to server i mod n). */
function between(client: WorkloadSpec, server: WorkloadSpec, extra: Partial<FlowRecord> = {}): FlowRecord[] {
  return client.pods.map(([, , ip], i) => {
    const s = server.pods[i % server.pods.length];
    return rec(ip, s[2], server.port, { node: s[1], ...(server.port === 53 ? { protocol: 'UDP' as const, connections: 0, rttUs: 0 } : {}), ...extra });
  });
}

export function shopRecords(): FlowRecord[] {
  const ui = pod('ui', 'ui');
  const catalog = pod('catalog', 'catalog');
  const carts = pod('carts', 'carts');
  const orders = pod('orders', 'orders');
  const checkout = pod('checkout', 'checkout');
  const gallery = pod('gallery', 'gallery');
  const dns = pod('kube-system', 'coredns');
  return [
    ...between(ui, catalog, { bytesToServer: 52_000, bytesToClient: 2_400_000, packetsToServer: 400, packetsToClient: 1800, connections: 40, rttUs: 350 }),
    ...between(ui, carts, { bytesToServer: 21_000, bytesToClient: 180_000, connections: 20 }),
    // The orders pods drop 5 % of what arrives: retransmissions and RTOs.
    ...between(ui, orders, { bytesToServer: 30_000, bytesToClient: 90_000, packetsToServer: 300, packetsToClient: 280, connections: 12, retransmits: 17, rto: 2, rttUs: 2400 }),
    ...between(ui, checkout, { bytesToServer: 8_000, bytesToClient: 12_000, connections: 4 }),
    ...between(catalog, pod('catalog', 'catalog-db'), { bytesToServer: 40_000, bytesToClient: 5_000_000, packetsToServer: 500, packetsToClient: 3600, connections: 8 }),
    ...between(carts, pod('carts', 'carts-redis'), { bytesToServer: 15_000, bytesToClient: 30_000, connections: 6, resets: 1 }),
    ...between(orders, pod('orders', 'orders-db'), { bytesToServer: 64_000, bytesToClient: 120_000, connections: 6, retransmits: 3, rttUs: 900 }),
    ...between(checkout, orders, { bytesToServer: 6_000, bytesToClient: 9_000, connections: 3, retransmits: 4, rttUs: 1800 }),
    ...between(checkout, carts, { bytesToServer: 4_000, bytesToClient: 6_000, connections: 3 }),
    // checkout dials a port nobody serves: failed connections, seen only by the client.
    rec('198.18.2.50', '198.18.1.40', 9999, { node: 'node-b', observedAt: 'client', bytesToServer: 0, bytesToClient: 0, packetsToServer: 6, packetsToClient: 0, connections: 0, failedConnections: 6, rttUs: 0 }),
    ...[ui, catalog, carts, orders, checkout, gallery].flatMap((w) => between(w, dns, { bytesToServer: 900, bytesToClient: 2_000, packetsToServer: 12, packetsToClient: 12 })),
    rec('198.18.1.60', '203.0.113.5', 443, { observedAt: 'client', bytesToServer: 8_500_000, bytesToClient: 30_000, packetsToServer: 6000, packetsToClient: 900, connections: 5, rttUs: 12_000 }),
    rec('198.18.1.60', '203.0.113.20', 443, { observedAt: 'client', bytesToServer: 120_000, bytesToClient: 40_000, connections: 10, rttUs: 8_000 }),
    rec('198.18.1.60', '198.51.100.10', 443, { observedAt: 'client', bytesToServer: 3_000, bytesToClient: 1_900_000, packetsToServer: 200, packetsToClient: 1400, connections: 2, retransmits: 2, rttUs: 45_000 }),
  ];
}

export function shopFlows(): EnrichedFlow[] {
  const cluster = clusterFromYaml(clusterYaml(), 'shop.json');
  return enrichFlows(cluster, shopRecords(), { cloudRanges: cloudRangesFixture() });
}

export function shopSnapshot(seq = 1): ViewSnapshot {
  return buildSnapshot(shopFlows(), { window: '15m', nowMs: NOW_MS, seq, namespaces: ['default', ...new Set(WORKLOADS.map((w) => w.ns))] });
}

/** A deterministic pseudo-random generator (LCG), so synthetic data is the same on every run. */
export function rng(seed: number): () => number {
  let s = seed % 2147483647 || 1;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/**
 * A synthetic snapshot: `workloads` workloads over `namespaces` namespaces, `workloadEdges` workload edges,
 * `podsPerWorkload` pods each, and `podEdges` pod edges (the table's rows); a few edges unhealthy, some
 * cross-zone, a few to S3 and the internet.
 */
export function syntheticSnapshot(o: { namespaces: number; workloads: number; podsPerWorkload: number; workloadEdges: number; podEdges: number; seed?: number }): ViewSnapshot {
  const rand = rng(o.seed ?? 7);
  const zones = ['zone-a', 'zone-b', 'zone-c'];
  const endpoints: EndpointView[] = [];
  const wls: { id: string; ns: string; name: string; pods: EndpointView[] }[] = [];
  for (let i = 0; i < o.workloads; i++) {
    const ns = `team-${String(i % o.namespaces).padStart(2, '0')}`;
    const name = `svc-${i}`;
    const pods: EndpointView[] = [];
    for (let p = 0; p < o.podsPerWorkload; p++) {
      const podName = `${name}-7f9c-${p}`;
      const zone = zones[(i + p) % 3];
      pods.push({
        id: `pod:${ns}/${podName}`,
        kind: 'pod',
        label: `${ns}/${podName}`,
        namespace: ns,
        workload: { kind: 'Deployment', namespace: ns, name },
        pod: podName,
        pods: [podName],
        ips: [`198.18.${Math.floor((i * o.podsPerWorkload + p) / 250)}.${((i * o.podsPerWorkload + p) % 250) + 1}`],
        nodes: [`node-${(i + p) % 30}`],
        zones: [zone],
      });
    }
    const wl: EndpointView = {
      id: `wl:Deployment/${ns}/${name}`,
      kind: 'pod',
      label: `${ns}/${name}`,
      namespace: ns,
      workload: { kind: 'Deployment', namespace: ns, name },
      pods: pods.map((p) => p.pod!),
      ips: pods.flatMap((p) => p.ips),
      nodes: [...new Set(pods.flatMap((p) => p.nodes))],
      zones: [...new Set(pods.flatMap((p) => p.zones))].sort(),
    };
    endpoints.push(wl, ...pods);
    wls.push({ id: wl.id, ns, name, pods });
  }
  const s3: EndpointView = { id: 'cloud:S3', kind: 'cloud-service', label: 'S3', pods: [], ips: ['203.0.113.5'], nodes: [], zones: [], cloudService: 'S3' };
  const www: EndpointView = { id: 'ip:198.51.100.10', kind: 'external', label: '198.51.100.10', pods: [], ips: ['198.51.100.10'], nodes: [], zones: [] };
  endpoints.push(s3, www);
  const totals = (scale: number) => {
    const bytes = Math.floor(1000 + rand() * scale);
    const unhealthy = rand() < 0.05;
    return {
      bytesToServer: bytes,
      bytesToClient: Math.floor(bytes * (0.5 + rand() * 20)),
      packetsToServer: Math.floor(bytes / 900) + 1,
      packetsToClient: Math.floor(bytes / 400) + 1,
      connections: 1 + Math.floor(rand() * 50),
      retransmits: unhealthy ? Math.floor(rand() * 40) : 0,
      rto: unhealthy && rand() < 0.3 ? 1 + Math.floor(rand() * 3) : 0,
      resets: rand() < 0.02 ? 1 : 0,
      failedConnections: unhealthy && rand() < 0.2 ? 2 : 0,
      rttUs: Math.floor(200 + rand() * 5000),
    };
  };
  const edge = (client: EndpointView, server: EndpointView, port: number, scale: number): EdgeView => {
    const cz = client.zones[0] !== undefined && server.zones[0] !== undefined && client.zones[0] !== server.zones[0];
    const category = server.kind === 'cloud-service' ? 'cloud-service' : server.kind === 'external' ? 'external' : cz ? 'inter-zone' : 'intra-zone';
    return { key: `${client.id}|${server.id}|TCP|${port}`, client: client.id, server: server.id, protocol: 'TCP', port, category, totals: totals(scale), firstSeenMs: NOW_MS - 600_000, lastSeenMs: NOW_MS - 5_000 };
  };
  const byId = new Map(endpoints.map((e) => [e.id, e]));
  const workloadEdges = new Map<string, EdgeView>();
  for (let guard = 0; workloadEdges.size < o.workloadEdges && guard < o.workloadEdges * 20; guard++) {
    // Mostly within a few neighbouring namespaces, as real services are.
    const ai = Math.floor(rand() * wls.length);
    const b = rand() < 0.02 ? undefined : wls[(ai + 1 + Math.floor(rand() * 80)) % wls.length];
    const server = b ? byId.get(b.id)! : rand() < 0.5 ? s3 : www;
    const port = b ? 8080 + (Math.floor(rand() * 3) * 1000) : 443;
    const e = edge(byId.get(wls[ai].id)!, server, port, 5_000_000);
    workloadEdges.set(e.key, e);
  }
  const podEdges = new Map<string, EdgeView>();
  const wlEdges = [...workloadEdges.values()];
  const wlById = new Map(wls.map((w) => [w.id, w]));
  for (let guard = 0; podEdges.size < o.podEdges && guard < o.podEdges * 20; guard++) {
    const we = wlEdges[Math.floor(rand() * wlEdges.length)];
    const a = wlById.get(we.client)!;
    const ca = a.pods[Math.floor(rand() * a.pods.length)];
    const serverWl = wlById.get(we.server);
    const sa = serverWl ? serverWl.pods[Math.floor(rand() * serverWl.pods.length)] : byId.get(we.server)!;
    const e = edge(ca, sa, we.port, 500_000);
    podEdges.set(e.key, e);
  }
  return {
    seq: 1,
    generatedAtMs: NOW_MS,
    window: '15m',
    fromMs: NOW_MS - 900_000,
    toMs: NOW_MS,
    namespaces: [...new Set(wls.map((w) => w.ns))].sort(),
    endpoints,
    podEdges: [...podEdges.values()],
    workloadEdges: wlEdges,
  };
}
