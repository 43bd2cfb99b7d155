/** Helpers shared by the benchmark scripts: a seeded generator (runs are comparable), synthetic flow records, decoding, timing. */
import type { FlowRecord } from '../src/core/flows/flow-record';

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
