/** Builders for flow tests: records with sensible defaults, and the ip-ranges.json fixture. */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAwsIpRanges, type CloudRanges } from '../../../src/core/flows/cloud-ranges';
import type { FlowRecord } from '../../../src/core/flows/flow-record';

export const FIXTURES = join(__dirname, '..', '..', '..', '..', 'test', 'fixtures');

export function cloudRangesFixture(): CloudRanges {
  const parsed = parseAwsIpRanges(readFileSync(join(FIXTURES, 'aws-ip-ranges.json'), 'utf8'), 'aws-ip-ranges.json');
  assert.ok(parsed.ok);
  return parsed.ranges;
}

export function record(client: string, server: string, port: number, extra: Partial<FlowRecord> = {}): FlowRecord {
  return {
    v: 1,
    start: '2026-11-21T10:00:00Z',
    end: '2026-11-21T10:00:05Z',
    node: 'node-a',
    protocol: 'TCP',
    client: { ip: client },
    server: { ip: server, port },
    observedAt: 'client',
    bytesToServer: 100,
    bytesToClient: 1000,
    packetsToServer: 2,
    packetsToClient: 3,
    connections: 1,
    retransmits: 0,
    rto: 0,
    rttUs: 250,
    resets: 0,
    failedConnections: 0,
    ...extra,
  };
}

