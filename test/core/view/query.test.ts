import { strict as assert } from 'node:assert';
import { buildRows, sortRows, COLUMNS, DEFAULT_COLUMNS, type FlowRow } from '../../../src/core/view/flow-table';
import { endpointIndex } from '../../../src/core/view/map-graph';
import { parseNumber, parseQuery } from '../../../src/core/view/query';
import { csvField, rowsToCsv } from '../../../src/core/view/csv';
import { syntheticSnapshot, shopSnapshot } from '../../webview/fixtures';

suite('flow table: rows, query syntax, sorting, CSV', () => {
  const s = shopSnapshot();
  const rows = buildRows(s, endpointIndex(s));
  const keys = (q: string) => {
    const p = parseQuery(q);
    assert.ok(p.ok, p.ok ? '' : p.error);
    return rows.filter(p.predicate).map((r) => r.key).sort();
  };

  test('rows: local is the in-cluster end; views by category', () => {
    const s3 = rows.find((r) => r.edge.server === 'cloud:S3')!;
    assert.deepEqual([s3.local.id, s3.remote.id, s3.direction, s3.view], ['pod:gallery/gallery-9e3c-a1', 'cloud:S3', 'egress', 'cloud']);
    assert.equal(rows.filter((r) => r.view === 'external').length, 1);
    assert.equal(rows.length, s.podEdges.length);
  });

  test('field terms, negation, alternatives, numbers with units, is:, quoted words', () => {
    assert.deepEqual(keys('remote.ns:orders-db'), []);
    assert.deepEqual(keys('remotePod:orders-db port:5432'), ['pod:orders/orders-8d2e-a1|pod:orders/orders-db-0|TCP|5432', 'pod:orders/orders-8d2e-c2|pod:orders/orders-db-0|TCP|5432']);
    assert.equal(keys('port:5432,3306').length, 4);
    assert.equal(keys('port!=53').length, rows.filter((r) => r.edge.port !== 53).length);
    assert.equal(keys('-ns:kube-system').length, rows.filter((r) => r.remote.namespace !== 'kube-system' && r.local.namespace !== 'kube-system').length);
    assert.equal(keys('!ns:kube-system').length, keys('-ns:kube-system').length);
    assert.deepEqual(keys('bytesOut>1MB'), ['pod:gallery/gallery-9e3c-a1|cloud:S3|TCP|443']);
    assert.deepEqual(keys('received>=1.9MB category:external'), ['pod:gallery/gallery-9e3c-a1|ip:198.51.100.10|TCP|443']);
    assert.equal(keys('rtt>10ms').length, 1 + 1, 'S3 (12 ms) and the internet host (45 ms)');
    assert.equal(keys('rtt>10000us').length, 2);
    assert.deepEqual(keys('failed>0'), ['pod:checkout/checkout-4a1b-b1|pod:orders/orders-8d2e-a1|TCP|9999']);
    assert.equal(keys('is:cross-zone').length, rows.filter((r) => r.edge.category === 'inter-zone').length);
    assert.equal(keys('is:ingress').length, 0);
    assert.equal(keys('proto=udp').length, rows.filter((r) => r.edge.protocol === 'UDP').length);
    assert.equal(keys('zone=zone-c ns=orders').length, rows.filter((r) => (r.local.zones.includes('zone-c') || r.remote.zones.includes('zone-c')) && (r.local.namespace === 'orders' || r.remote.namespace === 'orders')).length);
    assert.deepEqual(keys('"catalog-db-0" CATALOG'), keys('catalog-db-0'));
    assert.equal(keys('').length, rows.length);
  });

  test('errors are precise', () => {
    const err = (q: string) => {
      const p = parseQuery(q);
      assert.ok(!p.ok, q);
      return p.error;
    };
    assert.match(err('colour:red'), /unknown field "colour"; fields: .*namespace/);
    assert.match(err('port:http'), /"http" is not a number for port/);
    assert.match(err('rtt>fast'), /e\.g\. 250us, 10ms, 1s/);
    assert.match(err('ns>3'), /ns is text/);
    assert.match(err('is:purple'), /is: takes unhealthy/);
    assert.match(err('ns:"orders'), /unclosed quote at column 4/);
    assert.match(err('ns:'), /needs a value/);
  });

  test('units', () => {
    assert.equal(parseNumber('1.5kB', 'bytes'), 1500);
    assert.equal(parseNumber('2MiB', 'bytes'), 2 * 1024 * 1024);
    assert.equal(parseNumber('3', 'rtt'), 3000);
    assert.equal(parseNumber('250us', 'rtt'), 250);
    assert.equal(parseNumber('1s', 'rtt'), 1e6);
    assert.equal(parseNumber('2k', 'count'), 2000);
    assert.equal(parseNumber('2x', 'count'), undefined);
  });

  test('sorting: numbers numerically, text case-insensitively, ties by key, both directions', () => {
    const sorted = sortRows([...rows], { column: 'bytesOut', descending: true });
    const values = sorted.map((r) => COLUMNS.find((c) => c.id === 'bytesOut')!.value(r) as number);
    assert.deepEqual(values, [...values].sort((a, b) => b - a));
    const byPod = sortRows([...rows], { column: 'remotePod', descending: false }).map((r) => r.text.remotePod);
    assert.deepEqual(byPod, [...byPod].sort());
  });

  test('filtering 100,000 rows takes under 100 ms (median of 3)', () => {
    const big = syntheticSnapshot({ namespaces: 40, workloads: 1000, podsPerWorkload: 6, workloadEdges: 5000, podEdges: 100_000 });
    const all: FlowRow[] = buildRows(big, endpointIndex(big));
    assert.equal(all.length, 100_000);
    const p = parseQuery('ns:team-1 -ns:team-13 bytes>100kB retransmits>=0 port:8080,9080');
    assert.ok(p.ok);
    const times: number[] = [];
    let hits = 0;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      hits = all.filter(p.predicate).length;
      times.push(performance.now() - t0);
    }
    const ms = times.sort((a, b) => a - b)[1];
    assert.ok(hits > 0);
    assert.ok(ms < 100, `${ms.toFixed(1)} ms`);
  });

  test('CSV: header with units, raw numbers, quoting, and formula-looking cells defused', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvField('+1'), "'+1");
    assert.equal(csvField('@cmd'), "'@cmd");
    assert.equal(csvField(-5), '-5');
    const csv = rowsToCsv(rows.filter((r) => r.edge.server === 'cloud:S3'), DEFAULT_COLUMNS);
    const [head, line, end] = csv.split('\r\n');
    assert.equal(head, 'Local pod,Local namespace,Remote pod,Remote namespace,Remote IP,Port,Protocol,Bytes out (bytes),Bytes in (bytes),Connections,Retransmits,RTO,RTT (µs),Failed');
    assert.equal(line, 'gallery-9e3c-a1,gallery,S3,,203.0.113.5,443,TCP,8500000,30000,5,0,0,12000,0');
    assert.equal(end, '');
  });
});
