/**
 * The live cluster model: informers (list + watch) for namespaces, pods, services, endpointslices,
 * nodes, networkpolicies and workload owners feed the core's decoders, and `snapshot()` gives the core's
 * Cluster. Deleted pods are kept for a while with the time they ended, so flows of the last hour still
 * resolve to the pod that had the address then. After a watch error an informer restarts with backoff
 * (a relist resyncs it); errors are reported once per change of state, classified.
 */
import { KubeConfig, makeInformer, type Informer, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { buildCluster, type Cluster } from '../core/kube/cluster';
import { decoderFor, type ClusterObject } from '../core/kube/decode';
import type { Pod } from '../core/kube/objects';
import { toClusterError, type ClusterError } from './cluster-error';
import { identityOf } from './kubeconfig';
import { requestJson } from './raw-api';

interface ResourceSpec {
  readonly name: string;
  /** The collection across all namespaces: the core group under /api, the others under /apis. */
  readonly path: string;
  readonly apiVersion: string;
  readonly kind: string;
}

function resource(name: string, apiVersion: string, kind: string): ResourceSpec {
  return { name, apiVersion, kind, path: `${apiVersion.includes('/') ? '/apis' : '/api'}/${apiVersion}/${name}` };
}

/** What the live model watches; cluster snapshots list the same. */
export const RESOURCES: readonly ResourceSpec[] = [
  resource('namespaces', 'v1', 'Namespace'),
  resource('pods', 'v1', 'Pod'),
  resource('nodes', 'v1', 'Node'),
  resource('services', 'v1', 'Service'),
  resource('endpointslices', 'discovery.k8s.io/v1', 'EndpointSlice'),
  resource('networkpolicies', 'networking.k8s.io/v1', 'NetworkPolicy'),
  resource('deployments', 'apps/v1', 'Deployment'),
  resource('replicasets', 'apps/v1', 'ReplicaSet'),
  resource('statefulsets', 'apps/v1', 'StatefulSet'),
  resource('daemonsets', 'apps/v1', 'DaemonSet'),
  resource('jobs', 'batch/v1', 'Job'),
  resource('cronjobs', 'batch/v1', 'CronJob'),
];

export type ResourceState = { readonly state: 'syncing' } | { readonly state: 'synced' } | { readonly state: 'error'; readonly error: ClusterError };

export interface LiveClusterOptions {
  /** Called (coalesced) when the model changed. */
  readonly onChange?: () => void;
  /** Called when a resource's state changes (synced, error, recovered). */
  readonly onState?: (resource: string, state: ResourceState) => void;
  /** How long deleted pods are kept for resolving past flows. */
  readonly tombstoneMs?: number;
  readonly retryMs?: number;
  readonly now?: () => number;
}

interface Watched {
  readonly spec: ResourceSpec;
  readonly informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  state: ResourceState;
  retry?: ReturnType<typeof setTimeout>;
  backoffMs: number;
  /** An error was reported since the last sync started. */
  failed: boolean;
}

export class LiveCluster {
  private readonly watched: Watched[] = [];
  private readonly tombstones = new Map<string, Pod>();
  /** Decoded objects by "kind uid", reused while their resourceVersion is unchanged. */
  private readonly decoded = new Map<string, { resourceVersion?: string; object?: ClusterObject }>();
  private cached?: Cluster;
  private stopped = false;
  private changeTimer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly kc: KubeConfig,
    private readonly options: LiveClusterOptions = {},
  ) {}

  /** Starts every informer; resolves when each has listed once or failed (see states()). */
  async start(): Promise<void> {
    await Promise.all(RESOURCES.map((spec) => this.watch(spec)));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.changeTimer);
    for (const w of this.watched) {
      clearTimeout(w.retry);
      void w.informer.stop();
    }
  }

  states(): Record<string, ResourceState> {
    return Object.fromEntries(this.watched.map((w) => [w.spec.name, w.state]));
  }

  /** The cluster as the core models it; rebuilt only after a change. */
  snapshot(): Cluster {
    if (this.cached) {
      return this.cached;
    }
    const objects: ClusterObject[] = [];
    const seen = new Set<string>();
    for (const w of this.watched) {
      const decode = decoderFor(w.spec.apiVersion, w.spec.kind)!;
      for (const obj of w.informer.list()) {
        const key = `${w.spec.kind} ${obj.metadata?.uid ?? `${obj.metadata?.namespace}/${obj.metadata?.name}`}`;
        seen.add(key);
        let entry = this.decoded.get(key);
        if (!entry || entry.resourceVersion !== obj.metadata?.resourceVersion) {
          const raw = { ...obj, apiVersion: w.spec.apiVersion, kind: w.spec.kind };
          const decoded = decode(raw);
          // An object the API server accepted but FlowLens cannot model is left out, not fatal.
          entry = { resourceVersion: obj.metadata?.resourceVersion, object: decoded.ok ? decoded.value : undefined };
          this.decoded.set(key, entry);
        }
        if (entry.object) {
          objects.push(entry.object);
        }
      }
    }
    for (const key of this.decoded.keys()) {
      if (!seen.has(key)) {
        this.decoded.delete(key);
      }
    }
    const live = new Set(objects.filter((o) => o.kind === 'Pod').map((o) => `${(o.value as Pod).namespace}/${o.value.name}`));
    const cutoff = this.now() - (this.options.tombstoneMs ?? 3_600_000);
    for (const [id, pod] of this.tombstones) {
      if ((pod.lifetime.toMs ?? 0) < cutoff || live.has(id)) {
        this.tombstones.delete(id);
      } else {
        objects.push({ kind: 'Pod', value: pod });
      }
    }
    this.cached = buildCluster(objects).cluster;
    return this.cached;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private async watch(spec: ResourceSpec): Promise<void> {
    // Listed as raw JSON, as the watch delivers it: the typed client renames fields on the way in (a
    // NetworkPolicy rule's `from` becomes `_from`), and the decoders read the API's own objects.
    const list = async () => (await requestJson(this.kc, { method: 'GET', path: spec.path })) as { items: KubernetesObject[] };
    const informer = makeInformer(this.kc, spec.path, list);
    const w: Watched = { spec, informer, state: { state: 'syncing' }, backoffMs: this.options.retryMs ?? 1000, failed: false };
    this.watched.push(w);
    const changed = () => this.changed();
    informer.on('add', changed);
    informer.on('update', changed);
    informer.on('delete', (obj) => {
      if (spec.kind === 'Pod') {
        this.remember(obj);
      }
      changed();
    });
    informer.on('error', (err) => {
      w.failed = true;
      this.setState(w, { state: 'error', error: toClusterError(err, `watch ${spec.name}`, identityOf(this.kc)) });
      this.restart(w);
    });
    await this.sync(w);
  }

  /**
   * Lists and starts watching. informer.start() resolves once the list is done, or after reporting
   * its failure as an "error" event (it fires "connect" before listing, so that event proves nothing).
   */
  private async sync(w: Watched): Promise<void> {
    w.failed = false;
    try {
      await w.informer.start();
    } catch (e) {
      w.failed = true;
      this.setState(w, { state: 'error', error: toClusterError(e, `list ${w.spec.name}`, identityOf(this.kc)) });
      this.restart(w);
    }
    if (!w.failed) {
      w.backoffMs = this.options.retryMs ?? 1000;
      this.setState(w, { state: 'synced' });
      this.changed();
    }
  }

  private restart(w: Watched): void {
    if (this.stopped) {
      return;
    }
    clearTimeout(w.retry);
    w.retry = setTimeout(() => void this.sync(w), w.backoffMs);
    w.backoffMs = Math.min(w.backoffMs * 2, 30_000);
  }

  private setState(w: Watched, state: ResourceState): void {
    const before = w.state;
    w.state = state;
    const same = before.state === state.state && (state.state !== 'error' || (before.state === 'error' && before.error.message === state.error.message));
    if (!same) {
      this.options.onState?.(w.spec.name, state);
    }
  }

  /** Keeps a deleted pod with the time it ended, for resolving its address in past flows. */
  private remember(obj: KubernetesObject): void {
    const raw = { ...obj, apiVersion: 'v1', kind: 'Pod' };
    const decoded = decoderFor('v1', 'Pod')!(raw);
    if (decoded.ok && decoded.value.kind === 'Pod') {
      const pod = decoded.value.value;
      this.tombstones.set(`${pod.namespace}/${pod.name}`, { ...pod, lifetime: { fromMs: pod.lifetime.fromMs, toMs: pod.lifetime.toMs ?? this.now() } });
    }
  }

  private changed(): void {
    this.cached = undefined;
    if (this.changeTimer || !this.options.onChange) {
      return;
    }
    // Coalesce: a rollout changes many objects at once.
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      this.options.onChange?.();
    }, 100);
  }
}
