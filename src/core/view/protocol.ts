/**
 * The message protocol between the extension host and the FlowLens webview (service map and flow table),
 * in both directions, defined once: the zod schemas are the source of truth and the TypeScript types are
 * inferred from them, so a message that type-checks on one side validates on the other.
 *
 * Both sides validate what they receive (`parseHostMessage` in the webview, `parseWebviewMessage` in the
 * host): a webview is a separate, less trusted context, and a host/webview version skew must fail loudly
 * instead of rendering garbage. Extra fields are stripped; a malformed message is an error value, never
 * an exception.
 *
 * Host -> webview: `snapshot` (everything for the chosen time window), `delta` (what changed since the
 * snapshot or delta with `baseSeq`), `status`, `reveal`.
 * Webview -> host: `ready`, `setWindow`, `resync`, `generatePolicy`, `showFlows`, `openPodEvents`, `saveCsv`, `error`.
 *
 * NOTE: browser-safe module: no DOM, no vscode, no Node APIs. In the webview call `z.config({ jitless: true })`
 * before parsing so that zod never probes `new Function` (the webview's CSP forbids eval).
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

export const TIME_WINDOWS = ['5m', '15m', '30m', '1h'] as const;
export type TimeWindow = (typeof TIME_WINDOWS)[number];
export const TIME_WINDOW_MS: Readonly<Record<TimeWindow, number>> = { '5m': 300_000, '15m': 900_000, '30m': 1_800_000, '1h': 3_600_000 };

const count = z.number().int().min(0);
const str = z.string().max(4096);

export const countersSchema = z.object({
  bytesToServer: count,
  bytesToClient: count,
  packetsToServer: count,
  packetsToClient: count,
  connections: count,
  retransmits: count,
  rto: count,
  resets: count,
  failedConnections: count,
  rttUs: count,
});

export const peerKindSchema = z.enum(['pod', 'node', 'cloud-service', 'external']);
export const categorySchema = z.enum(['intra-node', 'intra-zone', 'inter-zone', 'cloud-service', 'external']);
export const protocolSchema = z.enum(['TCP', 'UDP']);

export const workloadIdSchema = z.object({ kind: str, namespace: str, name: str });

/**
 * One end of an edge at pod or workload level, with what is known about it. The id is the one
 * `aggregate()` gives (`pod:ns/name`, `wl:Kind/ns/name`, `svc:ns/name`, `node:name`, `cloud:S3`, `ip:1.2.3.4`).
 */
export const endpointSchema = z.object({
  id: str,
  kind: peerKindSchema,
  label: str,
  namespace: str.optional(),
  workload: workloadIdSchema.optional(),
  pod: str.optional(),
  /** Pod names (for a workload end: the pods seen in the window). */
  pods: z.array(str),
  ips: z.array(str),
  nodes: z.array(str),
  zones: z.array(str),
  service: z.object({ namespace: str, name: str }).optional(),
  cloudService: str.optional(),
});

/** An aggregated edge: `client` and `server` are endpoint ids; the totals hold both directions. */
export const edgeSchema = z.object({
  key: str,
  client: str,
  server: str,
  protocol: protocolSchema,
  port: z.number().int().min(0).max(65535),
  category: categorySchema,
  totals: countersSchema,
  firstSeenMs: z.number(),
  lastSeenMs: z.number(),
});

export const timeWindowSchema = z.enum(TIME_WINDOWS);

/**
 * Everything the webview shows for one time window. `podEdges` (pod level) are also the flow table's rows;
 * `workloadEdges` are the workload view's edges. Scope (namespaces), filters and the map's node set are
 * derived in the webview (see map-graph.ts), so switching view or scope needs no round trip.
 */
export const snapshotSchema = z.object({
  seq: z.number().int().min(0),
  generatedAtMs: z.number(),
  window: timeWindowSchema,
  fromMs: z.number(),
  toMs: z.number(),
  /** Namespaces known to the cluster (for the scope picker), even those without traffic. */
  namespaces: z.array(str),
  endpoints: z.array(endpointSchema),
  podEdges: z.array(edgeSchema),
  workloadEdges: z.array(edgeSchema),
});

/** The difference between two snapshots of the same window: upserts by id/key, removals by id/key. */
export const deltaSchema = z.object({
  seq: z.number().int().min(0),
  baseSeq: z.number().int().min(0),
  generatedAtMs: z.number(),
  fromMs: z.number(),
  toMs: z.number(),
  namespaces: z.array(str).optional(),
  endpoints: z.array(endpointSchema),
  removedEndpoints: z.array(str),
  podEdges: z.array(edgeSchema),
  removedPodEdges: z.array(str),
  workloadEdges: z.array(edgeSchema),
  removedWorkloadEdges: z.array(str),
});

export const statusSchema = z.object({
  state: z.enum(['connecting', 'live', 'paused', 'no-data', 'error']),
  message: str.optional(),
});

export const hostMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('snapshot'), snapshot: snapshotSchema }),
  z.object({ type: z.literal('delta'), delta: deltaSchema }),
  z.object({ type: z.literal('status'), status: statusSchema }),
  /**
   * Focus the map on a namespace or an endpoint (e.g. from the sidebar tree); with `query`, the flow
   * table shows the rows that query matches (the table's filter language, see query.ts).
   */
  z.object({ type: z.literal('reveal'), namespace: str.optional(), endpointId: str.optional(), query: str.optional() }),
]);

/** What the webview says about an endpoint when it asks the host for something. */
export const endpointRefSchema = z.object({
  id: str,
  kind: peerKindSchema,
  namespace: str.optional(),
  workload: workloadIdSchema.optional(),
  pod: str.optional(),
  ips: z.array(str),
  cloudService: str.optional(),
});

export const edgeRefSchema = z.object({
  key: str,
  client: endpointRefSchema,
  server: endpointRefSchema,
  protocol: protocolSchema,
  port: z.number().int().min(0).max(65535),
});

export const viewLevelSchema = z.enum(['workload', 'pod']);

export const webviewMessageSchema = z.discriminatedUnion('type', [
  /** Sent once the webview has restored its state; the host answers with a snapshot for `window`. */
  z.object({ type: z.literal('ready'), protocol: z.literal(PROTOCOL_VERSION), window: timeWindowSchema }),
  z.object({ type: z.literal('setWindow'), window: timeWindowSchema }),
  /** A delta did not apply (its baseSeq is not the snapshot the webview holds): send a full snapshot. */
  z.object({ type: z.literal('resync') }),
  /** The user's multi-selection on the map: edges (each port an edge) and nodes; `level` says which view. */
  z.object({
    type: z.literal('generatePolicy'),
    level: viewLevelSchema,
    window: timeWindowSchema,
    edges: z.array(edgeRefSchema),
    nodes: z.array(endpointRefSchema),
  }),
  z.object({ type: z.literal('showFlows'), level: viewLevelSchema, window: timeWindowSchema, edges: z.array(edgeRefSchema) }),
  z.object({ type: z.literal('openPodEvents'), namespace: str, pods: z.array(str), workload: workloadIdSchema.optional() }),
  /** The flow table's visible rows as CSV; the host asks where to save it. */
  z.object({ type: z.literal('saveCsv'), fileName: str, csv: z.string(), rows: count }),
  z.object({ type: z.literal('error'), message: str }),
]);

export type Counters = z.infer<typeof countersSchema>;
export type WorkloadIdView = z.infer<typeof workloadIdSchema>;
export type EndpointView = z.infer<typeof endpointSchema>;
export type EdgeView = z.infer<typeof edgeSchema>;
export type ViewSnapshot = z.infer<typeof snapshotSchema>;
export type ViewDelta = z.infer<typeof deltaSchema>;
export type ViewStatus = z.infer<typeof statusSchema>;
export type HostMessage = z.infer<typeof hostMessageSchema>;
export type EndpointRef = z.infer<typeof endpointRefSchema>;
export type EdgeRef = z.infer<typeof edgeRefSchema>;
export type ViewLevel = z.infer<typeof viewLevelSchema>;
export type WebviewMessage = z.infer<typeof webviewMessageSchema>;

export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): Parsed<T> {
  const r = schema.safeParse(value);
  if (r.success) {
    return { ok: true, message: r.data };
  }
  const issue = r.error.issues[0];
  const type = typeof value === 'object' && value !== null && 'type' in value ? String((value as { type: unknown }).type).slice(0, 40) : '?';
  return { ok: false, error: `invalid ${what} message (type ${type}): ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown error'}` };
}

/** Validates a message from the host (used by the webview). */
export function parseHostMessage(value: unknown): Parsed<HostMessage> {
  return parseWith(hostMessageSchema, value, 'host');
}

/** Validates a message from the webview (used by the extension host). */
export function parseWebviewMessage(value: unknown): Parsed<WebviewMessage> {
  return parseWith(webviewMessageSchema, value, 'webview');
}

/** The reference the webview sends for an endpoint. */
export function endpointRef(e: EndpointView): EndpointRef {
  const ref: EndpointRef = { id: e.id, kind: e.kind, ips: e.ips };
  if (e.namespace !== undefined) {
    ref.namespace = e.namespace;
  }
  if (e.workload) {
    ref.workload = e.workload;
  }
  if (e.pod !== undefined) {
    ref.pod = e.pod;
  }
  if (e.cloudService !== undefined) {
    ref.cloudService = e.cloudService;
  }
  return ref;
}
