/**
 * Flow record v1, the contract between the agent, recordings (`.flows.jsonl`) and everything that reads
 * flows. The key is (protocol, client ip, server ip, server port); counters are per window (deltas).
 * Parsing validates every field and names the line and field of anything wrong.
 */
import { z } from 'zod';
import { parseIp } from '../net/ip';
import { formatPath, zodFieldErrors } from '../kube/field-error';

export type FlowProtocol = 'TCP' | 'UDP';
export type FlowCategory = 'intra-node' | 'intra-zone' | 'inter-zone' | 'cloud-service' | 'external';
export const FLOW_CATEGORIES: readonly FlowCategory[] = ['intra-node', 'intra-zone', 'inter-zone', 'cloud-service', 'external'];

export interface WorkloadRef {
  readonly kind: string;
  readonly name: string;
}

/** An endpoint as it appears in a record: the address plus whatever enrichment its writer knew. */
export interface FlowRecordEndpoint {
  readonly ip: string;
  readonly port?: number;
  readonly namespace?: string;
  readonly pod?: string;
  readonly workload?: WorkloadRef;
  readonly node?: string;
  readonly zone?: string;
  readonly service?: { readonly namespace: string; readonly name: string; readonly port: number };
  readonly cloudService?: string;
}

export interface FlowRecord {
  readonly v: 1;
  readonly start: string;
  readonly end: string;
  readonly node: string;
  readonly protocol: FlowProtocol;
  readonly client: FlowRecordEndpoint;
  readonly server: FlowRecordEndpoint & { readonly port: number };
  readonly observedAt: 'client' | 'server';
  readonly bytesToServer: number;
  readonly bytesToClient: number;
  readonly packetsToServer: number;
  readonly packetsToClient: number;
  readonly connections: number;
  readonly retransmits: number;
  readonly rto: number;
  readonly rttUs: number;
  readonly resets: number;
  readonly failedConnections: number;
  readonly category?: FlowCategory;
}

const counter = z.number().int({ error: 'must be a whole number' }).min(0, { error: 'must not be negative' });
const ip = z.string().refine((s) => parseIp(s) !== undefined, { error: 'is not an IP address' });
const port = z.number().int().min(1, { error: 'must be a port (1-65535)' }).max(65535, { error: 'must be a port (1-65535)' });
const time = z.string().refine((s) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)), {
  error: 'must be an RFC 3339 time such as 2026-01-02T15:04:05Z',
});

const endpointFields = {
  ip,
  namespace: z.string().optional(),
  pod: z.string().optional(),
  workload: z.object({ kind: z.string(), name: z.string() }).optional(),
  node: z.string().optional(),
  zone: z.string().optional(),
  service: z.object({ namespace: z.string(), name: z.string(), port }).optional(),
  cloudService: z.string().optional(),
};

// Extra fields are fine (the contract allows them); these are the ones FlowLens reads.
const recordSchema = z.object({
  v: z.literal(1, { error: 'must be 1 (flow record v1)' }),
  start: time,
  end: time,
  node: z.string(),
  protocol: z.enum(['TCP', 'UDP']),
  client: z.object({ ...endpointFields, port: port.optional() }),
  server: z.object({ ...endpointFields, port }),
  observedAt: z.enum(['client', 'server']),
  bytesToServer: counter,
  bytesToClient: counter,
  packetsToServer: counter,
  packetsToClient: counter,
  connections: counter,
  retransmits: counter,
  rto: counter,
  rttUs: counter,
  resets: counter,
  failedConnections: counter,
  category: z.enum(FLOW_CATEGORIES as [FlowCategory, ...FlowCategory[]]).optional(),
});

export type FlowParse = { ok: true; record: FlowRecord } | { ok: false; error: string };

/** Validates one decoded JSON value as a flow record. */
export function parseFlowRecord(value: unknown): FlowParse {
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success) {
    const e = zodFieldErrors(parsed.error)[0];
    return { ok: false, error: `${formatPath(e.path) || 'record'}: ${e.message}` };
  }
  const r = parsed.data as FlowRecord;
  if (Date.parse(r.end) < Date.parse(r.start)) {
    return { ok: false, error: `end ${r.end} is before start ${r.start}` };
  }
  return { ok: true, record: r };
}

export interface FlowsFile {
  readonly records: FlowRecord[];
  /** "file:line: message" for every bad line; a caller decides whether to reject the file. */
  readonly errors: string[];
}

/** Parses a `.flows.jsonl` text: one record per line; blank lines are allowed. */
export function parseFlowsJsonl(text: string, file: string): FlowsFile {
  const records: FlowRecord[] = [];
  const errors: string[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    const trimmed = line.trim();
    if (trimmed === '') {
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (e) {
      errors.push(`${file}:${lineNo}: not JSON: ${(e as Error).message}`);
      continue;
    }
    const parsed = parseFlowRecord(value);
    if (parsed.ok) {
      records.push(parsed.record);
    } else {
      errors.push(`${file}:${lineNo}: ${parsed.error}`);
    }
  }
  return { records, errors };
}
