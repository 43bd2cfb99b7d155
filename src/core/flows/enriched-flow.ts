/**
 * A flow record resolved against the cluster: each end is a pod (with its workload), a node, a cloud
 * service or an external address; a client that dialled a Service ClusterIP is mapped to the Service
 * and its backends, and the port is the server pod's port (the Service's targetPort), by number and,
 * where the container port has one, by name. This is what aggregation, generation and what-if read.
 */
import type { Pod } from '../kube/objects';
import type { WorkloadId } from '../kube/workloads';
import type { FlowCategory, FlowProtocol, FlowRecord } from './flow-record';

export type PeerKind = 'pod' | 'node' | 'cloud-service' | 'external';

export type { WorkloadId } from '../kube/workloads';

export interface FlowPeer {
  /** The address the flow was seen with (for a client that dialled a Service: the ClusterIP on the server side). */
  readonly ip: string;
  readonly kind: PeerKind;
  /**
   * The pods this end may be: exactly one when the address identifies the pod; the Service's ready
   * backends (all of one workload, usually) when the client dialled a ClusterIP and the backend is not
   * known; empty for nodes, cloud services and external addresses. Host-network pods are kind "node".
   */
  readonly pods: readonly Pod[];
  readonly namespace?: string;
  /** The owning workload (Pod -> ReplicaSet -> Deployment, StatefulSet, DaemonSet, Job -> CronJob), or the bare pod. */
  readonly workload?: WorkloadId;
  readonly node?: string;
  readonly zone?: string;
  /** Server side only: the Service the client dialled (its ClusterIP and Service port). */
  readonly service?: { readonly namespace: string; readonly name: string; readonly port: number };
  /** For kind "cloud-service": the AWS service name from ip-ranges.json (S3, DYNAMODB, ...). */
  readonly cloudService?: string;
}

export interface EnrichedFlow {
  readonly record: FlowRecord;
  readonly startMs: number;
  readonly endMs: number;
  readonly protocol: FlowProtocol;
  /** The port on the server: the pod's container port (the targetPort when a Service was dialled). */
  readonly port: number;
  /** The server pod's name for that container port, when the container port is named. */
  readonly portName?: string;
  readonly client: FlowPeer;
  readonly server: FlowPeer;
  readonly category: FlowCategory;
}
