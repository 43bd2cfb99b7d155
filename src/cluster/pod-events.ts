/**
 * The Kubernetes events of some pods, newest last, as `kubectl get events` shows them: what the map's
 * "Pod events" action opens for a node with retransmissions or failed connections.
 */
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { toClusterError } from './cluster-error';
import { identityOf } from './kubeconfig';

export interface PodEvent {
  readonly timeMs: number;
  readonly type: string;
  readonly reason: string;
  readonly pod: string;
  readonly message: string;
  readonly count: number;
}

export async function podEvents(kc: KubeConfig, namespace: string, pods: readonly string[]): Promise<PodEvent[]> {
  const wanted = new Set(pods);
  let list;
  try {
    list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.kind=Pod' });
  } catch (e) {
    throw toClusterError(e, `list the events of namespace ${namespace}`, identityOf(kc));
  }
  return list.items
    .filter((e) => wanted.has(e.involvedObject.name ?? ''))
    .map((e) => ({
      timeMs: eventTime(e),
      type: e.type ?? 'Normal',
      reason: e.reason ?? '',
      pod: e.involvedObject.name ?? '',
      message: (e.message ?? '').trim(),
      count: e.count ?? 1,
    }))
    .sort((a, b) => a.timeMs - b.timeMs);
}

function eventTime(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}
