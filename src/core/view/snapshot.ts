/**
 * Builds the webview's snapshot for a time window from enriched flows: pod-level edges (the flow table's
 * rows and the pod view's edges), workload-level edges (the workload view's edges), and every endpoint
 * either level mentions with what the flows say about it (pods, addresses, nodes, zones).
 *
 * The edges are `aggregate()`'s, unchanged, so the map shows the same figures as the CLI and the policy
 * engine read. Endpoint details are collected by computing, per flow, the same ids `aggregate()` gives
 * its ends (`endpointIdOf`, aggregate.ts's own `edgeEnd`).
 */
import { aggregate, edgeEnd, type Edge, type EdgeEnd } from '../flows/aggregate';
import type { EnrichedFlow, FlowPeer } from '../flows/enriched-flow';
import type { EdgeView, EndpointView, TimeWindow, ViewSnapshot } from './protocol';
import { TIME_WINDOW_MS } from './protocol';

export interface SnapshotOptions {
  readonly window: TimeWindow;
  /** The window's end (now). */
  readonly nowMs: number;
  readonly seq: number;
  /** Namespaces known to the cluster, for the scope picker; the flows' namespaces are added. */
  readonly namespaces?: readonly string[];
}

/** The id `aggregate()` gives this peer at pod or workload level. */
export function endpointIdOf(peer: FlowPeer, level: 'pod' | 'workload'): string {
  return edgeEnd(peer, level).id;
}

interface Details {
  end: EdgeEnd;
  workload?: FlowPeer['workload'];
  pod?: string;
  pods: Set<string>;
  ips: Set<string>;
  nodes: Set<string>;
  zones: Set<string>;
  service?: { namespace: string; name: string };
  cloudService?: string;
}

export function buildSnapshot(flows: readonly EnrichedFlow[], options: SnapshotOptions): ViewSnapshot {
  const toMs = options.nowMs;
  const fromMs = toMs - TIME_WINDOW_MS[options.window];
  const inWindow = flows.filter((f) => f.endMs >= fromMs && f.startMs <= toMs);
  const podEdges = aggregate(inWindow, { level: 'pod' });
  const workloadEdges = aggregate(inWindow, { level: 'workload' });

  const details = new Map<string, Details>();
  for (const e of [...podEdges, ...workloadEdges]) {
    for (const end of [e.client, e.server]) {
      if (!details.has(end.id)) {
        details.set(end.id, { end, pods: new Set(), ips: new Set(), nodes: new Set(), zones: new Set() });
      }
    }
  }
  for (const f of inWindow) {
    for (const [peer, side] of [
      [f.client, 'client'],
      [f.server, 'server'],
    ] as const) {
      for (const level of ['pod', 'workload'] as const) {
        const d = details.get(endpointIdOf(peer, level));
        if (d) {
          addDetails(d, peer, side, level);
        }
      }
      // A client-side record to a Service, attributed by aggregate() to the busiest backend: that pod's own
      // server-side records carry its details; only its name is certain here.
    }
  }
  const namespaces = new Set(options.namespaces ?? []);
  const endpoints: EndpointView[] = [];
  for (const d of details.values()) {
    if (d.end.namespace) {
      namespaces.add(d.end.namespace);
    }
    endpoints.push(endpointView(d));
  }
  endpoints.sort((a, b) => compare(a.id, b.id));
  return {
    seq: options.seq,
    generatedAtMs: options.nowMs,
    window: options.window,
    fromMs,
    toMs,
    namespaces: [...namespaces].sort(compare),
    endpoints,
    podEdges: podEdges.map(edgeView),
    workloadEdges: workloadEdges.map(edgeView),
  };
}

function addDetails(d: Details, peer: FlowPeer, side: 'client' | 'server', level: 'pod' | 'workload'): void {
  if (peer.workload && !d.workload) {
    d.workload = peer.workload;
  }
  if (peer.node) {
    d.nodes.add(peer.node);
  }
  if (peer.zone) {
    d.zones.add(peer.zone);
  }
  if (peer.cloudService) {
    d.cloudService = peer.cloudService;
  }
  if (peer.service && side === 'server' && d.end.id.startsWith('svc:')) {
    d.service = { namespace: peer.service.namespace, name: peer.service.name };
  }
  if (peer.pods.length === 1) {
    const pod = peer.pods[0];
    d.pods.add(pod.name);
    if (level === 'pod') {
      d.pod = pod.name;
    }
    for (const ip of pod.ips) {
      d.ips.add(ip.text);
    }
    if (pod.nodeName) {
      d.nodes.add(pod.nodeName);
    }
  } else if (peer.pods.length === 0 || side === 'server') {
    // An address that is not one pod's: the external/cloud/node address, or the ClusterIP a client dialled.
    d.ips.add(peer.ip);
  }
}

function endpointView(d: Details): EndpointView {
  const v: EndpointView = {
    id: d.end.id,
    kind: d.end.kind,
    label: d.end.label,
    pods: [...d.pods].sort(compare),
    ips: [...d.ips].sort(compare),
    nodes: [...d.nodes].sort(compare),
    zones: [...d.zones].sort(compare),
  };
  if (d.end.namespace !== undefined) {
    v.namespace = d.end.namespace;
  }
  if (d.workload) {
    v.workload = { kind: d.workload.kind, namespace: d.workload.namespace, name: d.workload.name };
  }
  if (d.pod !== undefined) {
    v.pod = d.pod;
  }
  if (d.service) {
    v.service = d.service;
  }
  if (d.cloudService !== undefined) {
    v.cloudService = d.cloudService;
  }
  return v;
}

export function edgeView(e: Edge): EdgeView {
  return {
    key: e.key,
    client: e.client.id,
    server: e.server.id,
    protocol: e.protocol,
    port: e.port,
    category: e.category,
    totals: { ...e.totals },
    firstSeenMs: e.firstSeenMs,
    lastSeenMs: e.lastSeenMs,
  };
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
