import { strict as assert } from 'node:assert';
import { endpointRef, parseHostMessage, parseWebviewMessage, type WebviewMessage } from '../../../src/core/view/protocol';
import { shopSnapshot } from '../../webview/fixtures';

suite('view protocol: validation of messages in both directions', () => {
  const snapshot = shopSnapshot();

  test('a snapshot built by the core validates, and survives a JSON round trip unchanged', () => {
    const r = parseHostMessage(JSON.parse(JSON.stringify({ type: 'snapshot', snapshot })));
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.deepEqual(r.message, { type: 'snapshot', snapshot });
  });

  test('malformed host messages are errors naming the field, never exceptions', () => {
    const cases: [unknown, RegExp][] = [
      [null, /invalid host message \(type \?\)/],
      [{ type: 'snapshot' }, /snapshot/],
      [{ type: 'snapshot', snapshot: { ...snapshot, window: '2h' } }, /snapshot\.window/],
      [{ type: 'snapshot', snapshot: { ...snapshot, podEdges: [{ ...snapshot.podEdges[0], port: 70000 }] } }, /snapshot\.podEdges\.0\.port/],
      [{ type: 'snapshot', snapshot: { ...snapshot, podEdges: [{ ...snapshot.podEdges[0], totals: { ...snapshot.podEdges[0].totals, retransmits: -1 } }] } }, /totals\.retransmits/],
      [{ type: 'delta', delta: { seq: 2 } }, /delta\.baseSeq/],
      [{ type: 'status', status: { state: 'dancing' } }, /status\.state/],
      [{ type: 'launchMissiles' }, /type launchMissiles/],
    ];
    for (const [value, error] of cases) {
      const r = parseHostMessage(value);
      assert.ok(!r.ok, JSON.stringify(value).slice(0, 80));
      assert.match(r.error, error);
    }
  });

  test('every webview message validates; wrong ones do not; extra fields are stripped', () => {
    const ep = endpointRef(snapshot.endpoints.find((e) => e.id === 'wl:Deployment/ui/ui')!);
    const edge = { key: 'k', client: ep, server: ep, protocol: 'TCP' as const, port: 80 };
    const good: WebviewMessage[] = [
      { type: 'ready', protocol: 1, window: '5m' },
      { type: 'setWindow', window: '1h' },
      { type: 'resync' },
      { type: 'generatePolicy', level: 'workload', window: '15m', edges: [edge], nodes: [ep] },
      { type: 'showFlows', level: 'pod', window: '30m', edges: [edge] },
      { type: 'openPodEvents', namespace: 'ui', pods: ['ui-1'], workload: { kind: 'Deployment', namespace: 'ui', name: 'ui' } },
      { type: 'saveCsv', fileName: 'f.csv', csv: 'a,b\r\n', rows: 0 },
      { type: 'error', message: 'boom' },
    ];
    for (const m of good) {
      const r = parseWebviewMessage({ ...m, extra: 1 });
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.deepEqual(r.message, m);
    }
    for (const bad of [{ type: 'ready', protocol: 2, window: '5m' }, { type: 'setWindow', window: '7m' }, { type: 'generatePolicy', level: 'cluster', window: '5m', edges: [], nodes: [] }, { type: 'saveCsv', fileName: 'x' }]) {
      assert.ok(!parseWebviewMessage(bad).ok, JSON.stringify(bad));
    }
  });

  test('endpointRef keeps what the host needs to find the flows and nothing else', () => {
    const ep = snapshot.endpoints.find((e) => e.id === 'pod:orders/orders-8d2e-a1')!;
    assert.deepEqual(endpointRef(ep), {
      id: 'pod:orders/orders-8d2e-a1',
      kind: 'pod',
      namespace: 'orders',
      workload: { kind: 'Deployment', namespace: 'orders', name: 'orders' },
      pod: 'orders-8d2e-a1',
      ips: ['198.18.1.40'],
    });
  });
});
