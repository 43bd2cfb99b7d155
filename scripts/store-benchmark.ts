/**
 * The flow store benchmark: ingest rate, and memory after one hour of traffic shaped like the sandbox demo
 * (every pod calls three Services and DNS; each call is seen by the client's and the server's node) scaled
 * to 5,000 pods, in 5 s agent windows. `npm run bench:store` runs it in Node (scripts/bench-store.ts),
 * `npm run bench:store:vscode` inside the real VS Code extension host (test/vscode/store-benchmark-host.ts).
 */
import { FlowStore } from '../src/core/flows/flow-store';
import type { FlowRecord } from '../src/core/flows/flow-record';
import { seeded, timed } from './bench-support';

const PODS = 5_000;
const CALLS_PER_POD = 4; // three Services and DNS
const WINDOW_MS = 5_000;
const HOUR_MS = 3_600_000;
const T0 = Date.parse('2026-11-21T10:00:00Z');
const { int } = seeded(11);

const podIp = (i: number) => `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
// Each pod's peers and ports are fixed, as in a real application.
const peers = Array.from({ length: PODS }, () => Array.from({ length: CALLS_PER_POD }, (_, c) => ({ server: int(PODS), port: c === 0 ? 53 : 8080 + c })));

function windowRecords(endMs: number): FlowRecord[] {
  const start = new Date(endMs - WINDOW_MS).toISOString();
  const end = new Date(endMs).toISOString();
  const out: FlowRecord[] = [];
  for (let p = 0; p < PODS; p++) {
    for (const { server, port } of peers[p]) {
      for (const observedAt of ['client', 'server'] as const) {
        out.push({
          v: 1, start, end, node: `node-${(observedAt === 'client' ? p : server) % 50}`, protocol: port === 53 ? 'UDP' : 'TCP',
          client: { ip: podIp(p) }, server: { ip: podIp(server), port }, observedAt,
          bytesToServer: 200 + int(2000), bytesToClient: 1000 + int(20000), packetsToServer: 4, packetsToClient: 6,
          connections: 2, retransmits: int(10) === 0 ? 1 : 0, rto: 0, rttUs: 200 + int(800), resets: 0, failedConnections: 0,
        });
      }
    }
  }
  return out;
}

/** Prints the figures; `gc` (when the host can give it) makes the memory figure exact. */
export function runStoreBenchmark(print: (line: string) => void, gc?: () => void): void {
  const used = () => {
    gc?.();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };

  const store = new FlowStore();
  const before = used();
  let records = 0;
  let ingestMs = 0;
  for (let end = T0 + WINDOW_MS; end <= T0 + HOUR_MS; end += WINDOW_MS) {
    const batch = windowRecords(end);
    const [, ms] = timed(() => store.add(batch));
    ingestMs += ms;
    records += batch.length;
  }
  const after = used();
  const stats = store.stats();
  print(`one hour at ${PODS.toLocaleString('en-US')} pods: ${records.toLocaleString('en-US')} records in ${HOUR_MS / WINDOW_MS} windows of ${WINDOW_MS / 1000} s`);
  print(`ingest: ${Math.round(records / (ingestMs / 1000)).toLocaleString('en-US')} records/s (target >= 200,000)`);
  print(`store: ${stats.buckets} buckets, ${stats.entries.toLocaleString('en-US')} entries, ${stats.keys.toLocaleString('en-US')} keys; ~${(stats.bytes / 1048576).toFixed(0)} MiB by its own count`);
  print(`memory measured (heap + array buffers, after GC): ${((after - before) / 1048576).toFixed(0)} MiB (target < 200 MB)${gc ? '' : ' (no GC available: an upper bound)'}`);
  const [window, queryMs] = timed(() => store.query(T0 + HOUR_MS - 15 * 60_000 + 1, T0 + HOUR_MS));
  print(`query of the last 15 minutes: ${window.length.toLocaleString('en-US')} records in ${queryMs.toFixed(0)} ms`);
}
