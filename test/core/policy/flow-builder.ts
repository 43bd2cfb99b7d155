/**
 * Builds EnrichedFlows by hand for policy tests, with the same workload resolution as the enricher, so
 * that generation and what-if can be tested apart from enrichment.
 */
import { FlowEnricher } from '../../../src/core/flows/enrich';
import type { EnrichedFlow, FlowPeer } from '../../../src/core/flows/enriched-flow';
import type { FlowProtocol } from '../../../src/core/flows/flow-record';
import type { Cluster } from '../../../src/core/kube/cluster';
import type { Pod } from '../../../src/core/kube/objects';

/** "ns/pod", or an address with what it is. */
export type EndSpec = string | { readonly ip: string; readonly kind: 'node' | 'external' | 'cloud-service'; readonly node?: string; readonly cloudService?: string; readonly hostPod?: string };

export interface FlowSpec {
  readonly client: EndSpec;
  /** A pod, an address, or a Service's backends (with `service`). */
  readonly server: EndSpec | readonly string[];
  readonly service?: { readonly namespace: string; readonly name: string; readonly port: number; readonly ip: string };
  readonly port: number;
  readonly protocol?: FlowProtocol;
  readonly start?: string;
  readonly end?: string;
  readonly bytes?: number;
  readonly connections?: number;
  readonly failed?: number;
  readonly observedAt?: 'client' | 'server';
}

export class FlowBuilder {
  private readonly enricher: FlowEnricher;
  private readonly pods: Map<string, Pod>;

  constructor(cluster: Cluster) {
    this.enricher = new FlowEnricher(cluster);
    this.pods = new Map(cluster.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
  }

  pod(id: string): Pod {
    const pod = this.pods.get(id);
    if (!pod) {
      throw new Error(`test bug: no pod ${id}`);
    }
    return pod;
  }

  flow(spec: FlowSpec): EnrichedFlow {
    const protocol = spec.protocol ?? 'TCP';
    const client = this.peer(spec.client);
    let server: FlowPeer;
    if (Array.isArray(spec.server)) {
      const pods = (spec.server as readonly string[]).map((id) => this.pod(id));
      const workloads = new Set(pods.map((p) => JSON.stringify(this.enricher.workloadOf(p))));
      server = {
        ip: spec.service?.ip ?? pods[0]?.ips[0]?.text ?? '198.19.255.1',
        kind: 'pod',
        pods,
        namespace: spec.service?.namespace ?? pods[0]?.namespace,
        workload: workloads.size === 1 ? this.enricher.workloadOf(pods[0]) : undefined,
        ...(spec.service ? { service: { namespace: spec.service.namespace, name: spec.service.name, port: spec.service.port } } : {}),
      };
    } else {
      server = { ...this.peer(spec.server as EndSpec), ...(spec.service ? { ip: spec.service.ip, service: { namespace: spec.service.namespace, name: spec.service.name, port: spec.service.port } } : {}) };
    }
    const start = spec.start ?? '2026-11-21T10:00:00Z';
    const end = spec.end ?? '2026-11-21T10:00:05Z';
    const bytes = spec.bytes ?? 1000;
    const connections = spec.connections ?? 1;
    const failed = spec.failed ?? 0;
    const portName = server.pods[0]?.ports.find((p) => p.port === spec.port && p.protocol === protocol && p.name !== undefined)?.name;
    return {
      record: {
        v: 1,
        start,
        end,
        node: 'node-a',
        protocol,
        client: { ip: client.ip },
        server: { ip: server.ip, port: spec.service?.port ?? spec.port },
        observedAt: spec.observedAt ?? 'client',
        bytesToServer: bytes / 2,
        bytesToClient: failed > 0 && connections === 0 ? 0 : bytes / 2,
        packetsToServer: 1,
        packetsToClient: 1,
        connections,
        retransmits: 0,
        rto: 0,
        rttUs: 100,
        resets: 0,
        failedConnections: failed,
      },
      startMs: Date.parse(start),
      endMs: Date.parse(end),
      protocol,
      port: spec.port,
      ...(portName ? { portName } : {}),
      client,
      server,
      category: 'intra-zone',
    };
  }

  private peer(spec: EndSpec): FlowPeer {
    if (typeof spec === 'string') {
      const pod = this.pod(spec);
      return { ip: pod.ips[0]?.text ?? '198.18.255.1', kind: 'pod', pods: [pod], namespace: pod.namespace, workload: this.enricher.workloadOf(pod), node: pod.nodeName };
    }
    if (spec.hostPod) {
      const pod = this.pod(spec.hostPod);
      return { ip: spec.ip, kind: 'node', pods: [pod], node: spec.node ?? pod.nodeName, namespace: pod.namespace, workload: this.enricher.workloadOf(pod) };
    }
    return { ip: spec.ip, kind: spec.kind, pods: [], ...(spec.node ? { node: spec.node } : {}), ...(spec.cloudService ? { cloudService: spec.cloudService } : {}) };
  }
}
