/**
 * For the host: the flows behind what the user selected on the map (a `generatePolicy` or `showFlows`
 * message), and the workloads a generated policy should cover. Edge and endpoint ids are `aggregate()`'s,
 * so a flow belongs to an edge when its ends have the edge's ids at the edge's level, with the edge's
 * port and protocol. At pod level a client-side record to a Service with several backends belongs to every
 * selected backend's edge (aggregate() charges its losses to the busiest one).
 */
import type { EnrichedFlow, FlowPeer, WorkloadId } from '../flows/enriched-flow';
import type { GenerateScope } from '../policy/generate';
import type { EdgeRef, EndpointRef, ViewLevel } from './protocol';
import { endpointIdOf } from './snapshot';

function peerMatches(peer: FlowPeer, id: string, level: ViewLevel): boolean {
  if (endpointIdOf(peer, level) === id) {
    return true;
  }
  if (level === 'pod' && id.startsWith('pod:') && peer.pods.length > 1) {
    return peer.pods.some((p) => `pod:${p.namespace}/${p.name}` === id);
  }
  return false;
}

/** The flows of the selected edges, in the order given. */
export function flowsOfEdges(flows: readonly EnrichedFlow[], edges: readonly EdgeRef[], level: ViewLevel): EnrichedFlow[] {
  return flows.filter((f) => edges.some((e) => e.port === f.port && e.protocol === f.protocol && peerMatches(f.client, e.client.id, level) && peerMatches(f.server, e.server.id, level)));
}

/** The flows with a selected endpoint at either end. */
export function flowsOfEndpoints(flows: readonly EnrichedFlow[], endpoints: readonly EndpointRef[], level: ViewLevel): EnrichedFlow[] {
  return flows.filter((f) => endpoints.some((n) => peerMatches(f.client, n.id, level) || peerMatches(f.server, n.id, level)));
}

export interface PolicySelection {
  readonly flows: EnrichedFlow[];
  readonly scope: GenerateScope;
}

/**
 * What to pass to `generatePolicies` for a `generatePolicy` message: the selected edges' flows plus the
 * selected nodes' flows; scope "all" when only edges were selected (both ends get policies), otherwise the
 * selected nodes' workloads and the workloads at both ends of the selected edges.
 */
export function policySelection(flows: readonly EnrichedFlow[], message: { level: ViewLevel; edges: readonly EdgeRef[]; nodes: readonly EndpointRef[] }): PolicySelection {
  const chosen = new Set([...flowsOfEdges(flows, message.edges, message.level), ...flowsOfEndpoints(flows, message.nodes, message.level)]);
  const selected = flows.filter((f) => chosen.has(f));
  if (message.nodes.length === 0) {
    return { flows: selected, scope: { kind: 'all' } };
  }
  const workloads = new Map<string, WorkloadId>();
  const add = (w: WorkloadId | undefined) => {
    if (w) {
      workloads.set(`${w.kind}/${w.namespace}/${w.name}`, { kind: w.kind, namespace: w.namespace, name: w.name });
    }
  };
  for (const n of message.nodes) {
    add(n.workload);
  }
  for (const e of message.edges) {
    add(e.client.workload);
    add(e.server.workload);
  }
  return { flows: selected, scope: { kind: 'workloads', workloads: [...workloads.values()] } };
}
