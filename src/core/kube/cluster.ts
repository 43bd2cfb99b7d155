/**
 * A cluster snapshot: the decoded objects of one cluster, checked for duplicates, with the
 * namespaces that pods or policies refer to but the input did not define filled in.
 */
import type { ClusterObject } from './decode';
import type { EndpointSlice, Namespace, Node, Pod, Service, SourceLocation, Workload } from './objects';
import { policyId, type NetworkPolicy } from '../policy/network-policy';

export interface Cluster {
  readonly namespaces: ReadonlyMap<string, Namespace>;
  readonly pods: readonly Pod[];
  readonly nodes: ReadonlyMap<string, Node>;
  readonly services: readonly Service[];
  readonly endpointSlices: readonly EndpointSlice[];
  readonly workloads: readonly Workload[];
  /** NetworkPolicies in force. */
  readonly policies: readonly NetworkPolicy[];
}

export interface ClusterBuild {
  readonly cluster: Cluster;
  readonly notes: string[];
  /** Duplicate objects; the input is ambiguous when non-empty. */
  readonly errors: string[];
}

export function buildCluster(objects: readonly ClusterObject[]): ClusterBuild {
  const notes: string[] = [];
  const errors: string[] = [];
  const seen = new Map<string, SourceLocation | undefined>();
  const unique = objects.filter((o) => {
    const v = o.value;
    const key = `${o.kind === 'Workload' ? (v as Workload).kind : o.kind} ${'namespace' in v ? `${v.namespace}/` : ''}${v.name}`;
    if (seen.has(key)) {
      errors.push(`${key} is defined twice (${where(seen.get(key))} and ${where(v.source)})`);
      return false;
    }
    seen.set(key, v.source);
    return true;
  });
  const of = <K extends ClusterObject['kind']>(kind: K) =>
    unique.filter((o): o is Extract<ClusterObject, { kind: K }> => o.kind === kind).map((o) => o.value as Extract<ClusterObject, { kind: K }>['value']);

  const namespaces = new Map(of('Namespace').map((ns) => [ns.name, ns]));
  const pods = of('Pod');
  const policies = of('NetworkPolicy');
  const missing = new Set<string>();
  for (const { namespace } of [...pods, ...policies]) {
    if (!namespaces.has(namespace)) {
      missing.add(namespace);
      namespaces.set(namespace, { name: namespace, labels: new Map([['kubernetes.io/metadata.name', namespace]]) });
    }
  }
  if (missing.size > 0) {
    notes.push(`namespace(s) ${[...missing].sort().join(', ')} are used but not defined in the input; assuming they carry only the kubernetes.io/metadata.name label`);
  }
  return {
    cluster: {
      namespaces,
      pods,
      nodes: new Map(of('Node').map((n) => [n.name, n])),
      services: of('Service'),
      endpointSlices: of('EndpointSlice'),
      workloads: of('Workload'),
      policies,
    },
    notes,
    errors,
  };
}

/** Candidate policies replace the policies in force with the same namespace/name and add the rest. */
export function withPolicies(inForce: readonly NetworkPolicy[], candidates: readonly NetworkPolicy[]): NetworkPolicy[] {
  const replaced = new Set(candidates.map(policyId));
  return [...inForce.filter((p) => !replaced.has(policyId(p))), ...candidates];
}

function where(source: SourceLocation | undefined): string {
  return source ? `${source.file}:${source.line}` : 'input';
}
