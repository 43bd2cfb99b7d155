/**
 * The slim Kubernetes objects FlowLens models: only the fields the engines use, already validated
 * and parsed (IPs, ports, labels). Decoding from raw API objects lives in decode.ts.
 */
import type { IpAddress } from '../net/ip';
import type { Labels, LabelSelector } from './selector';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** Where an object came from, for messages ("cluster.yaml:12"). */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

export interface OwnerReference {
  readonly kind: string;
  readonly name: string;
  readonly controller: boolean;
}

export interface Namespace {
  readonly name: string;
  readonly labels: Labels;
  readonly source?: SourceLocation;
}

export interface ContainerPort {
  readonly name?: string;
  readonly port: number;
  readonly protocol: Protocol;
}

export interface Pod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /** status.podIPs (or status.podIP); for host-network pods these are the node's addresses. */
  readonly ips: readonly IpAddress[];
  readonly nodeName?: string;
  readonly hostNetwork: boolean;
  readonly phase?: string;
  readonly ports: readonly ContainerPort[];
  readonly owners: readonly OwnerReference[];
  /**
   * When the pod held its IPs, in ms since the epoch: from its creation to its end (terminated
   * containers, or deletion); undefined ends are open. Pod IPs are reused as pods come and go.
   */
  readonly lifetime: { readonly fromMs?: number; readonly toMs?: number };
  readonly source?: SourceLocation;
}

export interface NodeAddress {
  readonly type: string;
  readonly ip: IpAddress;
}

export interface Node {
  readonly name: string;
  readonly labels: Labels;
  readonly addresses: readonly NodeAddress[];
  readonly source?: SourceLocation;
}

export interface ServicePort {
  readonly name?: string;
  readonly port: number;
  readonly targetPort: number | string;
  readonly protocol: Protocol;
}

export interface Service {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  /** Undefined for Services without a selector (endpoints managed by hand). */
  readonly selector?: Labels;
  readonly clusterIPs: readonly IpAddress[];
  readonly ports: readonly ServicePort[];
  readonly source?: SourceLocation;
}

export interface EndpointSlicePort {
  readonly name?: string;
  readonly port?: number;
  readonly protocol: Protocol;
}

export interface Endpoint {
  readonly addresses: readonly IpAddress[];
  readonly ready: boolean;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly targetRef?: { readonly kind: string; readonly namespace?: string; readonly name: string };
}

export interface EndpointSlice {
  readonly namespace: string;
  readonly name: string;
  readonly serviceName?: string;
  readonly ports: readonly EndpointSlicePort[];
  readonly endpoints: readonly Endpoint[];
  readonly source?: SourceLocation;
}

export type WorkloadKind = 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';
export const WORKLOAD_KINDS: readonly WorkloadKind[] = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];

export interface Workload {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly owners: readonly OwnerReference[];
  readonly selector?: LabelSelector;
  readonly templateLabels: Labels;
  readonly source?: SourceLocation;
}
