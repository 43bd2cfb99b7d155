/**
 * A recording opened offline: a `.flows.jsonl` file and the cluster snapshot taken with it
 * (`x.flows.jsonl` beside `x.cluster.yaml`), read into the cluster model and the flow records the live
 * views work on, with "now" at the end of the recording. Every bad line is an error naming its file and
 * line; whatever was read but cannot be fully used (skipped kinds, assumed namespaces, nodes without
 * records, records the snapshot knows nothing about) is a note, so nothing is dropped unsaid.
 */
import { buildCluster, type Cluster } from '../kube/cluster';
import { formatManifestMessage, parseManifests } from '../kube/manifest';
import { parseFlowsJsonl, type FlowRecord } from './flow-record';

export interface RecordingFile {
  /** The name errors and notes refer to. */
  readonly file: string;
  readonly text: string;
}

export interface Recording {
  readonly cluster: Cluster;
  /** In file order. */
  readonly records: readonly FlowRecord[];
  /** Start of the earliest record's window. */
  readonly fromMs: number;
  /** End of the latest record's window: "now" for views over the recording. */
  readonly toMs: number;
  /** The nodes that reported records, sorted. */
  readonly nodes: readonly string[];
  readonly notes: readonly string[];
}

export type RecordingLoad = { readonly ok: true; readonly recording: Recording } | { readonly ok: false; readonly errors: readonly string[]; readonly notes: readonly string[] };

/** Beyond this, errors are counted rather than listed. */
const MAX_LISTED_ERRORS = 20;
const RECORDING_SUFFIX = '.flows.jsonl';
const SNAPSHOT_SUFFIX = '.cluster.yaml';

export function loadRecording(flows: RecordingFile, snapshot: RecordingFile): RecordingLoad {
  const errors: string[] = [];
  const notes: string[] = [];
  const manifests = parseManifests(snapshot.text, snapshot.file);
  errors.push(...manifests.errors.map(formatManifestMessage));
  notes.push(...manifests.notes.map(formatManifestMessage));
  const built = buildCluster(manifests.objects);
  errors.push(...built.errors.map((e) => `${snapshot.file}: ${e}`));
  notes.push(...built.notes.map((n) => `${snapshot.file}: ${n}`));
  if (manifests.errors.length === 0 && manifests.objects.length === 0) {
    errors.push(`${snapshot.file}: no Kubernetes objects FlowLens reads (namespaces, nodes, pods, services, ...)`);
  }
  const parsed = parseFlowsJsonl(flows.text, flows.file);
  errors.push(...parsed.errors);
  if (parsed.errors.length === 0 && parsed.records.length === 0) {
    errors.push(`${flows.file}: no flow records`);
  }
  if (errors.length > 0) {
    const listed = errors.slice(0, MAX_LISTED_ERRORS);
    if (errors.length > listed.length) {
      listed.push(`... and ${errors.length - listed.length} more errors`);
    }
    return { ok: false, errors: listed, notes };
  }
  const { records } = parsed;
  const cluster = built.cluster;
  let fromMs = Infinity;
  let toMs = -Infinity;
  const nodes = new Set<string>();
  for (const r of records) {
    fromMs = Math.min(fromMs, Date.parse(r.start));
    toMs = Math.max(toMs, Date.parse(r.end));
    nodes.add(r.node);
  }
  notes.push(...coverageNotes(cluster, records, nodes, flows.file, snapshot.file));
  return { ok: true, recording: { cluster, records, fromMs, toMs, nodes: [...nodes].sort(), notes } };
}

/** Where the recording and its snapshot do not cover each other. */
function coverageNotes(cluster: Cluster, records: readonly FlowRecord[], nodes: ReadonlySet<string>, flowsFile: string, snapshotFile: string): string[] {
  const notes: string[] = [];
  const unknownNodes = [...nodes].filter((n) => !cluster.nodes.has(n)).sort();
  if (unknownNodes.length > 0) {
    notes.push(`${flowsFile}: records from node(s) ${unknownNodes.join(', ')}, which ${snapshotFile} does not have`);
  }
  const silent = [...cluster.nodes.keys()].filter((n) => !nodes.has(n)).sort();
  if (silent.length > 0) {
    notes.push(`${flowsFile}: no records from node(s) ${silent.join(', ')} (was the agent running there?)`);
  }
  // A record from inside the cluster has at least one end that is a pod, node or Service address; when
  // neither end is known, the snapshot is probably not this recording's.
  const known = new Set<string>();
  cluster.pods.forEach((p) => p.ips.forEach((ip) => known.add(ip.text)));
  cluster.nodes.forEach((n) => n.addresses.forEach((a) => known.add(a.ip.text)));
  cluster.services.forEach((s) => s.clusterIPs.forEach((ip) => known.add(ip.text)));
  const strangers = records.filter((r) => !known.has(r.client.ip) && !known.has(r.server.ip)).length;
  if (strangers > 0) {
    notes.push(`${strangers} of ${records.length} records have neither address in ${snapshotFile} (no pod, node or Service has it): is it the snapshot taken with ${flowsFile}?`);
  }
  return notes;
}

/** The snapshot file that goes with a recording: `x.flows.jsonl` (or `x.jsonl`) -> `x.cluster.yaml`. */
export function snapshotFileFor(recordingFile: string): string {
  const base = recordingFile.endsWith(RECORDING_SUFFIX)
    ? recordingFile.slice(0, -RECORDING_SUFFIX.length)
    : recordingFile.endsWith('.jsonl')
      ? recordingFile.slice(0, -'.jsonl'.length)
      : recordingFile;
  return `${base}${SNAPSHOT_SUFFIX}`;
}

/** The recording that goes with a snapshot file (`x.cluster.yaml` -> `x.flows.jsonl`), if it is named like one. */
export function recordingFileFor(snapshotFile: string): string | undefined {
  return snapshotFile.endsWith(SNAPSHOT_SUFFIX) ? `${snapshotFile.slice(0, -SNAPSHOT_SUFFIX.length)}${RECORDING_SUFFIX}` : undefined;
}
