import { strict as assert } from 'node:assert';
import { FlowStore } from '../../../src/core/flows/flow-store';
import type { FlowRecord } from '../../../src/core/flows/flow-record';
import { record } from './flow-fixtures';

const T0 = Date.parse('2026-11-21T10:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();

/** One agent window of `ms` ending at `end`, from the client side unless said otherwise. */
function windowRecord(end: number, extra: Partial<FlowRecord> = {}): FlowRecord {
  return record('198.18.1.10', '198.18.2.20', 9090, { start: at(end - 5000), end: at(end), bytesToServer: 100, bytesToClient: 1000, connections: 1, retransmits: 0, ...extra });
}

function totals(records: readonly FlowRecord[]) {
  return records.reduce((t, r) => ({ bytes: t.bytes + r.bytesToServer + r.bytesToClient, connections: t.connections + r.connections, records: t.records + 1 }), { bytes: 0, connections: 0, records: 0 });
}

suite('flow store', () => {
  test('records of one key merge per bucket; sides and keys stay apart; the latest RTT wins', () => {
    const store = new FlowStore();
    store.add([
      windowRecord(T0 + 5000, { rttUs: 300 }),
      windowRecord(T0 + 10000, { rttUs: 500, retransmits: 2 }),
      windowRecord(T0 + 10000, { observedAt: 'server', node: 'node-b' }),
      windowRecord(T0 + 10000, { server: { ip: '198.18.2.20', port: 9091 } }),
    ]);
    const stored = store.query(T0, T0 + 15000);
    assert.equal(stored.length, 3);
    const client = stored.find((r) => r.observedAt === 'client' && r.server.port === 9090)!;
    assert.deepEqual([client.bytesToServer, client.bytesToClient, client.connections, client.retransmits, client.rttUs], [200, 2000, 2, 2, 500]);
    assert.deepEqual([client.start, client.end], [at(T0), at(T0 + 15000)], 'bucket bounds');
  });

  test('roll-ups across every tier lose nothing: 50 minutes in, the same totals out', () => {
    const store = new FlowStore();
    const added: FlowRecord[] = [];
    for (let end = T0 + 5000; end <= T0 + 50 * 60_000; end += 5000) {
      const batch = [windowRecord(end, { bytesToServer: end % 7, connections: end % 3 }), windowRecord(end, { observedAt: 'server', node: 'node-b', bytesToServer: 3 })];
      added.push(...batch);
      store.add(batch);
    }
    const stats = store.stats();
    assert.ok(stats.buckets < 60, `rolled up into ${stats.buckets} buckets`);
    assert.equal(stats.keys, 2);
    const out = store.query(-Infinity, Infinity);
    assert.deepEqual([totals(out).bytes, totals(out).connections], [totals(added).bytes, totals(added).connections]);
    assert.ok(out.length < added.length / 10, 'stored as far fewer entries than records');
  });

  test('older than an hour is evicted (at bucket granularity), and late records that old are counted and dropped', () => {
    const store = new FlowStore();
    store.add([windowRecord(T0 + 5000)]);
    store.add([windowRecord(T0 + 62 * 60_000)]);
    assert.equal(store.query(-Infinity, Infinity).length, 2, 'its 5-minute bucket (ending T0+5m) is younger than an hour');
    store.add([windowRecord(T0 + 66 * 60_000)]);
    assert.deepEqual(
      store.query(-Infinity, Infinity).map((r) => r.end),
      [at(T0 + 62 * 60_000), at(T0 + 66 * 60_000)],
    );
    store.add([windowRecord(T0 + 10_000)]);
    assert.equal(store.stats().tooOld, 1);
    assert.equal(store.newest, T0 + 66 * 60_000);
  });

  test('windows: the last 5 minutes at 15 s resolution, older ranges at their tier', () => {
    const store = new FlowStore();
    for (let end = T0 + 5000; end <= T0 + 30 * 60_000; end += 5000) {
      store.add([windowRecord(end)]);
    }
    const newest = store.newest!;
    // Records end every 5 s; a 15 s bucket holds three. The last 5 minutes are 20 whole buckets.
    const last5 = store.query(newest - 5 * 60_000 + 1, newest);
    assert.deepEqual([last5.length, totals(last5).connections], [20, 60]);
    const all = store.query(newest - 30 * 60_000 + 1, newest);
    assert.equal(totals(all).connections, 360);
  });
});
