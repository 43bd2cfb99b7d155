/**
 * Resolves flow records against a cluster snapshot: each address to a pod (the pod that held it during
 * the flow's window, since IPs are reused), its workload (walking owner references), node and zone; a
 * ClusterIP to its Service, the Service's backends and the targetPort; node addresses to nodes (and, on
 * the server side, to the host-network pod that declares the port); other addresses to cloud services
 * (ip-ranges.json) or the outside world. Then classifies the flow by where its ends are.
 *
 * Built once per snapshot (indexes by IP and by Service), then cheap per record.
 */
import type { Cluster } from '../kube/cluster';
import type { EndpointSlice, Pod, Service } from '../kube/objects';
import { selectorMatches } from '../kube/selector';
import { WorkloadResolver, type WorkloadId } from '../kube/workloads';
import type { CloudRanges } from './cloud-ranges';
import type { EnrichedFlow, FlowPeer } from './enriched-flow';
import type { FlowCategory, FlowProtocol, FlowRecord } from './flow-record';

export interface EnrichOptions {
  readonly cloudRanges?: CloudRanges;
}

interface ServiceTarget {
  readonly service: Service;
  readonly servicePort: number;
  /** Ready backends with the port each serves the Service port on. */
  readonly backends: readonly { readonly pod: Pod; readonly port: number }[];
  /** The server end and port of every flow to this target: computed once. */
  peer?: FlowPeer;
  port?: number;
}

const ZONE_LABELS = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'];

export class FlowEnricher {
  private readonly podsByIp = new Map<string, Pod[]>();
  private readonly podByName = new Map<string, Pod>();
  private readonly nodeByIp = new Map<string, string>();
  private readonly zoneOfNode = new Map<string, string>();
  private readonly hostPodsByNode = new Map<string, Pod[]>();
  private readonly services = new Map<string, ServiceTarget>(); // "ip|port|protocol"
  private readonly workloads: WorkloadResolver;
  // Peers are immutable and depend only on the pod or the address: built once, shared by records.
  private readonly podPeers = new Map<Pod, FlowPeer>();
  private readonly addressPeers = new Map<string, FlowPeer>();
  private readonly times = new Map<string, number>();

  constructor(
    private readonly cluster: Cluster,
    private readonly options: EnrichOptions = {},
  ) {
    this.workloads = new WorkloadResolver(cluster);
    for (const pod of cluster.pods) {
      this.podByName.set(`${pod.namespace}/${pod.name}`, pod);
      if (pod.hostNetwork) {
        if (pod.nodeName) {
          const list = this.hostPodsByNode.get(pod.nodeName) ?? [];
          list.push(pod);
          this.hostPodsByNode.set(pod.nodeName, list);
        }
        continue;
      }
      for (const ip of pod.ips) {
        const list = this.podsByIp.get(ip.text) ?? [];
        list.push(pod);
        this.podsByIp.set(ip.text, list);
      }
    }
    for (const node of cluster.nodes.values()) {
      for (const a of node.addresses) {
        this.nodeByIp.set(a.ip.text, node.name);
      }
      const zone = ZONE_LABELS.map((l) => node.labels.get(l)).find((z) => z !== undefined);
      if (zone) {
        this.zoneOfNode.set(node.name, zone);
      }
    }
    for (const svc of cluster.services) {
      for (const ip of svc.clusterIPs) {
        for (const sp of svc.ports) {
          this.services.set(`${ip.text}|${sp.port}|${sp.protocol}`, {
            service: svc,
            servicePort: sp.port,
            backends: this.backendsOf(svc, sp),
          });
        }
      }
    }
  }

  enrich(record: FlowRecord): EnrichedFlow {
    const startMs = this.time(record.start);
    const endMs = this.time(record.end);
    const client = this.peer(record.client.ip, startMs, endMs, undefined, record.protocol);
    let server: FlowPeer;
    let port = record.server.port;
    const target = this.services.get(`${record.server.ip}|${record.server.port}|${record.protocol}`);
    if (target) {
      target.peer ??= this.servicePeer(record.server.ip, target);
      target.port ??= mostCommon(target.backends.map((b) => b.port)) ?? port;
      server = target.peer;
      port = target.port;
    } else {
      server = this.peer(record.server.ip, startMs, endMs, record.server.port, record.protocol);
    }
    const portName = server.pods.length > 0 ? namedPort(server.pods[0], port, record.protocol) : undefined;
    return { record, startMs, endMs, protocol: record.protocol, port, portName, client, server, category: this.categorize(client, server) };
  }

  /** Records of one window share their timestamps: parse each distinct one once. */
  private time(text: string): number {
    let ms = this.times.get(text);
    if (ms === undefined) {
      if (this.times.size > 10_000) {
        this.times.clear();
      }
      ms = Date.parse(text);
      this.times.set(text, ms);
    }
    return ms;
  }

  private peer(ip: string, startMs: number, endMs: number, serverPort: number | undefined, protocol: FlowProtocol): FlowPeer {
    const pod = this.podAt(ip, startMs, endMs);
    if (pod) {
      let peer = this.podPeers.get(pod);
      // A dual-stack pod has a peer per address; the cache holds the last one used.
      if (peer?.ip !== ip) {
        peer = this.podPeer(ip, pod);
        this.podPeers.set(pod, peer);
      }
      return peer;
    }
    const node = this.nodeByIp.get(ip);
    if (node !== undefined) {
      // A host-network pod shares the node's address; on the server side its declared port tells it apart.
      const hostPod =
        serverPort === undefined ? undefined : (this.hostPodsByNode.get(node) ?? []).find((p) => p.ports.some((cp) => cp.port === serverPort && cp.protocol === protocol));
      return {
        ip,
        kind: 'node',
        pods: hostPod ? [hostPod] : [],
        node,
        zone: this.zoneOfNode.get(node),
        ...(hostPod ? { namespace: hostPod.namespace, workload: this.workloadOf(hostPod) } : {}),
      };
    }
    let outside = this.addressPeers.get(ip);
    if (!outside) {
      const cloudService = this.options.cloudRanges?.serviceOf(ip);
      outside = cloudService ? { ip, kind: 'cloud-service', pods: [], cloudService } : { ip, kind: 'external', pods: [] };
      if (this.addressPeers.size > 100_000) {
        this.addressPeers.clear();
      }
      this.addressPeers.set(ip, outside);
    }
    return outside;
  }

  private podPeer(ip: string, pod: Pod): FlowPeer {
    return {
      ip,
      kind: 'pod',
      pods: [pod],
      namespace: pod.namespace,
      workload: this.workloadOf(pod),
      node: pod.nodeName,
      zone: pod.nodeName ? this.zoneOfNode.get(pod.nodeName) : undefined,
    };
  }

  private servicePeer(ip: string, target: ServiceTarget): FlowPeer {
    const { service } = target;
    const pods = target.backends.map((b) => b.pod);
    const serviceRef = { namespace: service.namespace, name: service.name, port: target.servicePort };
    if (pods.length === 1) {
      return { ...this.podPeer(ip, pods[0]), service: serviceRef };
    }
    // Which backend served the connection is unknown on the client side: keep what all backends share.
    const workloads = new Set(pods.map((p) => key(this.workloadOf(p))));
    const nodes = new Set(pods.map((p) => p.nodeName));
    const zones = new Set(pods.map((p) => (p.nodeName ? this.zoneOfNode.get(p.nodeName) : undefined)));
    return {
      ip,
      kind: 'pod',
      pods,
      namespace: service.namespace,
      workload: workloads.size === 1 && pods.length > 0 ? this.workloadOf(pods[0]) : undefined,
      node: nodes.size === 1 ? [...nodes][0] : undefined,
      zone: zones.size === 1 ? [...zones][0] : undefined,
      service: serviceRef,
    };
  }

  /** The pod holding ip during [startMs, endMs]: the one whose lifetime overlaps the window most. */
  private podAt(ip: string, startMs: number, endMs: number): Pod | undefined {
    const candidates = this.podsByIp.get(ip);
    if (!candidates) {
      return undefined;
    }
    if (candidates.length === 1) {
      const only = candidates[0];
      return overlap(only, startMs, endMs) > 0 || (only.lifetime.fromMs === undefined && only.lifetime.toMs === undefined) ? only : undefined;
    }
    let best: Pod | undefined;
    let bestOverlap = 0;
    for (const pod of candidates) {
      const o = overlap(pod, startMs, endMs);
      if (o > bestOverlap) {
        best = pod;
        bestOverlap = o;
      }
    }
    return best;
  }

  /** The workload that owns a pod (see WorkloadResolver). */
  workloadOf(pod: Pod): WorkloadId {
    return this.workloads.workloadOf(pod);
  }

  private categorize(client: FlowPeer, server: FlowPeer): FlowCategory {
    if (server.kind === 'cloud-service' || client.kind === 'cloud-service') {
      return 'cloud-service';
    }
    if (server.kind === 'external' || client.kind === 'external') {
      return 'external';
    }
    // A Service with several backends: the connection went to one of them; classify by all of them
    // (a Service spread over zones may cross one, which is what cost questions need to know).
    const many = server.pods.length > 1;
    if (!many) {
      if (client.node !== undefined && client.node === server.node) {
        return 'intra-node';
      }
      return client.zone === undefined || server.zone === undefined || client.zone === server.zone ? 'intra-zone' : 'inter-zone';
    }
    const serverNodes = server.pods.map((p) => p.nodeName);
    const serverZones = server.pods.map((p) => (p.nodeName ? this.zoneOfNode.get(p.nodeName) : undefined));
    if (client.node !== undefined && serverNodes.every((n) => n === client.node)) {
      return 'intra-node';
    }
    // A zone unknown on either side is no evidence that the traffic crossed zones.
    if (client.zone === undefined || serverZones.some((z) => z === undefined)) {
      return 'intra-zone';
    }
    return serverZones.every((z) => z === client.zone) ? 'intra-zone' : 'inter-zone';
  }

  private backendsOf(svc: Service, sp: Service['ports'][number]): { pod: Pod; port: number }[] {
    const slices = this.cluster.endpointSlices.filter((s) => s.namespace === svc.namespace && s.serviceName === svc.name);
    if (slices.length > 0) {
      return slices.flatMap((slice) => this.sliceBackends(slice, sp));
    }
    // No EndpointSlices in the snapshot: select the pods as the EndpointSlice controller would.
    if (!svc.selector || svc.selector.size === 0) {
      return [];
    }
    const selector = { matchLabels: svc.selector, matchExpressions: [] };
    return this.cluster.pods
      .filter((p) => p.namespace === svc.namespace && !p.hostNetwork && p.phase === 'Running' && selectorMatches(selector, p.labels))
      .flatMap((pod) => {
        const port = typeof sp.targetPort === 'number' ? sp.targetPort : pod.ports.find((cp) => cp.name === sp.targetPort && cp.protocol === sp.protocol)?.port;
        return port === undefined ? [] : [{ pod, port }];
      });
  }

  private sliceBackends(slice: EndpointSlice, sp: Service['ports'][number]): { pod: Pod; port: number }[] {
    // An EndpointSlice port carries the Service port's name and the resolved target port number.
    const port = slice.ports.find((p) => (p.name ?? '') === (sp.name ?? '') && p.protocol === sp.protocol)?.port;
    if (port === undefined) {
      return [];
    }
    return slice.endpoints
      .filter((e) => e.ready)
      .flatMap((e) => {
        const byRef = e.targetRef?.kind === 'Pod' ? this.podByName.get(`${e.targetRef.namespace ?? slice.namespace}/${e.targetRef.name}`) : undefined;
        const pod = byRef ?? e.addresses.map((a) => this.podsByIp.get(a.text)?.[0]).find((p) => p !== undefined);
        return pod ? [{ pod, port }] : [];
      });
  }
}

/** Enriches every record against one snapshot. */
export function enrichFlows(cluster: Cluster, records: readonly FlowRecord[], options: EnrichOptions = {}): EnrichedFlow[] {
  const enricher = new FlowEnricher(cluster, options);
  return records.map((r) => enricher.enrich(r));
}

function overlap(pod: Pod, startMs: number, endMs: number): number {
  const from = Math.max(pod.lifetime.fromMs ?? -Infinity, startMs);
  const to = Math.min(pod.lifetime.toMs ?? Infinity, endMs);
  // A zero-length window inside the lifetime still counts.
  return to > from ? to - from : to === from ? 1e-9 : 0;
}

function namedPort(pod: Pod, port: number, protocol: FlowProtocol): string | undefined {
  return pod.ports.find((cp) => cp.port === port && cp.protocol === protocol && cp.name !== undefined)?.name;
}

function mostCommon(values: readonly number[]): number | undefined {
  const counts = new Map<number, number>();
  let best: number | undefined;
  for (const v of values) {
    const n = (counts.get(v) ?? 0) + 1;
    counts.set(v, n);
    if (best === undefined || n > counts.get(best)!) {
      best = v;
    }
  }
  return best;
}

function key(w: WorkloadId): string {
  return `${w.kind} ${w.namespace}/${w.name}`;
}
