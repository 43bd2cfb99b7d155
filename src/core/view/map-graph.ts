/**
 * The service map's graph for a snapshot, a view (workload or pod) and the user's scope and filters:
 * nodes (workloads or pods, Services whose backend is unknown, host-network nodes, each cloud service,
 * and one "internet" node for every external address), namespace groups, and links — one per
 * (client node, server node), carrying that pair's edges (one per port and protocol) and their sums.
 *
 * Pure and browser-safe: the webview rebuilds it on every snapshot, delta, view or filter change.
 */
import type { FlowCategory } from '../flows/flow-record';
import { addCounters, edgeHealth, worseHealth, zeroCounters, type Health } from './health';
import type { Counters, EdgeView, EndpointView, ViewLevel, ViewSnapshot, WorkloadIdView } from './protocol';

export type MapNodeKind = 'workload' | 'pod' | 'service' | 'node' | 'cloud-service' | 'internet';

export interface MapNode {
  readonly id: string;
  readonly kind: MapNodeKind;
  /** Full label ("ns/name", "S3", "internet"). */
  readonly label: string;
  /** Label inside its group (the name without the namespace). */
  readonly name: string;
  readonly group: string;
  readonly namespace?: string;
  readonly workload?: WorkloadIdView;
  /** The endpoints drawn as this node (several only for "internet"). */
  readonly endpoints: readonly EndpointView[];
  readonly zones: readonly string[];
  readonly pods: readonly string[];
  readonly ips: readonly string[];
}

export interface MapLink {
  /** `${source}>${target}` */
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly edges: readonly EdgeView[];
  readonly totals: Counters;
  readonly health: Health;
  /** Some of its traffic crosses zones. */
  readonly crossZone: boolean;
  readonly categories: readonly FlowCategory[];
  /** The reverse link exists too (drawn curved). */
  readonly bidirectional: boolean;
}

export interface MapGroup {
  readonly id: string;
  readonly kind: 'namespace' | 'nodes' | 'outside';
  readonly label: string;
  readonly nodes: readonly string[];
}

export interface MapFilters {
  /** Namespaces in scope; empty: cluster-wide. Edges with at least one end in scope are shown. */
  readonly namespaces: readonly string[];
  /** Case-insensitive substring of a workload, pod or node label at either end. */
  readonly workload: string;
  /** Server ports; empty: all. */
  readonly ports: readonly number[];
  /** Categories; empty: all. */
  readonly categories: readonly FlowCategory[];
  readonly onlyUnhealthy: boolean;
}

export const NO_FILTERS: MapFilters = { namespaces: [], workload: '', ports: [], categories: [], onlyUnhealthy: false };

export interface MapGraph {
  readonly level: ViewLevel;
  readonly nodes: readonly MapNode[];
  readonly links: readonly MapLink[];
  readonly groups: readonly MapGroup[];
  readonly nodeById: ReadonlyMap<string, MapNode>;
  readonly linkById: ReadonlyMap<string, MapLink>;
}

export const INTERNET_NODE = 'internet';
export const NODES_GROUP = 'group:nodes';
export const OUTSIDE_GROUP = 'group:outside';

export function groupIdOfNamespace(namespace: string): string {
  return `ns:${namespace}`;
}

/** The map node an endpoint is drawn as (external addresses all become "internet"). */
export function mapNodeIdOf(endpoint: EndpointView): string {
  return endpoint.kind === 'external' ? INTERNET_NODE : endpoint.id;
}

/** The workload-view node of a pod-level endpoint (its workload), or the endpoint's own node. */
export function workloadNodeIdOf(endpoint: EndpointView): string {
  if (endpoint.id.startsWith('pod:') && endpoint.workload) {
    const w = endpoint.workload;
    return `wl:${w.kind}/${w.namespace}/${w.name}`;
  }
  return mapNodeIdOf(endpoint);
}

export function linkId(source: string, target: string): string {
  return `${source}>${target}`;
}

export function edgePassesFilters(edge: EdgeView, client: EndpointView | undefined, server: EndpointView | undefined, f: MapFilters, scope?: ReadonlySet<string>): boolean {
  if (scope && scope.size > 0 && !(client?.namespace !== undefined && scope.has(client.namespace)) && !(server?.namespace !== undefined && scope.has(server.namespace))) {
    return false;
  }
  if (f.ports.length > 0 && !f.ports.includes(edge.port)) {
    return false;
  }
  if (f.categories.length > 0 && !f.categories.includes(edge.category)) {
    return false;
  }
  if (f.onlyUnhealthy && edgeHealth(edge.totals) === 'healthy') {
    return false;
  }
  if (f.workload) {
    const needle = f.workload.toLowerCase();
    if (!(client?.label.toLowerCase().includes(needle) || server?.label.toLowerCase().includes(needle))) {
      return false;
    }
  }
  return true;
}

/** Endpoints by id, built once per snapshot and shared by the map and the table. */
export function endpointIndex(snapshot: ViewSnapshot): Map<string, EndpointView> {
  return new Map(snapshot.endpoints.map((e) => [e.id, e]));
}

export function buildMapGraph(snapshot: ViewSnapshot, level: ViewLevel, filters: MapFilters, endpoints = endpointIndex(snapshot)): MapGraph {
  const scope = new Set(filters.namespaces);
  const edges = level === 'pod' ? snapshot.podEdges : snapshot.workloadEdges;
  const nodeMembers = new Map<string, EndpointView[]>();
  const linkEdges = new Map<string, { source: string; target: string; edges: EdgeView[] }>();
  for (const e of edges) {
    const client = endpoints.get(e.client);
    const server = endpoints.get(e.server);
    if (!client || !server || !edgePassesFilters(e, client, server, filters, scope)) {
      continue;
    }
    const source = mapNodeIdOf(client);
    const target = mapNodeIdOf(server);
    for (const [id, ep] of [
      [source, client],
      [target, server],
    ] as const) {
      const members = nodeMembers.get(id);
      if (!members) {
        nodeMembers.set(id, [ep]);
      } else if (!members.includes(ep)) {
        members.push(ep);
      }
    }
    const id = linkId(source, target);
    let l = linkEdges.get(id);
    if (!l) {
      l = { source, target, edges: [] };
      linkEdges.set(id, l);
    }
    l.edges.push(e);
  }
  // A workload edge carries one category (aggregate() keeps its first flow's), but its pods may talk both
  // within and across zones: the pod-level edges say which links have cross-zone traffic.
  const podCategories = new Map<string, Set<FlowCategory>>();
  if (level === 'workload') {
    for (const e of snapshot.podEdges) {
      const client = endpoints.get(e.client);
      const server = endpoints.get(e.server);
      if (client && server) {
        const id = linkId(workloadNodeIdOf(client), workloadNodeIdOf(server));
        const set = podCategories.get(id) ?? new Set<FlowCategory>();
        set.add(e.category);
        podCategories.set(id, set);
      }
    }
  }
  const nodes = [...nodeMembers.entries()].map(([id, members]) => mapNode(id, members)).sort((a, b) => compare(a.id, b.id));
  const links: MapLink[] = [];
  for (const [id, l] of linkEdges) {
    const totals = zeroCounters();
    let health: Health = 'healthy';
    const categories = new Set<FlowCategory>();
    for (const e of l.edges) {
      addCounters(totals, e.totals);
      health = worseHealth(health, edgeHealth(e.totals));
      categories.add(e.category);
    }
    for (const c of podCategories.get(id) ?? []) {
      categories.add(c);
    }
    l.edges.sort((a, b) => a.port - b.port || compare(a.protocol, b.protocol) || compare(a.key, b.key));
    links.push({
      id,
      source: l.source,
      target: l.target,
      edges: l.edges,
      totals,
      health,
      crossZone: categories.has('inter-zone'),
      categories: [...categories].sort(compare),
      bidirectional: linkEdges.has(linkId(l.target, l.source)) && l.source !== l.target,
    });
  }
  links.sort((a, b) => compare(a.id, b.id));
  const groupNodes = new Map<string, string[]>();
  for (const n of nodes) {
    const list = groupNodes.get(n.group) ?? [];
    list.push(n.id);
    groupNodes.set(n.group, list);
  }
  const groups: MapGroup[] = [...groupNodes.entries()]
    .map(([id, members]) => ({
      id,
      kind: id === NODES_GROUP ? ('nodes' as const) : id === OUTSIDE_GROUP ? ('outside' as const) : ('namespace' as const),
      label: id === NODES_GROUP ? 'Nodes (host network)' : id === OUTSIDE_GROUP ? 'Outside the cluster' : id.slice(3),
      nodes: members,
    }))
    .sort((a, b) => groupRank(a.kind) - groupRank(b.kind) || compare(a.label, b.label));
  return {
    level,
    nodes,
    links,
    groups,
    nodeById: new Map(nodes.map((n) => [n.id, n])),
    linkById: new Map(links.map((l) => [l.id, l])),
  };
}

function groupRank(kind: MapGroup['kind']): number {
  return kind === 'namespace' ? 0 : kind === 'nodes' ? 1 : 2;
}

function mapNode(id: string, members: EndpointView[]): MapNode {
  const first = members[0];
  const zones = uniq(members.flatMap((m) => m.zones));
  const pods = uniq(members.flatMap((m) => m.pods));
  const ips = uniq(members.flatMap((m) => m.ips));
  if (id === INTERNET_NODE) {
    return { id, kind: 'internet', label: 'internet', name: 'internet', group: OUTSIDE_GROUP, endpoints: members, zones, pods, ips };
  }
  const kind: MapNodeKind = id.startsWith('pod:')
    ? 'pod'
    : id.startsWith('wl:')
      ? 'workload'
      : id.startsWith('svc:')
        ? 'service'
        : id.startsWith('cloud:')
          ? 'cloud-service'
          : id.startsWith('node:')
            ? 'node'
            : first.kind === 'node'
              ? 'node'
              : 'workload';
  const group = kind === 'cloud-service' ? OUTSIDE_GROUP : first.namespace !== undefined ? groupIdOfNamespace(first.namespace) : kind === 'node' ? NODES_GROUP : OUTSIDE_GROUP;
  const name = first.namespace !== undefined && first.label.startsWith(`${first.namespace}/`) ? first.label.slice(first.namespace.length + 1) : first.label;
  const node: MapNode = { id, kind, label: first.label, name, group, endpoints: members, zones, pods, ips };
  return {
    ...node,
    ...(first.namespace !== undefined ? { namespace: first.namespace } : {}),
    ...(first.workload ? { workload: first.workload } : {}),
  };
}

function uniq(xs: readonly string[]): string[] {
  return [...new Set(xs)].sort(compare);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
