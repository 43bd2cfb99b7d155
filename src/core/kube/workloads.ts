/**
 * Which workload owns a pod: controller owner references walked up to the top (Pod → ReplicaSet →
 * Deployment, StatefulSet, DaemonSet, Job → CronJob), or the bare pod. Results are cached per pod.
 */
import type { Cluster } from './cluster';
import type { Pod, Workload } from './objects';

export interface WorkloadId {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export class WorkloadResolver {
  private readonly workloads = new Map<string, Workload>(); // "Kind ns/name"
  private readonly cache = new Map<Pod, WorkloadId>();

  constructor(cluster: Cluster) {
    for (const w of cluster.workloads) {
      this.workloads.set(`${w.kind} ${w.namespace}/${w.name}`, w);
    }
  }

  workloadOf(pod: Pod): WorkloadId {
    const cached = this.cache.get(pod);
    if (cached) {
      return cached;
    }
    let id: WorkloadId = { kind: 'Pod', namespace: pod.namespace, name: pod.name };
    let owners = pod.owners;
    for (let depth = 0; depth < 5; depth++) {
      const owner = owners.find((o) => o.controller) ?? owners[0];
      if (!owner) {
        break;
      }
      id = { kind: owner.kind, namespace: pod.namespace, name: owner.name };
      const object = this.workloads.get(`${owner.kind} ${pod.namespace}/${owner.name}`);
      if (object) {
        owners = object.owners;
        continue;
      }
      // Without the ReplicaSet object, its name is "<deployment>-<pod-template-hash>" (the controller's convention).
      const hash = pod.labels.get('pod-template-hash');
      if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
        id = { kind: 'Deployment', namespace: pod.namespace, name: owner.name.slice(0, -hash.length - 1) };
      }
      break;
    }
    this.cache.set(pod, id);
    return id;
  }
}
