import { strict as assert } from 'node:assert';
import { parseFlowsJsonl } from '../../../src/core/flows/flow-record';
import { record } from './flow-fixtures';

suite('flow records (.flows.jsonl)', () => {
  test('valid lines parse, blank lines are skipped, extra fields are allowed', () => {
    const text = [JSON.stringify(record('198.18.1.10', '198.18.1.30', 5432)), '', JSON.stringify({ ...record('198.18.1.10', '2001:db8::1', 443), extra: { x: 1 } })].join('\n');
    const parsed = parseFlowsJsonl(text, 'f.jsonl');
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.records.length, 2);
  });

  test('every bad line is reported with file, line and field', () => {
    const good = record('198.18.1.10', '198.18.1.30', 5432);
    const lines = [
      JSON.stringify(good),
      '{not json',
      JSON.stringify({ ...good, v: 2 }),
      JSON.stringify({ ...good, bytesToServer: -1 }),
      JSON.stringify({ ...good, server: { ip: '198.18.1.30', port: 0 } }),
      JSON.stringify({ ...good, client: { ip: '300.1.1.1' } }),
      JSON.stringify({ ...good, protocol: 'ICMP' }),
      JSON.stringify({ ...good, start: 'yesterday' }),
      JSON.stringify({ ...good, start: '2026-11-21T10:00:06Z' }),
      JSON.stringify({ ...good, retransmits: 1.5 }),
      JSON.stringify({ ...good, observedAt: undefined }),
    ];
    const parsed = parseFlowsJsonl(lines.join('\n'), 'f.jsonl');
    assert.equal(parsed.records.length, 1);
    assert.deepEqual(parsed.errors.map((e) => e.replace(/: not JSON: .*/, ': not JSON')), [
      'f.jsonl:2: not JSON',
      'f.jsonl:3: v: must be 1 (flow record v1)',
      'f.jsonl:4: bytesToServer: must not be negative',
      'f.jsonl:5: server.port: must be a port (1-65535)',
      'f.jsonl:6: client.ip: is not an IP address',
      'f.jsonl:7: protocol: expected one of "TCP"|"UDP"',
      'f.jsonl:8: start: must be an RFC 3339 time such as 2026-01-02T15:04:05Z',
      'f.jsonl:9: end 2026-11-21T10:00:05Z is before start 2026-11-21T10:00:06Z',
      'f.jsonl:10: retransmits: must be a whole number',
      'f.jsonl:11: observedAt: expected one of "client"|"server"',
    ]);
  });
});
