/** Helpers shared by the benchmark scripts: a seeded generator (runs are comparable), synthetic flow records, decoding, timing. */
import type { FlowRecord } from '../src/core/flows/flow-record';
import { decodePod, decodeWorkload, type ClusterObject } from '../src/core/kube/decode';

/** mulberry32: small, fast and good enough to spread synthetic objects; the same seed gives the same run. */
export function seeded(seed: number) {
  let state = seed;
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];
  return { random, int, pick };
}

/** The value of a decode that must succeed (synthetic input is valid by construction). */
export function must<T>(d: { ok: true; value: T } | { ok: false; errors: unknown }): T {
  if (!d.ok) {
    throw new Error(JSON.stringify(d.errors));
  }
  return d.value;
}

/** The result of fn and its wall time in milliseconds. */
export function timed<T>(fn: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const result = fn();
  return [result, Number(process.hrtime.bigint() - start) / 1e6];
}

export const SYNTHETIC_T0 = Date.parse('2026-11-21T10:00:00Z');
export const SYNTHETIC_WINDOW_MS = 5_000;

/** One client-side record of agent window `window` (5 s windows from SYNTHETIC_T0), with random byte counts from `int`. */
export function syntheticRecord(int: (n: number) => number, client: string, server: string, port: number, protocol: 'TCP' | 'UDP', window: number): FlowRecord {
  return {
    v: 1,
    start: new Date(SYNTHETIC_T0 + window * SYNTHETIC_WINDOW_MS).toISOString(),
    end: new Date(SYNTHETIC_T0 + (window + 1) * SYNTHETIC_WINDOW_MS).toISOString(),
    node: 'node-0',
    protocol,
    client: { ip: client },
    server: { ip: server, port },
    observedAt: 'client',
    bytesToServer: 100 + int(10_000),
    bytesToClient: 100 + int(100_000),
    packetsToServer: 10,
    packetsToClient: 20,
    connections: protocol === 'TCP' ? 1 + int(5) : 0,
    retransmits: 0,
    rto: 0,
    rttUs: 300,
    resets: 0,
    failedConnections: 0,
  };
}

export interface SyntheticDeployment {
  readonly namespace: string;
  readonly name: string;
  /** The pods' labels; the Deployment selects `app: name`. */
  readonly labels: Readonly<Record<string, string>>;
  /** The pod-template-hash, which also names the ReplicaSet. */
  readonly hash: string;
  readonly replicas: number;
  readonly nodes: number;
  readonly containerPorts: readonly object[];
}

/**
 * Appends a Deployment and its Running pods (owned by its ReplicaSet) to `objects`. Pod `firstPod + i`
 * gets the i-th address of 198.18.0.0/16 (250 per /24) and node `node-<index mod nodes>`; returns the addresses.
 */
export function syntheticDeployment(objects: ClusterObject[], d: SyntheticDeployment, firstPod: number): string[] {
  objects.push({ kind: 'Workload', value: must(decodeWorkload('Deployment', { metadata: { name: d.name, namespace: d.namespace }, spec: { selector: { matchLabels: { app: d.name } }, template: { metadata: { labels: d.labels } } } })) });
  const ips: string[] = [];
  for (let r = 0; r < d.replicas; r++) {
    const index = firstPod + r;
    const ip = `198.18.${Math.floor(index / 250)}.${(index % 250) + 1}`;
    ips.push(ip);
    objects.push({
      kind: 'Pod',
      value: must(
        decodePod({
          metadata: { name: `${d.name}-${d.hash}-${r}`, namespace: d.namespace, labels: { ...d.labels, 'pod-template-hash': d.hash }, ownerReferences: [{ kind: 'ReplicaSet', name: `${d.name}-${d.hash}`, controller: true }] },
          spec: { nodeName: `node-${index % d.nodes}`, containers: [{ ports: d.containerPorts }] },
          status: { phase: 'Running', podIP: ip },
        }),
      ),
    });
  }
  return ips;
}
