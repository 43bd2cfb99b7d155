/**
 * Aggregates enriched flows into edges at pod, workload or namespace level over a time window, and
 * ranks them (top talkers by bytes, by loss).
 *
 * The same connection is often reported twice: by the client's node (observedAt "client") and by the
 * server's node ("server"). Counting both would double the traffic, so per edge and side the figures are
 * kept apart and combined: volume (bytes, packets, connections) is the larger of the two sides — the
 * same traffic seen twice, one side possibly incomplete; retransmissions, RTOs and resets add up (each
 * side counts its own sends); failed connections come from the client side, the only one that sees them;
 * RTT is the latest smoothed value reported.
 *
 * At pod level a client-side record of a Service with several backends does not say which backend
 * answered; the server-side records do. When they exist (same client address, port and protocol, to one
 * of the backends, overlapping in time) the client-side record adds only what the servers cannot see —
 * its retransmissions, RTOs, resets and failed connections — to the busiest of those pod edges, and none
 * of its volume (which may span several backends). Otherwise it stays an edge to the backends' workload.
 */
import type { Pod } from '../kube/objects';
import type { EnrichedFlow, FlowPeer } from './enriched-flow';
import type { FlowCategory, FlowProtocol } from './flow-record';

export type AggregationLevel = 'pod' | 'workload' | 'namespace';

export interface Counters {
  bytesToServer: number;
  bytesToClient: number;
  packetsToServer: number;
  packetsToClient: number;
  connections: number;
  retransmits: number;
  rto: number;
  resets: number;
  failedConnections: number;
  /** Latest smoothed RTT reported, in microseconds (0: none). */
  rttUs: number;
}

export interface EdgeEnd {
  /** "ns/name" of the pod or workload, "ns" for a namespace, or the address / cloud service / node. */
  readonly id: string;
  readonly kind: FlowPeer['kind'];
  readonly namespace?: string;
  readonly label: string;
}

export interface Edge {
  readonly key: string;
  readonly client: EdgeEnd;
  readonly server: EdgeEnd;
  readonly protocol: FlowProtocol;
  readonly port: number;
  readonly category: FlowCategory;
  readonly totals: Counters;
  readonly records: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}

export interface AggregateOptions {
  readonly level: AggregationLevel;
  /** Only flows whose window overlaps [fromMs, toMs]. */
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly categories?: readonly FlowCategory[];
}

interface Accumulator {
  client: EdgeEnd;
  server: EdgeEnd;
  protocol: FlowProtocol;
  port: number;
  category: FlowCategory;
  sides: { client: Counters; server: Counters };
  records: number;
  firstSeenMs: number;
  lastSeenMs: number;
  rttAtMs: number;
  rttUs: number;
}

/** An edge is as far-reaching as the farthest of its flows (one cross-zone pod pair makes it cross-zone). */
const CATEGORY_RANK: Record<FlowCategory, number> = { 'intra-node': 0, 'intra-zone': 1, 'inter-zone': 2, 'cloud-service': 3, external: 3 };

export function emptyCounters(): Counters {
  return { bytesToServer: 0, bytesToClient: 0, packetsToServer: 0, packetsToClient: 0, connections: 0, retransmits: 0, rto: 0, resets: 0, failedConnections: 0, rttUs: 0 };
}

export function aggregate(flows: readonly EnrichedFlow[], options: AggregateOptions): Edge[] {
  const edges = new Map<string, Accumulator>();
  const categories = options.categories ? new Set(options.categories) : undefined;
  const selected = flows.filter(
    (f) =>
      !((options.fromMs !== undefined && f.endMs < options.fromMs) || (options.toMs !== undefined && f.startMs > options.toMs)) &&
      (!categories || categories.has(f.category)),
  );
  const answeredBy = options.level === 'pod' ? serverSideIndex(selected) : undefined;
  for (const f of selected) {
    const client = edgeEnd(f.client, options.level);
    let server = edgeEnd(f.server, options.level);
    let volume = true;
    if (answeredBy && f.record.observedAt === 'client' && f.server.pods.length > 1) {
      const backend = busiestBackend(answeredBy, f);
      if (backend) {
        server = edgeEnd({ ...f.server, pods: [backend] }, 'pod');
        volume = false;
      }
    }
    const key = `${client.id}|${server.id}|${f.protocol}|${f.port}`;
    let acc = edges.get(key);
    if (!acc) {
      acc = {
        client,
        server,
        protocol: f.protocol,
        port: f.port,
        category: f.category,
        sides: { client: emptyCounters(), server: emptyCounters() },
        records: 0,
        firstSeenMs: f.startMs,
        lastSeenMs: f.endMs,
        rttAtMs: -Infinity,
        rttUs: 0,
      };
      edges.set(key, acc);
    }
    if (CATEGORY_RANK[f.category] > CATEGORY_RANK[acc.category]) {
      acc.category = f.category;
    }
    const r = f.record;
    const side = acc.sides[r.observedAt];
    if (volume) {
      side.bytesToServer += r.bytesToServer;
      side.bytesToClient += r.bytesToClient;
      side.packetsToServer += r.packetsToServer;
      side.packetsToClient += r.packetsToClient;
      side.connections += r.connections;
    }
    side.retransmits += r.retransmits;
    side.rto += r.rto;
    side.resets += r.resets;
    side.failedConnections += r.failedConnections;
    acc.records++;
    acc.firstSeenMs = Math.min(acc.firstSeenMs, f.startMs);
    acc.lastSeenMs = Math.max(acc.lastSeenMs, f.endMs);
    if (r.rttUs > 0 && f.endMs >= acc.rttAtMs) {
      acc.rttAtMs = f.endMs;
      acc.rttUs = r.rttUs;
    }
  }
  return [...edges.entries()]
    .map(([key, a]) => ({
      key,
      client: a.client,
      server: a.server,
      protocol: a.protocol,
      port: a.port,
      category: a.category,
      totals: combine(a.sides.client, a.sides.server, a.rttUs),
      records: a.records,
      firstSeenMs: a.firstSeenMs,
      lastSeenMs: a.lastSeenMs,
    }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

interface ServerSideObservation {
  readonly pod: Pod;
  readonly startMs: number;
  readonly endMs: number;
  readonly bytes: number;
}

/** Server-side records by "client ip|port|protocol". */
function serverSideIndex(flows: readonly EnrichedFlow[]): Map<string, ServerSideObservation[]> {
  const index = new Map<string, ServerSideObservation[]>();
  for (const f of flows) {
    if (f.record.observedAt !== 'server' || f.server.pods.length !== 1) {
      continue;
    }
    const key = `${f.client.ip}|${f.port}|${f.protocol}`;
    const list = index.get(key) ?? [];
    list.push({ pod: f.server.pods[0], startMs: f.startMs, endMs: f.endMs, bytes: f.record.bytesToServer + f.record.bytesToClient });
    index.set(key, list);
  }
  return index;
}

function busiestBackend(index: Map<string, ServerSideObservation[]>, f: EnrichedFlow): Pod | undefined {
  const candidates = new Set(f.server.pods);
  const bytes = new Map<Pod, number>();
  for (const o of index.get(`${f.client.ip}|${f.port}|${f.protocol}`) ?? []) {
    if (candidates.has(o.pod) && o.endMs >= f.startMs && o.startMs <= f.endMs) {
      bytes.set(o.pod, (bytes.get(o.pod) ?? 0) + o.bytes);
    }
  }
  let best: Pod | undefined;
  for (const [pod, b] of bytes) {
    if (best === undefined || b > bytes.get(best)!) {
      best = pod;
    }
  }
  return best;
}

function combine(c: Counters, s: Counters, rttUs: number): Counters {
  return {
    bytesToServer: Math.max(c.bytesToServer, s.bytesToServer),
    bytesToClient: Math.max(c.bytesToClient, s.bytesToClient),
    packetsToServer: Math.max(c.packetsToServer, s.packetsToServer),
    packetsToClient: Math.max(c.packetsToClient, s.packetsToClient),
    connections: Math.max(c.connections, s.connections),
    retransmits: c.retransmits + s.retransmits,
    rto: c.rto + s.rto,
    resets: c.resets + s.resets,
    failedConnections: c.failedConnections,
    rttUs,
  };
}

/** A score of how unhealthy an edge is: RTOs and failed connections weigh more than retransmissions. */
export function lossScore(t: Counters): number {
  return t.retransmits + 10 * t.rto + 10 * t.failedConnections + 5 * t.resets;
}

/** The n edges with most bytes (both directions), or the n with the highest loss score (ties by bytes). */
export function topTalkers(edges: readonly Edge[], by: 'bytes' | 'loss', n: number): Edge[] {
  const bytes = (e: Edge) => e.totals.bytesToServer + e.totals.bytesToClient;
  const score = by === 'bytes' ? bytes : (e: Edge) => lossScore(e.totals);
  return [...edges]
    .filter((e) => score(e) > 0)
    .sort((a, b) => score(b) - score(a) || bytes(b) - bytes(a) || (a.key < b.key ? -1 : 1))
    .slice(0, n);
}

/** The end an edge has for this peer at a level: its id (the key of aggregation), kind, namespace and label. */
export function edgeEnd(peer: FlowPeer, level: AggregationLevel): EdgeEnd {
  if (peer.kind === 'cloud-service') {
    return { id: `cloud:${peer.cloudService}`, kind: peer.kind, label: peer.cloudService ?? peer.ip };
  }
  if (peer.kind === 'external') {
    return { id: `ip:${peer.ip}`, kind: peer.kind, label: peer.ip };
  }
  if (peer.kind === 'node' && !peer.workload) {
    return { id: `node:${peer.node}`, kind: peer.kind, label: `node ${peer.node}` };
  }
  const namespace = peer.namespace;
  if (level === 'namespace') {
    return { id: `ns:${namespace}`, kind: peer.kind, namespace, label: namespace ?? '' };
  }
  if (level === 'pod' && peer.pods.length === 1) {
    const pod = peer.pods[0];
    return { id: `pod:${pod.namespace}/${pod.name}`, kind: peer.kind, namespace, label: `${pod.namespace}/${pod.name}` };
  }
  // Workload level, or a Service whose backend is not known: the workload behind it.
  if (peer.workload) {
    const w = peer.workload;
    return { id: `wl:${w.kind}/${w.namespace}/${w.name}`, kind: peer.kind, namespace, label: `${w.namespace}/${w.name}` };
  }
  const svc = peer.service;
  return { id: `svc:${svc?.namespace}/${svc?.name}`, kind: peer.kind, namespace, label: svc ? `service ${svc.namespace}/${svc.name}` : peer.ip };
}
