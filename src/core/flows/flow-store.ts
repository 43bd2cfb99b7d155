/**
 * The flow store: the last hour of flow records in time buckets, answering any window up to an hour
 * (5 m, 15 m, 30 m, 1 h) with bounded memory.
 *
 * Records are merged per bucket by their key — (side observed, protocol, client, server, port, node) — so
 * a bucket holds one entry per connection key however many agent windows fell into it. Buckets are
 * rolled up as they age: 15 s buckets for the last 5 minutes, 1 minute up to 15 minutes, 5 minutes up to
 * an hour; older buckets are evicted. Client- and server-side observations stay apart here and are
 * merged by aggregate() when a window is queried. Keys are interned once (a cluster has far fewer
 * distinct keys than records) and counters live in typed arrays, so the memory is ~100 bytes an entry.
 */
import type { FlowProtocol, FlowRecord } from './flow-record';

export interface StoreTier {
  readonly bucketMs: number;
  /** Buckets younger than this (relative to the newest data) stay at this resolution. */
  readonly keepMs: number;
}

export const DEFAULT_TIERS: readonly StoreTier[] = [
  { bucketMs: 15_000, keepMs: 5 * 60_000 },
  { bucketMs: 60_000, keepMs: 15 * 60_000 },
  { bucketMs: 300_000, keepMs: 60 * 60_000 },
];

// Counter columns of an entry: volumes in 64-bit floats, the small counts and RTT in 32-bit integers.
const BYTES_TO_SERVER = 0;
const BYTES_TO_CLIENT = 1;
const PACKETS_TO_SERVER = 2;
const PACKETS_TO_CLIENT = 3;
const WIDE = 4;
const CONNECTIONS = 0;
const RETRANSMITS = 1;
const RTO = 2;
const RESETS = 3;
const FAILED = 4;
const RTT = 5;
const NARROW = 6;

interface Key {
  readonly observedAt: 'client' | 'server';
  readonly protocol: FlowProtocol;
  readonly clientIp: string;
  readonly serverIp: string;
  readonly serverPort: number;
  readonly node: string;
}

/** The counters of one record, in the store's column order. */
interface Values {
  readonly wide: ArrayLike<number>;
  readonly narrow: ArrayLike<number>;
}

/**
 * One bucket. Keys are dense interned ids, so the entry of a key is found through a slot table indexed
 * by key id (cheaper than a Map per bucket); counters live in typed arrays grown by half as needed.
 */
class Bucket {
  private slots = new Int32Array(0);
  keys = new Int32Array(0);
  wide = new Float64Array(0);
  narrow = new Uint32Array(0);
  /** When each entry's RTT was reported (seconds since the store's first record), to keep the latest. */
  rttAt = new Uint32Array(0);
  size = 0;

  constructor(
    readonly startMs: number,
    readonly endMs: number,
  ) {}

  entry(keyId: number): number {
    if (keyId >= this.slots.length) {
      const slots = new Int32Array(Math.max(keyId + 1, Math.ceil(this.slots.length * 1.5), 64)).fill(-1);
      slots.set(this.slots);
      this.slots = slots;
    }
    let i = this.slots[keyId];
    if (i < 0) {
      if (this.size === this.keys.length) {
        this.grow();
      }
      i = this.size++;
      this.keys[i] = keyId;
      this.slots[keyId] = i;
    }
    return i;
  }

  private grow(): void {
    const n = Math.max(64, Math.ceil(this.keys.length * 1.5));
    const keys = new Int32Array(n);
    keys.set(this.keys);
    const wide = new Float64Array(n * WIDE);
    wide.set(this.wide);
    const narrow = new Uint32Array(n * NARROW);
    narrow.set(this.narrow);
    const rttAt = new Uint32Array(n);
    rttAt.set(this.rttAt);
    this.keys = keys;
    this.wide = wide;
    this.narrow = narrow;
    this.rttAt = rttAt;
  }

  add(i: number, v: Values, rttUs: number, rttAtS: number): void {
    for (let c = 0; c < WIDE; c++) {
      this.wide[i * WIDE + c] += v.wide[c];
    }
    for (let c = 0; c < RTT; c++) {
      this.narrow[i * NARROW + c] += v.narrow[c];
    }
    if (rttUs > 0 && rttAtS >= this.rttAt[i]) {
      this.narrow[i * NARROW + RTT] = rttUs;
      this.rttAt[i] = rttAtS;
    }
  }

  /** An entry's counters, for merging into another bucket. */
  values(i: number): Values {
    return { wide: this.wide.subarray(i * WIDE, (i + 1) * WIDE), narrow: this.narrow.subarray(i * NARROW, (i + 1) * NARROW) };
  }

  get bytes(): number {
    return this.slots.byteLength + this.keys.byteLength + this.wide.byteLength + this.narrow.byteLength + this.rttAt.byteLength;
  }
}

export interface StoreStats {
  readonly buckets: number;
  readonly entries: number;
  readonly keys: number;
  /** Approximate memory of buckets and keys. */
  readonly bytes: number;
  /** Records older than the last hour when they arrived: not stored. */
  readonly tooOld: number;
}

export class FlowStore {
  private readonly keyIds = new Map<string, number>();
  private readonly keys: Key[] = [];
  /** Buckets by start time, per tier. */
  private readonly tiers: Map<number, Bucket>[];
  private newestMs = -Infinity;
  private epochMs?: number;
  private tooOld = 0;
  private readonly wide = new Float64Array(WIDE);
  private readonly narrow = new Uint32Array(NARROW);

  constructor(private readonly tierSpecs: readonly StoreTier[] = DEFAULT_TIERS) {
    this.tiers = tierSpecs.map(() => new Map());
  }

  /** Adds agent records (per-window deltas). */
  add(records: readonly FlowRecord[]): void {
    for (const r of records) {
      const endMs = Date.parse(r.end);
      if (endMs > this.newestMs) {
        this.newestMs = endMs;
      }
      if (endMs < this.newestMs - this.horizonMs) {
        this.tooOld++;
        continue;
      }
      const tier = this.tierFor(endMs);
      const spec = this.tierSpecs[tier];
      // A record covers (start, end]; a bucket too: file the record under the bucket of its last instant.
      const start = Math.floor((endMs - 1) / spec.bucketMs) * spec.bucketMs;
      let bucket = this.tiers[tier].get(start);
      if (!bucket) {
        bucket = new Bucket(start, start + spec.bucketMs);
        this.tiers[tier].set(start, bucket);
      }
      const w = this.wide;
      w[BYTES_TO_SERVER] = r.bytesToServer;
      w[BYTES_TO_CLIENT] = r.bytesToClient;
      w[PACKETS_TO_SERVER] = r.packetsToServer;
      w[PACKETS_TO_CLIENT] = r.packetsToClient;
      const n = this.narrow;
      n[CONNECTIONS] = r.connections;
      n[RETRANSMITS] = r.retransmits;
      n[RTO] = r.rto;
      n[RESETS] = r.resets;
      n[FAILED] = r.failedConnections;
      this.epochMs ??= endMs - this.horizonMs;
      bucket.add(bucket.entry(this.keyId(r)), { wide: w, narrow: n }, r.rttUs, Math.max(0, Math.round((endMs - this.epochMs) / 1000)));
    }
    this.compact();
  }

  /**
   * The stored traffic of the buckets that overlap [fromMs, toMs], as flow records (one per key and
   * bucket, with the bucket's bounds as start and end). Buckets cover (start, end]; windows are answered
   * at bucket resolution, and eviction keeps at least the last hour (up to one oldest bucket more).
   */
  query(fromMs: number, toMs: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    for (const tier of this.tiers) {
      for (const b of tier.values()) {
        if (b.endMs < fromMs || b.startMs >= toMs) {
          continue;
        }
        const start = new Date(b.startMs).toISOString();
        const end = new Date(b.endMs).toISOString();
        for (let i = 0; i < b.size; i++) {
          out.push(this.record(b, i, start, end));
        }
      }
    }
    return out;
  }

  /** The newest data time (the end of the latest record added), for "last N minutes" windows. */
  get newest(): number | undefined {
    return Number.isFinite(this.newestMs) ? this.newestMs : undefined;
  }

  stats(): StoreStats {
    let buckets = 0;
    let entries = 0;
    let bytes = 0;
    for (const tier of this.tiers) {
      for (const b of tier.values()) {
        buckets++;
        entries += b.size;
        bytes += b.bytes;
      }
    }
    // Interned keys: the strings of the key and its map entry.
    for (const k of this.keys) {
      bytes += 2 * (k.clientIp.length + k.serverIp.length + k.node.length) + 160;
    }
    return { buckets, entries, keys: this.keys.length, bytes, tooOld: this.tooOld };
  }

  private get horizonMs(): number {
    return this.tierSpecs[this.tierSpecs.length - 1].keepMs;
  }

  private tierFor(endMs: number): number {
    const age = this.newestMs - endMs;
    const t = this.tierSpecs.findIndex((s) => age < s.keepMs);
    return t < 0 ? this.tierSpecs.length - 1 : t;
  }

  private keyId(r: FlowRecord): number {
    const text = `${r.observedAt}|${r.protocol}|${r.client.ip}|${r.server.ip}|${r.server.port}|${r.node}`;
    let id = this.keyIds.get(text);
    if (id === undefined) {
      id = this.keys.length;
      this.keys.push({ observedAt: r.observedAt, protocol: r.protocol, clientIp: r.client.ip, serverIp: r.server.ip, serverPort: r.server.port, node: r.node });
      this.keyIds.set(text, id);
    }
    return id;
  }

  /** Moves aged buckets to the next tier (merging entries) and drops what is older than the last tier keeps. */
  private compact(): void {
    for (let t = 0; t < this.tiers.length; t++) {
      const spec = this.tierSpecs[t];
      for (const [start, b] of this.tiers[t]) {
        if (this.newestMs - b.endMs < spec.keepMs) {
          continue;
        }
        this.tiers[t].delete(start);
        const next = t + 1;
        if (next >= this.tiers.length) {
          continue;
        }
        const nextSpec = this.tierSpecs[next];
        const nextStart = Math.floor((b.endMs - 1) / nextSpec.bucketMs) * nextSpec.bucketMs;
        let target = this.tiers[next].get(nextStart);
        if (!target) {
          target = new Bucket(nextStart, nextStart + nextSpec.bucketMs);
          this.tiers[next].set(nextStart, target);
        }
        for (let i = 0; i < b.size; i++) {
          target.add(target.entry(b.keys[i]), b.values(i), b.narrow[i * NARROW + RTT], b.rttAt[i]);
        }
      }
    }
  }

  private record(b: Bucket, i: number, start: string, end: string): FlowRecord {
    const k = this.keys[b.keys[i]];
    const w = b.wide;
    const n = b.narrow;
    const wb = i * WIDE;
    const nb = i * NARROW;
    return {
      v: 1,
      start,
      end,
      node: k.node,
      protocol: k.protocol,
      client: { ip: k.clientIp },
      server: { ip: k.serverIp, port: k.serverPort },
      observedAt: k.observedAt,
      bytesToServer: w[wb + BYTES_TO_SERVER],
      bytesToClient: w[wb + BYTES_TO_CLIENT],
      packetsToServer: w[wb + PACKETS_TO_SERVER],
      packetsToClient: w[wb + PACKETS_TO_CLIENT],
      connections: n[nb + CONNECTIONS],
      retransmits: n[nb + RETRANSMITS],
      rto: n[nb + RTO],
      resets: n[nb + RESETS],
      failedConnections: n[nb + FAILED],
      rttUs: n[nb + RTT],
    };
  }
}
