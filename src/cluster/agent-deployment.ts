/**
 * Deploys, removes and inspects the FlowLens agent: the objects of agent-manifests/ (the files its
 * kustomization lists, in order, with the kustomization's namespace and the chosen image), applied with
 * server-side apply under the field manager "flowlens", then a per-node rollout watch that can be
 * cancelled and times out with a clear account of every node. Removal deletes exactly those objects.
 */
import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject, type V1DaemonSet, type V1Pod } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { ClusterError, toClusterError } from './cluster-error';
import { identityOf } from './kubeconfig';

export const FIELD_MANAGER = 'flowlens';
export const AGENT_NAMESPACE = 'flowlens-system';
export const AGENT_NAME = 'flowlens-agent';
const AGENT_SELECTOR = 'app.kubernetes.io/name=flowlens-agent';
const OWNED_LABEL = ['app.kubernetes.io/part-of', 'flowlens'] as const;

/** The agent's objects as the manifests define them, with the image set when one is given. */
export function agentObjects(manifestsDir: string, image?: string): KubernetesObject[] {
  let kustomization: { namespace?: string; resources?: string[] };
  try {
    kustomization = parse(readFileSync(join(manifestsDir, 'kustomization.yaml'), 'utf8')) as typeof kustomization;
  } catch (e) {
    throw new ClusterError(`cannot read the agent manifests in ${manifestsDir}: ${(e as Error).message}`, 'config');
  }
  const objects: KubernetesObject[] = [];
  for (const file of kustomization.resources ?? []) {
    for (const doc of parseAllDocuments(readFileSync(join(manifestsDir, file), 'utf8'))) {
      const obj = doc.toJS() as KubernetesObject | null;
      if (!obj) {
        continue;
      }
      if (obj.kind !== 'Namespace' && obj.kind !== 'ClusterRole' && obj.kind !== 'ClusterRoleBinding' && kustomization.namespace) {
        obj.metadata = { ...obj.metadata, namespace: kustomization.namespace };
      }
      if (obj.kind === 'DaemonSet' && image) {
        for (const c of (obj as V1DaemonSet).spec?.template.spec?.containers ?? []) {
          c.image = image;
        }
      }
      objects.push(obj);
    }
  }
  return objects;
}

export interface NodeRollout {
  readonly node: string;
  readonly pod?: string;
  readonly phase?: string;
  readonly ready: boolean;
  readonly image?: string;
  readonly restarts: number;
}

export interface RolloutProgress {
  readonly desired: number;
  readonly updated: number;
  readonly ready: number;
  readonly nodes: readonly NodeRollout[];
}

export interface DeployOptions {
  readonly manifestsDir: string;
  readonly image: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: RolloutProgress) => void;
  readonly pollMs?: number;
}

/** Applies the agent and waits until it runs on every node; idempotent. */
export async function deployAgent(kc: KubeConfig, options: DeployOptions): Promise<RolloutProgress> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  // Right after a removal the namespace may still be terminating; nothing can be created in it until it is gone.
  while (await namespaceTerminating(kc)) {
    throwIfAborted(options.signal, 'nothing was applied');
    if (Date.now() > deadline) {
      throw new ClusterError(`namespace ${AGENT_NAMESPACE} is still being deleted`, 'timeout', 'Deploy again when it is gone');
    }
    await sleep(options.pollMs ?? 500, options.signal);
  }
  for (const obj of agentObjects(options.manifestsDir, options.image)) {
    throwIfAborted(options.signal, 'the objects applied so far stay; deploy again or remove the agent');
    try {
      await api.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (e) {
      throw toClusterError(e, `apply ${obj.kind} ${obj.metadata?.name}`, identityOf(kc));
    }
  }
  for (;;) {
    const progress = await rolloutProgress(kc);
    options.onProgress?.(progress);
    // The DaemonSet's status can lag its pods: done means the status agrees AND every node's agent pod
    // is ready with the requested image.
    const podsDone = progress.nodes.length > 0 && progress.nodes.every((n) => n.ready && n.image === options.image);
    if (progress.desired > 0 && progress.updated === progress.desired && progress.ready === progress.desired && podsDone) {
      return progress;
    }
    throwIfAborted(options.signal, 'the agent objects are applied and the rollout goes on in the cluster');
    if (Date.now() > deadline) {
      const nodes = progress.nodes.map(
        (n) => `${n.node}: ${n.pod ? `${n.pod} ${n.phase ?? 'Pending'}${n.ready ? ', ready' : ', not ready'}${n.image === options.image ? '' : `, image ${n.image}`}` : 'no agent pod'}`,
      );
      throw new ClusterError(
        `the agent did not become ready on every node within ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s (${progress.ready}/${progress.desired} ready): ${nodes.join('; ')}`,
        'timeout',
        'FlowLens: Agent Status shows each node; `kubectl -n flowlens-system describe pods` shows why a pod waits',
      );
    }
    await sleep(options.pollMs ?? 500, options.signal);
  }
}

/** Per-node state of the agent DaemonSet. */
export async function rolloutProgress(kc: KubeConfig): Promise<RolloutProgress> {
  const who = identityOf(kc);
  let ds: V1DaemonSet | undefined;
  try {
    ds = await kc.makeApiClient(AppsV1Api).readNamespacedDaemonSet({ name: AGENT_NAME, namespace: AGENT_NAMESPACE });
  } catch (e) {
    const err = toClusterError(e, 'read the agent DaemonSet', who);
    if (err.kind !== 'not-found') {
      throw err;
    }
  }
  const status = await agentStatus(kc);
  const generationSeen = ds ? (ds.status?.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 0) : false;
  return {
    desired: ds?.status?.desiredNumberScheduled ?? 0,
    updated: generationSeen ? (ds?.status?.updatedNumberScheduled ?? 0) : 0,
    ready: generationSeen ? (ds?.status?.numberReady ?? 0) : 0,
    nodes: status,
  };
}

/** Every node, with its agent pod's state ("no agent pod" when it has none). */
export async function agentStatus(kc: KubeConfig): Promise<NodeRollout[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const who = identityOf(kc);
  const [nodes, pods] = await Promise.all([
    core.listNode().catch((e: unknown) => Promise.reject(toClusterError(e, 'list nodes', who))),
    core.listNamespacedPod({ namespace: AGENT_NAMESPACE, labelSelector: AGENT_SELECTOR }).catch((e: unknown) => Promise.reject(toClusterError(e, 'list agent pods', who))),
  ]);
  const byNode = new Map<string, V1Pod>();
  for (const p of pods.items) {
    // During a rollout a node may briefly have two agent pods: the one not being deleted counts.
    if (p.spec?.nodeName && (!byNode.has(p.spec.nodeName) || !p.metadata?.deletionTimestamp)) {
      byNode.set(p.spec.nodeName, p);
    }
  }
  return nodes.items
    .map((n) => n.metadata!.name!)
    .sort()
    .map((node) => {
      const p = byNode.get(node);
      return {
        node,
        pod: p?.metadata?.name,
        phase: p?.status?.phase,
        ready: p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true && !p?.metadata?.deletionTimestamp,
        image: p?.spec?.containers[0]?.image,
        restarts: (p?.status?.containerStatuses ?? []).reduce((sum, c) => sum + c.restartCount, 0),
      };
    });
}

/**
 * Deletes exactly what deployAgent applies, in reverse order. The namespace goes only if it is the one
 * the manifests create (labelled part-of flowlens); objects already gone are fine.
 */
export async function removeAgent(kc: KubeConfig, manifestsDir: string): Promise<string[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const removed: string[] = [];
  for (const obj of agentObjects(manifestsDir).reverse()) {
    const name = `${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`;
    try {
      if (obj.kind === 'Namespace') {
        const live = await api.read({ apiVersion: obj.apiVersion!, kind: obj.kind, metadata: { name: obj.metadata!.name! } });
        // Not ours, or already on its way out.
        if (live.metadata?.labels?.[OWNED_LABEL[0]] !== OWNED_LABEL[1] || live.metadata?.deletionTimestamp) {
          continue;
        }
      }
      await api.delete(obj);
      removed.push(name);
    } catch (e) {
      const err = toClusterError(e, `delete ${name}`, identityOf(kc));
      if (err.kind !== 'not-found') {
        throw err;
      }
    }
  }
  return removed;
}

async function namespaceTerminating(kc: KubeConfig): Promise<boolean> {
  try {
    const ns = await kc.makeApiClient(CoreV1Api).readNamespace({ name: AGENT_NAMESPACE });
    return ns.metadata?.deletionTimestamp !== undefined;
  } catch (e) {
    const err = toClusterError(e, `read namespace ${AGENT_NAMESPACE}`, identityOf(kc));
    if (err.kind === 'not-found') {
      return false;
    }
    throw err;
  }
}

function throwIfAborted(signal: AbortSignal | undefined, consequence: string): void {
  if (signal?.aborted) {
    throw new ClusterError(`cancelled; ${consequence}`, 'cancelled');
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
