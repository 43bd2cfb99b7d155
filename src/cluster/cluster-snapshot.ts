/**
 * A cluster snapshot for recordings: the kinds the live model watches, listed as the API returns them
 * (raw JSON, as `kubectl get -o yaml` shows them, not the client's typed models, which rename fields
 * such as NetworkPolicy `from`), written as one YAML `kind: List` that `--cluster` and the core's
 * manifest reader load back into the same cluster model. Server bookkeeping is removed, and so are
 * container environment variables: recordings get shared and committed, and env values are where
 * credentials end up; FlowLens reads neither.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { Document } from 'yaml';
import { toClusterError } from './cluster-error';
import { identityOf } from './kubeconfig';
import { RESOURCES } from './live-cluster';
import { requestJson } from './raw-api';

/** A Kubernetes object as the API serialises it. */
export interface ApiObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ApiMetadata;
  readonly [field: string]: unknown;
}

interface ApiMetadata {
  readonly name: string;
  readonly namespace?: string;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

const METADATA_NOISE = ['managedFields', 'resourceVersion', 'uid', 'selfLink', 'generation'];
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** Set on pods that were deleted while recording and kept so that their flows still resolve. */
const ENDED_ANNOTATION = 'flowlens.dev/ended';
const PAGE_SIZE = 500;

/** Lists every snapshot kind, cleaned; rejects with a ClusterError naming what could not be listed. */
export async function listClusterObjects(kc: KubeConfig): Promise<ApiObject[]> {
  const lists = await Promise.allSettled(RESOURCES.map((r) => listAll(kc, r.path)));
  // The first failure in RESOURCES order, not in time: the same cluster gives the same message.
  const failed = lists.findIndex((l) => l.status === 'rejected');
  if (failed >= 0) {
    throw toClusterError((lists[failed] as PromiseRejectedResult).reason, `list ${RESOURCES[failed].name}`, identityOf(kc));
  }
  return RESOURCES.flatMap((r, i) =>
    (lists[i] as PromiseFulfilledResult<Record<string, unknown>[]>).value.map((item) => clean({ apiVersion: r.apiVersion, kind: r.kind, ...item } as ApiObject)),
  );
}

/**
 * The snapshot YAML of the cluster as it is now. Given `before` (a listing taken when the recording
 * started), pods deleted since are kept, ended by the time of this listing, or earlier when a newer pod
 * took over their address: the live model keeps such pods too, so the recording's flows resolve alike.
 */
export async function snapshotCluster(kc: KubeConfig, before?: readonly ApiObject[]): Promise<string> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const objects = await listClusterObjects(kc);
  const items = before ? withEndedPods(before, objects, now) : objects;
  const doc = new Document({ apiVersion: 'v1', kind: 'List', items }, { version: '1.1', aliasDuplicateObjects: false });
  const context = identityOf(kc).context;
  doc.commentBefore = ` FlowLens cluster snapshot${context ? ` of context ${context}` : ''}, ${now}: ${RESOURCES.map((r) => r.name).join(', ')}.`;
  return doc.toString({ lineWidth: 0, indentSeq: false });
}

function withEndedPods(before: readonly ApiObject[], after: readonly ApiObject[], now: string): ApiObject[] {
  const id = (o: ApiObject) => `${o.metadata.namespace}/${o.metadata.name}`;
  const podsAfter = after.filter((o) => o.kind === 'Pod');
  const present = new Set(podsAfter.map(id));
  const ended = before
    .filter((o) => o.kind === 'Pod' && !present.has(id(o)))
    .map((pod): ApiObject => {
      if (pod.metadata.deletionTimestamp) {
        return pod;
      }
      const ips = podIps(pod);
      const successors = podsAfter
        .filter((p) => podIps(p).some((ip) => ips.includes(ip)))
        .map((p) => p.metadata.creationTimestamp)
        .filter((t): t is string => t !== undefined && t >= (pod.metadata.creationTimestamp ?? ''));
      const end = [...successors, now].sort()[0];
      const annotations = { ...pod.metadata.annotations, [ENDED_ANNOTATION]: `deleted while recording; deletionTimestamp is the latest time it can have ended` };
      return { ...pod, metadata: { ...pod.metadata, deletionTimestamp: end, annotations } };
    });
  // After the other pods, so that kinds stay together.
  const lastPod = after.findLastIndex((o) => o.kind === 'Pod');
  return [...after.slice(0, lastPod + 1), ...ended, ...after.slice(lastPod + 1)];
}

function podIps(pod: ApiObject): string[] {
  const status = pod.status as { podIP?: string; podIPs?: { ip?: string }[] } | undefined;
  return [status?.podIP, ...(status?.podIPs ?? []).map((p) => p.ip)].filter((ip): ip is string => !!ip);
}

function clean(obj: ApiObject): ApiObject {
  const metadata: Record<string, unknown> = { ...obj.metadata };
  for (const field of METADATA_NOISE) {
    delete metadata[field];
  }
  const annotations = { ...obj.metadata.annotations };
  delete annotations[LAST_APPLIED];
  if (Object.keys(annotations).length > 0) {
    metadata.annotations = annotations;
  } else {
    delete metadata.annotations;
  }
  const out: ApiObject = { ...obj, metadata: metadata as unknown as ApiMetadata };
  const spec = obj.spec as Record<string, unknown> | undefined;
  switch (obj.kind) {
    case 'Pod':
      return { ...out, spec: withoutEnv(spec) };
    case 'CronJob': {
      const jobTemplate = spec?.jobTemplate as { spec?: { template?: Record<string, unknown> } } | undefined;
      const template = jobTemplate?.spec?.template;
      return template
        ? { ...out, spec: { ...spec, jobTemplate: { ...jobTemplate, spec: { ...jobTemplate.spec, template: { ...template, spec: withoutEnv(template.spec as Record<string, unknown>) } } } } }
        : out;
    }
    default: {
      // Deployments, ReplicaSets, StatefulSets, DaemonSets and Jobs carry a pod template.
      const template = spec?.template as Record<string, unknown> | undefined;
      return template ? { ...out, spec: { ...spec, template: { ...template, spec: withoutEnv(template.spec as Record<string, unknown>) } } } : out;
    }
  }
}

function withoutEnv(podSpec: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!podSpec) {
    return podSpec;
  }
  const out = { ...podSpec };
  for (const field of ['containers', 'initContainers', 'ephemeralContainers']) {
    if (Array.isArray(out[field])) {
      out[field] = (out[field] as Record<string, unknown>[]).map((container) => {
        const copy = { ...container };
        delete copy.env;
        return copy;
      });
    }
  }
  return out;
}

/** Every item of a list, page by page. */
async function listAll(kc: KubeConfig, path: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let next: string | undefined;
  do {
    const page = (await requestJson(kc, { method: 'GET', path, query: { limit: String(PAGE_SIZE), ...(next ? { continue: next } : {}) } })) as {
      items?: Record<string, unknown>[];
      metadata?: { continue?: string };
    };
    items.push(...(page.items ?? []));
    next = page.metadata?.continue || undefined;
  } while (next);
  return items;
}

