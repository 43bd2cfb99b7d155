/**
 * Snapshot deltas: what changed between two snapshots of the same time window, and applying it. Keys are
 * stable (endpoint ids, edge keys), so a delta is upserts plus removals; the webview applies it in place
 * of a snapshot and keeps its layout.
 */
import type { EdgeView, EndpointView, ViewDelta, ViewSnapshot } from './protocol';

export function diffSnapshots(prev: ViewSnapshot, next: ViewSnapshot): ViewDelta {
  const endpoints = diffBy(prev.endpoints, next.endpoints, (e) => e.id, sameEndpoint);
  const pod = diffBy(prev.podEdges, next.podEdges, (e) => e.key, sameEdge);
  const wl = diffBy(prev.workloadEdges, next.workloadEdges, (e) => e.key, sameEdge);
  const delta: ViewDelta = {
    seq: next.seq,
    baseSeq: prev.seq,
    generatedAtMs: next.generatedAtMs,
    fromMs: next.fromMs,
    toMs: next.toMs,
    endpoints: endpoints.upserts,
    removedEndpoints: endpoints.removed,
    podEdges: pod.upserts,
    removedPodEdges: pod.removed,
    workloadEdges: wl.upserts,
    removedWorkloadEdges: wl.removed,
  };
  if (prev.namespaces.join('\n') !== next.namespaces.join('\n')) {
    delta.namespaces = next.namespaces;
  }
  return delta;
}

/** The snapshot the delta leads to, or undefined when the delta is not based on this snapshot. */
export function applyDelta(base: ViewSnapshot, delta: ViewDelta): ViewSnapshot | undefined {
  if (delta.baseSeq !== base.seq) {
    return undefined;
  }
  return {
    seq: delta.seq,
    generatedAtMs: delta.generatedAtMs,
    window: base.window,
    fromMs: delta.fromMs,
    toMs: delta.toMs,
    namespaces: delta.namespaces ?? base.namespaces,
    endpoints: applyBy(base.endpoints, delta.endpoints, delta.removedEndpoints, (e) => e.id),
    podEdges: applyBy(base.podEdges, delta.podEdges, delta.removedPodEdges, (e) => e.key),
    workloadEdges: applyBy(base.workloadEdges, delta.workloadEdges, delta.removedWorkloadEdges, (e) => e.key),
  };
}

/** How many items a delta carries (upserts and removals): the publisher sends a snapshot when a delta is not smaller. */
export function deltaSize(d: ViewDelta): number {
  return d.endpoints.length + d.removedEndpoints.length + d.podEdges.length + d.removedPodEdges.length + d.workloadEdges.length + d.removedWorkloadEdges.length;
}

export function snapshotSize(s: ViewSnapshot): number {
  return s.endpoints.length + s.podEdges.length + s.workloadEdges.length;
}

function diffBy<T>(prev: readonly T[], next: readonly T[], key: (t: T) => string, same: (a: T, b: T) => boolean): { upserts: T[]; removed: string[] } {
  const before = new Map(prev.map((t) => [key(t), t]));
  const upserts: T[] = [];
  for (const t of next) {
    const k = key(t);
    const old = before.get(k);
    if (!old || !same(old, t)) {
      upserts.push(t);
    }
    before.delete(k);
  }
  return { upserts, removed: [...before.keys()] };
}

function applyBy<T>(base: readonly T[], upserts: readonly T[], removed: readonly string[], key: (t: T) => string): T[] {
  const gone = new Set(removed);
  const replaced = new Map(upserts.map((t) => [key(t), t]));
  const out: T[] = [];
  for (const t of base) {
    const k = key(t);
    if (gone.has(k)) {
      continue;
    }
    const r = replaced.get(k);
    out.push(r ?? t);
    replaced.delete(k);
  }
  out.push(...replaced.values());
  return out;
}

function sameEdge(a: EdgeView, b: EdgeView): boolean {
  if (a.category !== b.category || a.firstSeenMs !== b.firstSeenMs || a.lastSeenMs !== b.lastSeenMs || a.client !== b.client || a.server !== b.server) {
    return false;
  }
  const x = a.totals;
  const y = b.totals;
  return (
    x.bytesToServer === y.bytesToServer &&
    x.bytesToClient === y.bytesToClient &&
    x.packetsToServer === y.packetsToServer &&
    x.packetsToClient === y.packetsToClient &&
    x.connections === y.connections &&
    x.retransmits === y.retransmits &&
    x.rto === y.rto &&
    x.resets === y.resets &&
    x.failedConnections === y.failedConnections &&
    x.rttUs === y.rttUs
  );
}

function sameEndpoint(a: EndpointView, b: EndpointView): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
