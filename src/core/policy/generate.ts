/**
 * Generates NetworkPolicies from observed flows: for every workload in scope, an ingress policy on it as
 * a server (allowing exactly the clients and ports it was seen serving) and an egress policy on it as a
 * client (allowing exactly the servers and ports it was seen calling), or one combined policy.
 *
 * What it gets right where other generators do not:
 * - selectors come from the workload's pod-template labels (its own immutable spec.selector keys when
 *   they are enough), never from labels that change per rollout or per pod (pod-template-hash & co.);
 * - ports are the server pod's port (the Service's targetPort), by name when the container port has one,
 *   never the Service port; numeric ranges only where every port of the range was observed;
 * - a client that resolves names gets DNS egress to the cluster DNS pods on UDP and TCP 53 (TCP carries
 *   truncated answers even if it was never observed);
 * - host-network pods are their node: peers as the node's address, never subjects (policies cannot
 *   isolate them);
 * - default-deny is generated only where it breaks no observed flow.
 *
 * Rules are exact at workload granularity: each peer appears in one rule, peers with the same port set
 * share a rule. Every rule, peer and port carries a comment with its evidence. The output is sorted, so
 * the same flows always give the same text.
 */
import type { Cluster } from '../kube/cluster';
import type { Pod, Protocol, Workload } from '../kube/objects';
import { formatSelector, selectorMatches, type Labels, type LabelSelector } from '../kube/selector';
import { WorkloadResolver } from '../kube/workloads';
import type { EnrichedFlow, FlowPeer, WorkloadId } from '../flows/enriched-flow';
import { networkOf, parseCidr, parseIp, type IpAddress } from '../net/ip';
import { decodeNetworkPolicy, NETWORK_POLICY_API_VERSION, type NetworkPolicy } from './network-policy';

export type GenerateDirection = 'ingress' | 'egress' | 'both';

/** Which workloads get policies. */
export type GenerateScope =
  /** Every workload at either end of the flows (e.g. a chosen set of edges). */
  | { readonly kind: 'all' }
  | { readonly kind: 'namespace'; readonly namespace: string }
  | { readonly kind: 'workloads'; readonly workloads: readonly WorkloadId[] };

export interface GenerateOptions {
  readonly scope?: GenerateScope;
  /** Default both. */
  readonly direction?: GenerateDirection;
  /** One policy per workload with both directions, instead of one per direction. */
  readonly combine?: boolean;
  /** A default-deny policy per namespace in scope, for the directions generated. */
  readonly defaultDeny?: boolean;
  /** Replace observed external/cloud addresses by the smallest CIDR covering them (see AGGREGATION_POLICY). */
  readonly aggregateCidrs?: boolean;
  /** Every egress policy allows DNS to the cluster DNS, even for workloads whose lookups were not observed. */
  readonly dns?: boolean;
}

/** How --aggregate-cidrs widens addresses; stated in the output. */
export const AGGREGATION_POLICY =
  'observed addresses of the same kind (the same cloud service, or the internet) and the same ports that share a /24 (IPv4) or /64 (IPv6) are replaced by the smallest CIDR covering them; nothing is aggregated beyond the observed addresses\' common prefix';

export interface RawSelector {
  matchLabels?: Record<string, string>;
}

export interface RawPeer {
  podSelector?: RawSelector;
  namespaceSelector?: RawSelector;
  ipBlock?: { cidr: string };
}

export interface RawPort {
  protocol: Protocol;
  port: number | string;
  endPort?: number;
}

export interface RawRule {
  from?: RawPeer[];
  to?: RawPeer[];
  ports?: RawPort[];
}

/** A NetworkPolicy as plain data, in the field order kubectl writes. */
export interface NetworkPolicyManifest {
  apiVersion: typeof NETWORK_POLICY_API_VERSION;
  kind: 'NetworkPolicy';
  metadata: { name: string; namespace: string };
  spec: {
    podSelector: RawSelector;
    policyTypes: ('Ingress' | 'Egress')[];
    ingress?: RawRule[];
    egress?: RawRule[];
  };
}

/** A comment placed on the line(s) before the node at `path` in the manifest. */
export interface ManifestComment {
  readonly path: readonly (string | number)[];
  readonly text: string;
}

export interface Evidence {
  /** Flow records (a connection seen by both nodes is two records). */
  readonly records: number;
  /** Payload bytes both ways; when both ends reported, the larger side (the same traffic seen twice). */
  readonly bytes: number;
  readonly connections: number;
  readonly failedConnections: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}

export interface GeneratedPolicy {
  readonly manifest: NetworkPolicyManifest;
  /** The manifest decoded with the API server's validation. */
  readonly policy: NetworkPolicy;
  /** Lines for the comment above the document. */
  readonly header: readonly string[];
  readonly comments: readonly ManifestComment[];
  /** The workload it protects; undefined for a namespace's default-deny. */
  readonly subject?: WorkloadId;
}

export interface GeneratedPolicies {
  readonly policies: readonly GeneratedPolicy[];
  /** Decisions and problems worth telling (skipped workloads, overlapping selectors, failed flows). */
  readonly notes: readonly string[];
  /** Flows that produced rules (after scope, direction and failed-only filtering). */
  readonly flowsUsed: number;
  readonly firstSeenMs?: number;
  readonly lastSeenMs?: number;
}

/** Labels that differ per rollout, revision, pod or job run: never part of a generated selector. */
export const VOLATILE_LABELS: ReadonlySet<string> = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'job-name',
  'controller-uid',
  'batch.kubernetes.io/job-name',
  'batch.kubernetes.io/controller-uid',
  'batch.kubernetes.io/job-completion-index',
]);

const NAMESPACE_LABEL = 'kubernetes.io/metadata.name';
const DNS_NAMESPACE = 'kube-system';
const DNS_LABEL: readonly [string, string] = ['k8s-app', 'kube-dns'];

export function workloadKey(w: WorkloadId): string {
  return `${w.kind} ${w.namespace}/${w.name}`;
}

export function describeWorkload(w: WorkloadId): string {
  return `${w.kind} ${w.namespace}/${w.name}`;
}

/** "namespace shop", "Deployment shop/ui, Deployment shop/api", "every workload in the flows". */
export function describeScope(scope: GenerateScope): string {
  switch (scope.kind) {
    case 'all':
      return 'every workload in the flows';
    case 'namespace':
      return `namespace ${scope.namespace}`;
    case 'workloads':
      return scope.workloads.map(describeWorkload).join(', ');
  }
}

/** A flow in which no connection succeeded and nothing came back: an attempt, not traffic to allow. */
export function isFailedOnly(flow: EnrichedFlow): boolean {
  const r = flow.record;
  return r.failedConnections > 0 && r.connections === 0 && r.bytesToClient === 0;
}

/**
 * Pods, workloads and stable selectors of a cluster, as generation and what-if need them. Workloads are
 * resolved as enrichment resolves them (WorkloadResolver); the flows' own attributions win where they name a pod exactly.
 */
export class WorkloadIndex {
  private resolver: WorkloadResolver | undefined;
  private readonly fromFlows = new Map<Pod, WorkloadId>();
  private readonly objects = new Map<string, Workload>();
  private readonly byNamespace = new Map<string, Map<string, { id: WorkloadId; pods: Pod[] }>>();
  private readonly selectors = new Map<string, StableSelector>();
  /** The cluster's non-host-network pods by namespace, on first need: selectors visit many namespaces. */
  private podsByNamespace?: Map<string, Pod[]>;

  constructor(
    private readonly cluster: Cluster,
    flows: readonly EnrichedFlow[] = [],
  ) {
    for (const w of cluster.workloads) {
      this.objects.set(workloadKey(w), w);
    }
    for (const f of flows) {
      for (const peer of [f.client, f.server]) {
        if (peer.pods.length === 1 && peer.workload && !this.fromFlows.has(peer.pods[0])) {
          this.fromFlows.set(peer.pods[0], peer.workload);
        }
      }
    }
  }

  workloadOf(pod: Pod): WorkloadId {
    // Owner chains resolved as enrichment resolves them.
    return this.fromFlows.get(pod) ?? (this.resolver ??= new WorkloadResolver(this.cluster)).workloadOf(pod);
  }

  /** The workloads of a namespace with their (non-host-network) pods. */
  workloadsIn(namespace: string): ReadonlyMap<string, { id: WorkloadId; pods: Pod[] }> {
    let map = this.byNamespace.get(namespace);
    if (!map) {
      map = new Map();
      if (!this.podsByNamespace) {
        this.podsByNamespace = new Map();
        for (const pod of this.cluster.pods) {
          if (!pod.hostNetwork) {
            const list = this.podsByNamespace.get(pod.namespace);
            if (list) {
              list.push(pod);
            } else {
              this.podsByNamespace.set(pod.namespace, [pod]);
            }
          }
        }
      }
      for (const pod of this.podsByNamespace.get(namespace) ?? []) {
        const id = this.workloadOf(pod);
        const key = workloadKey(id);
        const entry = map.get(key) ?? { id, pods: [] };
        entry.pods.push(pod);
        map.set(key, entry);
      }
      this.byNamespace.set(namespace, map);
    }
    return map;
  }

  /** Every workload the cluster or the flows know of: workload objects at the top of their owner chain, and the workloads of pods. */
  all(flows: readonly EnrichedFlow[] = []): WorkloadId[] {
    const out = new Map<string, WorkloadId>();
    for (const w of this.cluster.workloads) {
      if (!w.owners.some((o) => this.objects.has(`${o.kind} ${w.namespace}/${o.name}`))) {
        out.set(workloadKey(w), { kind: w.kind, namespace: w.namespace, name: w.name });
      }
    }
    for (const pod of this.cluster.pods) {
      const id = this.workloadOf(pod);
      out.set(workloadKey(id), id);
    }
    for (const f of flows) {
      for (const peer of [f.client, f.server]) {
        if (peer.workload) {
          out.set(workloadKey(peer.workload), peer.workload);
        }
      }
    }
    return [...out.values()].sort((a, b) => compare(workloadKey(a), workloadKey(b)));
  }

  /**
   * The labels that select a workload's pods: its pod-template labels (its pods' common labels when the
   * workload object is not in the snapshot) without volatile ones, kept to those every current pod has;
   * narrowed to the keys of the workload's own matchLabels selector (immutable, so they survive rollouts)
   * when that selects no more than the full set. Empty when nothing stable is left.
   */
  selectorOf(id: WorkloadId): StableSelector {
    const key = workloadKey(id);
    const cached = this.selectors.get(key);
    if (cached) {
      return cached;
    }
    const pods = this.workloadsIn(id.namespace).get(key)?.pods ?? [];
    const object = this.objects.get(key);
    let labels = object ? stable(object.templateLabels) : commonLabels(pods.map((p) => p.labels));
    if (object && pods.length > 0) {
      const common = commonLabels(pods.map((p) => p.labels));
      labels = new Map([...labels].filter(([k, v]) => common.get(k) === v));
    }
    const full = this.describeOverlap(id, labels);
    let chosen = { labels, overlaps: full };
    const own = object?.selector;
    if (own && own.matchExpressions.length === 0 && own.matchLabels.size > 0) {
      const keys = [...own.matchLabels.keys()].filter((k) => !VOLATILE_LABELS.has(k) && labels.get(k) === own.matchLabels.get(k));
      if (keys.length > 0 && keys.length < labels.size) {
        const narrowed = new Map(keys.map((k) => [k, labels.get(k)!]));
        const overlaps = this.describeOverlap(id, narrowed);
        if (overlaps.length <= full.length) {
          chosen = { labels: narrowed, overlaps };
        }
      }
    }
    const result: StableSelector = { labels: sortedLabels(chosen.labels), overlaps: chosen.overlaps };
    this.selectors.set(key, result);
    return result;
  }

  private describeOverlap(id: WorkloadId, labels: Labels): WorkloadId[] {
    if (labels.size === 0) {
      return [];
    }
    const selector: LabelSelector = { matchLabels: labels, matchExpressions: [] };
    const out: WorkloadId[] = [];
    for (const [key, entry] of this.workloadsIn(id.namespace)) {
      if (key !== workloadKey(id) && entry.pods.some((p) => selectorMatches(selector, p.labels))) {
        out.push(entry.id);
      }
    }
    return out;
  }
}

export interface StableSelector {
  /** Sorted by key; empty when the workload has no stable label. */
  readonly labels: ReadonlyMap<string, string>;
  /** Other workloads of the namespace whose pods the labels also select. */
  readonly overlaps: readonly WorkloadId[];
}

/** The cluster DNS: kube-system pods behind the kube-dns Service or labelled k8s-app=kube-dns, and a selector for them. */
export interface ClusterDns {
  readonly pods: ReadonlySet<Pod>;
  readonly namespace: string;
  readonly labels: ReadonlyMap<string, string>;
}

export function findClusterDns(cluster: Cluster): ClusterDns | undefined {
  const service = cluster.services.find((s) => s.namespace === DNS_NAMESPACE && s.name === 'kube-dns');
  const serviceSelector = service?.selector && service.selector.size > 0 ? ({ matchLabels: service.selector, matchExpressions: [] } as LabelSelector) : undefined;
  const pods = cluster.pods.filter(
    (p) => p.namespace === DNS_NAMESPACE && !p.hostNetwork && (p.labels.get(DNS_LABEL[0]) === DNS_LABEL[1] || (serviceSelector !== undefined && selectorMatches(serviceSelector, p.labels))),
  );
  if (pods.length === 0) {
    return undefined;
  }
  let labels: ReadonlyMap<string, string> | undefined;
  if (pods.every((p) => p.labels.get(DNS_LABEL[0]) === DNS_LABEL[1])) {
    labels = new Map([DNS_LABEL]);
  } else if (serviceSelector && pods.every((p) => selectorMatches(serviceSelector, p.labels))) {
    labels = sortedLabels(service!.selector!);
  }
  return labels ? { pods: new Set(pods), namespace: DNS_NAMESPACE, labels } : undefined;
}

/** The peer that selects a workload's pods in a policy of `policyNamespace`: its stable labels (none: every pod of its namespace). */
export function workloadPeer(index: WorkloadIndex, policyNamespace: string, workload: WorkloadId): RawPeer {
  const { labels } = index.selectorOf(workload);
  return peerIn(workload.namespace, policyNamespace, labels.size > 0 ? { matchLabels: Object.fromEntries(labels) } : {});
}

/** Egress to the cluster DNS pods on UDP and TCP 53 (TCP carries truncated answers), for a policy of `policyNamespace`. */
export function dnsEgressRule(dns: ClusterDns, policyNamespace: string): RawRule {
  return { to: [peerIn(dns.namespace, policyNamespace, { matchLabels: Object.fromEntries(dns.labels) })], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] };
}

/** Pods of `namespace`: by podSelector alone in the policy's own namespace, else with the namespace selected by name. */
function peerIn(namespace: string, policyNamespace: string, podSelector: RawSelector): RawPeer {
  return namespace === policyNamespace ? { podSelector } : { namespaceSelector: { matchLabels: { [NAMESPACE_LABEL]: namespace } }, podSelector };
}

/** One address as a CIDR: /32 or /128. */
export function hostCidr(ip: IpAddress): string {
  return `${ip.text}/${ip.family === 4 ? 32 : 128}`;
}

/** The records of one connection: (client pod or address, server pod(s) or address, port, protocol). */
export interface Connection {
  /** The first record seen, standing for the others (they share every field generation reads). */
  readonly flow: EnrichedFlow;
  /** The records in which something worked. */
  readonly working: EvidenceTally;
  /** The records in which every connection failed (see isFailedOnly). */
  readonly failed: EvidenceTally;
}

/** Groups records by connection without building a string per record. */
export function connections(flows: readonly EnrichedFlow[]): Connection[] {
  const table = new Map<Pod | string, Map<Pod | string, Map<number, Connection>>>();
  const out: Connection[] = [];
  for (const flow of flows) {
    const { client, server } = flow;
    // A pod's address may have been another pod's earlier, so a pod is its own key; any other address (a
    // Service's ClusterIP standing for its backends, a node, the outside) is never a pod's, and is the key.
    const ck = client.kind === 'pod' && client.pods.length === 1 ? client.pods[0] : client.ip;
    const sk = !server.service && server.pods.length === 1 ? server.pods[0] : server.ip;
    const pk = flow.port * 2 + (flow.protocol === 'TCP' ? 0 : 1);
    let byServer = table.get(ck);
    if (!byServer) {
      byServer = new Map();
      table.set(ck, byServer);
    }
    let byPort = byServer.get(sk);
    if (!byPort) {
      byPort = new Map();
      byServer.set(sk, byPort);
    }
    let conn = byPort.get(pk);
    if (!conn) {
      conn = { flow, working: new EvidenceTally(), failed: new EvidenceTally() };
      byPort.set(pk, conn);
      out.push(conn);
    }
    (isFailedOnly(flow) ? conn.failed : conn.working).add(flow);
  }
  return out;
}

/** Generates policies for the workloads in scope from the flows (all flows: those outside the scope are ignored). */
export function generatePolicies(cluster: Cluster, flows: readonly EnrichedFlow[], options: GenerateOptions = {}): GeneratedPolicies {
  return new Generator(cluster, flows, options).run();
}

// ---------------------------------------------------------------------------------------------------

type Dir = 'ingress' | 'egress';

/** Sums the evidence of flows; a connection reported by both ends counts once (the larger side). */
export class EvidenceTally {
  records = 0;
  // Per side that reported (client, server): scalars, not arrays, as there is one tally per connection.
  bytesClient = 0;
  bytesServer = 0;
  connectionsClient = 0;
  connectionsServer = 0;
  failed = 0;
  first = Infinity;
  last = -Infinity;

  add(f: EnrichedFlow): void {
    const r = f.record;
    this.records++;
    if (r.observedAt === 'server') {
      this.bytesServer += r.bytesToServer + r.bytesToClient;
      this.connectionsServer += r.connections;
    } else {
      this.bytesClient += r.bytesToServer + r.bytesToClient;
      this.connectionsClient += r.connections;
    }
    this.failed += r.failedConnections;
    this.first = Math.min(this.first, f.startMs);
    this.last = Math.max(this.last, f.endMs);
  }

  merge(o: EvidenceTally): void {
    this.records += o.records;
    this.bytesClient += o.bytesClient;
    this.bytesServer += o.bytesServer;
    this.connectionsClient += o.connectionsClient;
    this.connectionsServer += o.connectionsServer;
    this.failed += o.failed;
    this.first = Math.min(this.first, o.first);
    this.last = Math.max(this.last, o.last);
  }

  done(): Evidence {
    return {
      records: this.records,
      bytes: Math.max(this.bytesClient, this.bytesServer),
      connections: Math.max(this.connectionsClient, this.connectionsServer),
      failedConnections: this.failed,
      firstSeenMs: this.first,
      lastSeenMs: this.last,
    };
  }
}

interface PortAcc {
  readonly key: string;
  readonly protocol: Protocol;
  /** A container port name, or the number. */
  readonly port: number | string;
  readonly number: number;
  readonly services: Set<string>;
  companion?: string;
}

interface PeerAcc {
  readonly key: string;
  readonly order: string;
  readonly raw: RawPeer;
  readonly label: string;
  readonly ports: Map<string, PortAcc>;
  readonly evidence: EvidenceTally;
  /** For ipBlock peers that may be aggregated: the address and what it is (cloud service or internet). */
  readonly address?: { ip: IpAddress; group: string };
  readonly warning?: string;
}

interface SubjectAcc {
  readonly workload: WorkloadId;
  readonly dir: Dir;
  readonly peers: Map<string, PeerAcc>;
  readonly evidence: EvidenceTally;
  dns?: EvidenceTally;
}

interface BuiltRule {
  readonly order: string;
  readonly rule: RawRule;
  readonly comments: ManifestComment[];
}

class Generator {
  private readonly index: WorkloadIndex;
  private readonly dns: ClusterDns | undefined;
  private readonly scope: GenerateScope;
  private readonly dirs: readonly Dir[];
  private readonly subjects = new Map<string, SubjectAcc>();
  private readonly notes: string[] = [];
  private readonly used = new EvidenceTally();
  private usedFlows = 0;
  private readonly failedOnly: Connection[] = [];
  private readonly connections: Connection[] = [];
  private readonly hostNetworkSubjects = new Set<string>();
  private readonly noBackends = new Set<string>();
  private readonly scopeKeys: ReadonlySet<string> | undefined;

  constructor(
    cluster: Cluster,
    private readonly flows: readonly EnrichedFlow[],
    private readonly options: GenerateOptions,
  ) {
    this.index = new WorkloadIndex(cluster, flows);
    this.dns = findClusterDns(cluster);
    this.scope = options.scope ?? { kind: 'all' };
    const direction = options.direction ?? 'both';
    this.dirs = direction === 'both' ? ['ingress', 'egress'] : [direction];
    this.scopeKeys = this.scope.kind === 'workloads' ? new Set(this.scope.workloads.map(workloadKey)) : undefined;
  }

  run(): GeneratedPolicies {
    // Records of one connection (client, server, port, protocol) repeat once per agent window: sum them
    // first, then work out peers and ports once per connection.
    for (const conn of connections(this.flows)) {
      this.connections.push(conn);
      this.collect(conn);
    }
    this.noteSkipped();
    const perWorkload = this.buildWorkloadPolicies();
    const defaultDeny = this.options.defaultDeny ? this.buildDefaultDeny(perWorkload) : [];
    const policies = uniqueNames([...defaultDeny, ...perWorkload]).map(finish);
    const evidence = this.used.done();
    return {
      policies,
      notes: this.notes,
      flowsUsed: this.usedFlows,
      ...(this.usedFlows > 0 ? { firstSeenMs: evidence.firstSeenMs, lastSeenMs: evidence.lastSeenMs } : {}),
    };
  }

  private inScope(w: WorkloadId): boolean {
    switch (this.scope.kind) {
      case 'all':
        return true;
      case 'namespace':
        return w.namespace === this.scope.namespace;
      case 'workloads':
        return this.scopeKeys!.has(workloadKey(w));
    }
  }

  private collect(conn: Connection): void {
    const { flow, working } = conn;
    const { client, server } = flow;
    let used = false;
    const touchesScope =
      (client.pods.length === 1 && client.kind === 'pod' && this.inScope(this.index.workloadOf(client.pods[0]))) ||
      server.pods.some((p) => this.inScope(this.index.workloadOf(p)));
    if (!touchesScope) {
      return;
    }
    if (conn.failed.records > 0) {
      this.failedOnly.push(conn);
    }
    if (working.records === 0) {
      return;
    }
    if (this.dirs.includes('egress') && client.kind === 'pod' && client.pods.length === 1) {
      const workload = this.index.workloadOf(client.pods[0]);
      if (this.inScope(workload)) {
        used = this.addEgress(workload, flow, working) || used;
      }
    }
    if (this.dirs.includes('ingress') && server.pods.length > 0) {
      for (const group of this.backendWorkloads(server).values()) {
        if (!this.inScope(group.workload)) {
          continue;
        }
        if (server.kind !== 'pod') {
          this.hostNetworkSubjects.add(`${describeWorkload(group.workload)} (pod ${group.pods[0].namespace}/${group.pods[0].name})`);
          continue;
        }
        used = this.addIngress(group.workload, group.pods, flow, working) || used;
      }
    }
    if (used) {
      this.usedFlows += working.records;
      this.used.merge(working);
    }
  }

  /** The server's pods grouped by workload (a Service may front several). */
  private backendWorkloads(server: FlowPeer): Map<string, { workload: WorkloadId; pods: Pod[] }> {
    const out = new Map<string, { workload: WorkloadId; pods: Pod[] }>();
    for (const pod of server.pods) {
      const workload = this.index.workloadOf(pod);
      const key = workloadKey(workload);
      const entry = out.get(key) ?? { workload, pods: [] };
      entry.pods.push(pod);
      out.set(key, entry);
    }
    return out;
  }

  private subject(workload: WorkloadId, dir: Dir): SubjectAcc {
    const key = `${dir}|${workloadKey(workload)}`;
    let s = this.subjects.get(key);
    if (!s) {
      s = { workload, dir, peers: new Map(), evidence: new EvidenceTally() };
      this.subjects.set(key, s);
    }
    return s;
  }

  private isDns(flow: EnrichedFlow): boolean {
    const dns = this.dns;
    return (
      dns !== undefined &&
      flow.port === 53 &&
      flow.server.kind === 'pod' &&
      flow.server.pods.length > 0 &&
      flow.server.pods.every((p) => dns.pods.has(p))
    );
  }

  private addEgress(workload: WorkloadId, flow: EnrichedFlow, evidence: EvidenceTally): boolean {
    const { server } = flow;
    if (this.isDns(flow)) {
      const s = this.subject(workload, 'egress');
      (s.dns ??= new EvidenceTally()).merge(evidence);
      s.evidence.merge(evidence);
      return true;
    }
    const via = server.service ? `${server.service.namespace}/${server.service.name}:${server.service.port}` : undefined;
    if (server.kind === 'pod') {
      if (server.pods.length === 0) {
        this.noBackends.add(`${describeWorkload(workload)} -> ${via ?? server.ip}:${flow.port}/${flow.protocol}`);
        return false;
      }
      const s = this.subject(workload, 'egress');
      for (const group of this.backendWorkloads(server).values()) {
        const name = namedPortOf(group.pods, flow);
        this.addPeer(s, this.selectorPeer(workload.namespace, group.workload), flow, evidence, name ?? flow.port, via);
      }
      s.evidence.merge(evidence);
      return true;
    }
    // Nodes, cloud services and the internet: an ipBlock, and a numeric port (a named port resolves only on a pod).
    const s = this.subject(workload, 'egress');
    this.addPeer(s, this.addressPeer(server), flow, evidence, flow.port, via);
    s.evidence.merge(evidence);
    return true;
  }

  private addIngress(workload: WorkloadId, pods: readonly Pod[], flow: EnrichedFlow, evidence: EvidenceTally): boolean {
    const { client } = flow;
    const s = this.subject(workload, 'ingress');
    const peer = client.kind === 'pod' && client.pods.length === 1 ? this.selectorPeer(workload.namespace, this.index.workloadOf(client.pods[0])) : this.addressPeer(client);
    const via = flow.server.service ? `${flow.server.service.namespace}/${flow.server.service.name}:${flow.server.service.port}` : undefined;
    const name = namedPortOf(pods, flow);
    const acc = this.addPeer(s, peer, flow, evidence, name ?? flow.port, via);
    if (this.dns && flow.port === 53 && pods.every((p) => this.dns!.pods.has(p))) {
      // The DNS servers' side of the TCP fallback the clients' egress rules allow.
      const other: Protocol = flow.protocol === 'UDP' ? 'TCP' : 'UDP';
      const otherName = pods[0].ports.find((p) => p.port === 53 && p.protocol === other && p.name !== undefined)?.name;
      const portKey = `${other}|${otherName ?? 53}`;
      if (!acc.ports.has(portKey)) {
        acc.ports.set(portKey, {
          key: portKey,
          protocol: other,
          port: otherName ?? 53,
          number: 53,
          services: new Set(),
          companion: `DNS over ${other} 53 too (not observed): resolvers switch to TCP for large answers`,
        });
      }
    }
    s.evidence.merge(evidence);
    return true;
  }

  private addPeer(s: SubjectAcc, proto: Omit<PeerAcc, 'ports' | 'evidence'>, flow: EnrichedFlow, evidence: EvidenceTally, port: number | string, via: string | undefined): PeerAcc {
    let acc = s.peers.get(proto.key);
    if (!acc) {
      acc = { ...proto, ports: new Map(), evidence: new EvidenceTally() };
      s.peers.set(proto.key, acc);
    }
    acc.evidence.merge(evidence);
    const portKey = `${flow.protocol}|${port}`;
    let p = acc.ports.get(portKey);
    if (!p || p.companion) {
      p = { key: portKey, protocol: flow.protocol, port, number: flow.port, services: new Set() };
      acc.ports.set(portKey, p);
    }
    if (via) {
      p.services.add(via);
    }
    return acc;
  }

  private selectorPeer(policyNamespace: string, workload: WorkloadId): Omit<PeerAcc, 'ports' | 'evidence'> {
    const { labels } = this.index.selectorOf(workload);
    const same = workload.namespace === policyNamespace;
    const raw = workloadPeer(this.index, policyNamespace, workload);
    const selectorText = labels.size > 0 ? formatLabels(labels) : '';
    const warning =
      labels.size === 0 ? `${describeWorkload(workload)} has no stable labels: this peer allows every pod in namespace ${workload.namespace}` : undefined;
    return {
      key: `sel|${workload.namespace}|${selectorText}`,
      order: `0|${same ? 0 : 1}|${workload.namespace}|${selectorText}`,
      raw,
      label: describeWorkload(workload),
      ...(warning ? { warning } : {}),
    };
  }

  private addressPeer(peer: FlowPeer): Omit<PeerAcc, 'ports' | 'evidence'> {
    const ip = parseIp(peer.ip)!;
    const cidr = hostCidr(ip);
    const sortKey = ipSortKey(ip);
    if (peer.kind === 'node' || peer.kind === 'pod') {
      const host = peer.pods.length === 1 ? `, host-network pod ${peer.pods[0].namespace}/${peer.pods[0].name}` : '';
      return { key: `ip|${cidr}`, order: `1|${sortKey}`, raw: { ipBlock: { cidr } }, label: `node ${peer.node ?? '(unknown)'} ${ip.text}${host}` };
    }
    if (peer.kind === 'cloud-service') {
      const group = `cloud service ${peer.cloudService ?? 'unknown'}`;
      return { key: `ip|${cidr}`, order: `2|${peer.cloudService ?? ''}|${sortKey}`, raw: { ipBlock: { cidr } }, label: `${group} ${ip.text}`, address: { ip, group } };
    }
    return { key: `ip|${cidr}`, order: `3|${sortKey}`, raw: { ipBlock: { cidr } }, label: `external ${ip.text}`, address: { ip, group: 'external' } };
  }

  private noteSkipped(): void {
    if (this.failedOnly.length > 0) {
      const records = this.failedOnly.reduce((n, c) => n + c.failed.records, 0);
      const unanswered = this.failedOnly.filter((c) => c.working.records === 0);
      const examples = [...new Set(unanswered.map(({ flow: f }) => `${endpointLabel(f.client, this.index)} -> ${endpointLabel(f.server, this.index)}:${f.port}/${f.protocol}`))].sort(compare);
      this.notes.push(
        `${records} flow record(s) only failed to connect (nothing answered)${examples.length > 0 ? `; no rule allows them: ${examples.slice(0, 5).join(', ')}${examples.length > 5 ? `, and ${examples.length - 5} more` : ''}` : ', on connections that also worked at other times'}`,
      );
    }
    for (const w of [...this.hostNetworkSubjects].sort(compare)) {
      this.notes.push(`${w} uses the host network: NetworkPolicies cannot isolate it (it is its node), so no ingress policy is generated for it`);
    }
    for (const e of [...this.noBackends].sort(compare)) {
      this.notes.push(`${e}: the Service has no ready backend in the snapshot, so no rule is generated for it`);
    }
  }

  private buildWorkloadPolicies(): Draft[] {
    const byWorkload = new Map<string, SubjectAcc[]>();
    for (const s of this.subjects.values()) {
      const key = workloadKey(s.workload);
      byWorkload.set(key, [...(byWorkload.get(key) ?? []), s]);
    }
    const drafts: Draft[] = [];
    for (const key of [...byWorkload.keys()].sort(compare)) {
      const subjects = byWorkload.get(key)!.sort((a, b) => compare(a.dir, b.dir)).reverse(); // ingress before egress
      const workload = subjects[0].workload;
      const sel = this.index.selectorOf(workload);
      if (sel.labels.size === 0) {
        this.notes.push(`${describeWorkload(workload)} has no stable pod labels (only volatile ones such as pod-template-hash, or none): no policy can select it alone, so none is generated; label its pod template`);
        continue;
      }
      if (sel.overlaps.length > 0) {
        this.notes.push(
          `the selector ${formatLabels(sel.labels)} of ${describeWorkload(workload)} also selects the pods of ${sel.overlaps.map(describeWorkload).join(', ')}: policies generated for it apply to them too`,
        );
      }
      const groups = this.options.combine ? [subjects] : subjects.map((s) => [s]);
      for (const group of groups) {
        drafts.push(this.workloadDraft(workload, sel, group));
      }
    }
    return drafts;
  }

  private workloadDraft(workload: WorkloadId, sel: StableSelector, subjects: readonly SubjectAcc[]): Draft {
    const dirs = subjects.map((s) => s.dir);
    const manifest: NetworkPolicyManifest = {
      apiVersion: NETWORK_POLICY_API_VERSION,
      kind: 'NetworkPolicy',
      metadata: { name: '', namespace: workload.namespace },
      spec: { podSelector: { matchLabels: Object.fromEntries(sel.labels) }, policyTypes: dirs.map((d) => (d === 'ingress' ? 'Ingress' : 'Egress')) },
    };
    const comments: ManifestComment[] = [];
    const total = new EvidenceTally();
    for (const s of subjects) {
      const rules = this.buildRules(s);
      total.merge(s.evidence);
      manifest.spec[s.dir] = rules.map((r) => r.rule);
      rules.forEach((r, i) => comments.push(...r.comments.map((c) => ({ path: ['spec', s.dir, i, ...c.path], text: c.text }))));
    }
    const what = dirs.length === 2 ? 'Ingress and egress' : dirs[0] === 'ingress' ? 'Ingress' : 'Egress';
    const header = [
      `${what} of ${describeWorkload(workload)} (pods ${formatLabels(sel.labels)}): allows what was observed, denies the rest.`,
      `Evidence: ${formatEvidence(total.done())}.`,
    ];
    if (sel.overlaps.length > 0) {
      header.push(`Warning: the selector also matches the pods of ${sel.overlaps.map(describeWorkload).join(', ')}.`);
    }
    const suffix = this.options.combine ? '' : `-${dirs[0]}`;
    return { base: workload.name, suffix, kindSuffix: workload.kind.toLowerCase(), manifest, header, comments, subject: workload };
  }

  /** Peers with the same ports share a rule; ports merge into ranges; DNS first, then rules by their first peer. */
  private buildRules(s: SubjectAcc): BuiltRule[] {
    const peerKey = s.dir === 'ingress' ? 'from' : 'to';
    const rules: BuiltRule[] = [];
    const wantsDns = s.dns !== undefined || (this.options.dns === true && s.dir === 'egress');
    if (wantsDns && this.dns) {
      const dns = this.dns;
      const evidence = s.dns ? formatEvidence(s.dns.done()) : 'no lookup observed; allowed because DNS egress was requested';
      rules.push({
        order: '',
        rule: dnsEgressRule(dns, s.workload.namespace),
        comments: [
          { path: [], text: `DNS to the cluster DNS (${dns.namespace} pods ${formatLabels(dns.labels)}) on UDP and TCP 53; TCP is allowed even if unobserved, for truncated answers: ${evidence}` },
        ],
      });
    }
    const byPorts = new Map<string, PeerAcc[]>();
    for (const peer of s.peers.values()) {
      const key = [...peer.ports.keys()].sort(compare).join(',');
      byPorts.set(key, [...(byPorts.get(key) ?? []), peer]);
    }
    for (const group of byPorts.values()) {
      let peers = group.sort((a, b) => compare(a.order, b.order));
      if (this.options.aggregateCidrs) {
        peers = aggregate(peers);
      }
      const evidence = new EvidenceTally();
      peers.forEach((p) => evidence.merge(p.evidence));
      const comments: ManifestComment[] = [{ path: [], text: formatEvidence(evidence.done()) }];
      peers.forEach((p, i) => {
        const parts = [peers.length > 1 ? `${p.label}: ${formatEvidence(p.evidence.done())}` : p.label];
        if (p.warning) {
          parts.push(`WARNING: ${p.warning}`);
        }
        comments.push({ path: [peerKey, i], text: parts.join('\n') });
      });
      const { ports, portComments } = mergePorts(unionPorts(peers));
      portComments.forEach((text, i) => text && comments.push({ path: ['ports', i], text }));
      rules.push({ order: peers[0].order, rule: { [peerKey]: peers.map((p) => p.raw), ports }, comments });
    }
    return rules.sort((a, b) => compare(a.order, b.order));
  }

  /** Default-deny per namespace in scope, for the directions generated, unless it would deny an observed flow. */
  private buildDefaultDeny(drafts: readonly Draft[]): Draft[] {
    const namespaces = new Set<string>();
    if (this.scope.kind === 'namespace') {
      namespaces.add(this.scope.namespace);
    } else if (this.scope.kind === 'workloads') {
      this.scope.workloads.forEach((w) => namespaces.add(w.namespace));
    } else {
      drafts.forEach((d) => namespaces.add(d.manifest.metadata.namespace));
    }
    const covered = new Set<string>();
    for (const d of drafts) {
      for (const t of d.manifest.spec.policyTypes) {
        covered.add(`${t === 'Ingress' ? 'ingress' : 'egress'}|${workloadKey(d.subject!)}`);
      }
    }
    // Pods of a namespace seen as the subject of a direction whose workload has no policy for it would lose that traffic.
    const broken = new Map<string, Set<string>>();
    const check = (dir: Dir, pod: Pod) => {
      if (!namespaces.has(pod.namespace) || pod.hostNetwork) {
        return;
      }
      const w = this.index.workloadOf(pod);
      if (!covered.has(`${dir}|${workloadKey(w)}`)) {
        const key = `${dir}|${pod.namespace}`;
        broken.set(key, (broken.get(key) ?? new Set()).add(describeWorkload(w)));
      }
    };
    for (const { flow: f, working } of this.connections) {
      if (working.records === 0) {
        continue;
      }
      if (f.client.kind === 'pod' && f.client.pods.length === 1) {
        check('egress', f.client.pods[0]);
      }
      if (f.server.kind === 'pod') {
        f.server.pods.forEach((p) => check('ingress', p));
      }
    }
    const out: Draft[] = [];
    for (const ns of [...namespaces].sort(compare)) {
      const dirs = this.dirs.filter((dir) => {
        const b = broken.get(`${dir}|${ns}`);
        if (b) {
          this.notes.push(
            `no default-deny ${dir} for namespace ${ns}: it would deny observed ${dir} traffic of ${[...b].sort(compare).join(', ')}, which ${b.size === 1 ? 'has' : 'have'} no generated ${dir} policy (outside the selection, or without stable labels)`,
          );
        }
        return !b;
      });
      const groups = this.options.combine && dirs.length === 2 ? [dirs] : dirs.map((d) => [d]);
      for (const group of groups) {
        const types = group.map((d) => (d === 'ingress' ? 'Ingress' : 'Egress') as 'Ingress' | 'Egress');
        out.push({
          base: 'default-deny',
          suffix: group.length === 2 ? '' : `-${group[0]}`,
          kindSuffix: 'namespace',
          manifest: { apiVersion: NETWORK_POLICY_API_VERSION, kind: 'NetworkPolicy', metadata: { name: '', namespace: ns }, spec: { podSelector: {}, policyTypes: types } },
          header: [
            `Default deny ${group.join(' and ')} for every pod in namespace ${ns}: only what the other policies allow gets through.`,
            `Generated because every observed ${group.join(' and ')} flow of the namespace has a generated policy that allows it.`,
          ],
          comments: [],
        });
      }
    }
    return out;
  }
}

interface Draft {
  readonly base: string;
  readonly suffix: string;
  readonly kindSuffix: string;
  readonly manifest: NetworkPolicyManifest;
  readonly header: string[];
  readonly comments: ManifestComment[];
  readonly subject?: WorkloadId;
}

/** Names are `<workload>-<direction>`; a clash (same name, other kind) adds the kind; names fit 253 characters. */
function uniqueNames(drafts: Draft[]): Draft[] {
  const taken = new Map<string, number>();
  const nameOf = (d: Draft, withKind: boolean) => fitName(d.base, `${withKind ? `-${d.kindSuffix}` : ''}${d.suffix}`);
  for (const d of drafts) {
    const key = `${d.manifest.metadata.namespace}/${nameOf(d, false)}`;
    taken.set(key, (taken.get(key) ?? 0) + 1);
  }
  const used = new Set<string>();
  for (const d of drafts) {
    const ns = d.manifest.metadata.namespace;
    let name = nameOf(d, taken.get(`${ns}/${nameOf(d, false)}`)! > 1);
    for (let n = 2; used.has(`${ns}/${name}`); n++) {
      name = fitName(d.base, `-${d.kindSuffix}${d.suffix}-${n}`);
    }
    used.add(`${ns}/${name}`);
    d.manifest.metadata.name = name;
  }
  return drafts.sort((a, b) => {
    const byNs = compare(a.manifest.metadata.namespace, b.manifest.metadata.namespace);
    const aDeny = a.subject ? 1 : 0;
    const bDeny = b.subject ? 1 : 0;
    return byNs || aDeny - bDeny || compare(a.manifest.metadata.name, b.manifest.metadata.name);
  });
}

function fitName(base: string, suffix: string): string {
  const room = 253 - suffix.length;
  const trimmed = base.length > room ? base.slice(0, room).replace(/[-.]+$/, '') : base;
  return `${trimmed}${suffix}`;
}

function finish(d: Draft): GeneratedPolicy {
  const decoded = decodeNetworkPolicy(d.manifest, d.manifest.metadata.namespace);
  if (!decoded.ok) {
    // A generator bug, not bad input: every field comes from validated objects.
    throw new Error(`generated NetworkPolicy ${d.manifest.metadata.namespace}/${d.manifest.metadata.name} is invalid: ${JSON.stringify(decoded.errors)}`);
  }
  return { manifest: d.manifest, policy: decoded.value, header: d.header, comments: d.comments, ...(d.subject ? { subject: d.subject } : {}) };
}

/** The container port name of the flow's port on these pods, when every one of them names it the same. */
function namedPortOf(pods: readonly Pod[], flow: EnrichedFlow): string | undefined {
  let name: string | undefined;
  for (const pod of pods) {
    const own = pod.ports.find((p) => p.port === flow.port && p.protocol === flow.protocol)?.name;
    if (own === undefined || (name !== undefined && own !== name)) {
      return undefined;
    }
    name = own;
  }
  return name ?? (pods.length === 0 ? flow.portName : undefined);
}

/** The ports of a rule's peers (the same keys), with the Services they were dialled through merged. */
function unionPorts(peers: readonly PeerAcc[]): PortAcc[] {
  const out = new Map<string, PortAcc>();
  for (const peer of peers) {
    for (const p of peer.ports.values()) {
      const seen = out.get(p.key);
      if (!seen) {
        out.set(p.key, { ...p, services: new Set(p.services) });
      } else {
        p.services.forEach((s) => seen.services.add(s));
      }
    }
  }
  return [...out.values()];
}

/** Named ports as they are; numeric ports of one protocol merged into ranges where contiguous. */
function mergePorts(ports: readonly PortAcc[]): { ports: RawPort[]; portComments: string[] } {
  const sorted = [...ports].sort(
    (a, b) => compare(a.protocol, b.protocol) || (typeof a.port === 'number' ? 1 : 0) - (typeof b.port === 'number' ? 1 : 0) || (typeof a.port === 'string' && typeof b.port === 'string' ? compare(a.port, b.port) : a.number - b.number),
  );
  const out: RawPort[] = [];
  const comments: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i];
    const notes: string[] = [];
    if (typeof p.port === 'string') {
      notes.push(`named port: ${p.number}/${p.protocol}`);
    }
    if (p.services.size > 0) {
      notes.push(`dialled through Service ${[...p.services].sort(compare).join(', ')} (Service port; the rule uses the pod's port)`);
    }
    if (p.companion) {
      notes.push(p.companion);
    }
    let j = i;
    if (typeof p.port === 'number' && notes.length === 0) {
      while (j + 1 < sorted.length) {
        const q = sorted[j + 1];
        if (typeof q.port !== 'number' || q.protocol !== p.protocol || q.number !== sorted[j].number + 1 || q.services.size > 0 || q.companion) {
          break;
        }
        j++;
      }
    }
    if (j > i) {
      out.push({ protocol: p.protocol, port: p.number, endPort: sorted[j].number });
      comments.push(`${j - i + 1} observed ports, every one of ${p.number}-${sorted[j].number}`);
      i = j;
    } else {
      out.push({ protocol: p.protocol, port: p.port });
      comments.push(notes.join('; '));
    }
  }
  return { ports: out, portComments: comments };
}

/** --aggregate-cidrs: addresses of one kind sharing a /24 (/64) become the smallest CIDR covering them. */
function aggregate(peers: readonly PeerAcc[]): PeerAcc[] {
  const groups = new Map<string, PeerAcc[]>();
  const out: PeerAcc[] = [];
  for (const p of peers) {
    if (!p.address) {
      out.push(p);
      continue;
    }
    const { ip, group } = p.address;
    const key = `${group}|${networkOf(ip, ip.family === 4 ? 24 : 64).text}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  for (const members of groups.values()) {
    if (members.length === 1) {
      out.push(members[0]);
      continue;
    }
    const ips = members.map((m) => m.address!.ip);
    const prefix = commonPrefix(ips);
    const network = networkOf(ips[0], prefix);
    const cidr = parseCidr(`${network.text}/${prefix}`);
    if (!cidr.ok) {
      out.push(...members);
      continue;
    }
    const evidence = new EvidenceTally();
    members.forEach((m) => evidence.merge(m.evidence));
    const size = ips[0].family === 4 ? 2 ** (32 - prefix) : undefined;
    out.push({
      key: `ip|${cidr.cidr.text}`,
      order: members[0].order,
      raw: { ipBlock: { cidr: cidr.cidr.text } },
      label: `${members[0].address!.group} ${cidr.cidr.text}, aggregated from the ${members.length} observed addresses ${ips.map((i) => i.text).join(', ')}${size !== undefined ? ` (also allows ${size - members.length} unobserved addresses)` : ''}`,
      ports: members[0].ports,
      evidence,
    });
  }
  return out.sort((a, b) => compare(a.order, b.order));
}

function commonPrefix(ips: readonly IpAddress[]): number {
  const bits = ips[0].bytes.length * 8;
  for (let prefix = 0; prefix < bits; prefix++) {
    const byte = prefix >> 3;
    const mask = 0x80 >> (prefix & 7);
    const bit = ips[0].bytes[byte] & mask;
    if (ips.some((ip) => (ip.bytes[byte] & mask) !== bit)) {
      return prefix;
    }
  }
  return bits;
}

function stable(labels: Labels): Map<string, string> {
  return new Map([...labels].filter(([k]) => !VOLATILE_LABELS.has(k)));
}

function commonLabels(all: readonly Labels[]): Map<string, string> {
  if (all.length === 0) {
    return new Map();
  }
  return new Map([...stable(all[0])].filter(([k, v]) => all.every((l) => l.get(k) === v)));
}

function sortedLabels(labels: Labels): ReadonlyMap<string, string> {
  return new Map([...labels].sort(([a], [b]) => compare(a, b)));
}

function formatLabels(labels: ReadonlyMap<string, string>): string {
  return formatSelector({ matchLabels: labels, matchExpressions: [] });
}

function endpointLabel(peer: FlowPeer, index: WorkloadIndex): string {
  if (peer.service) {
    return `Service ${peer.service.namespace}/${peer.service.name}`;
  }
  if (peer.kind === 'pod' && peer.pods.length > 0) {
    return describeWorkload(peer.workload ?? index.workloadOf(peer.pods[0]));
  }
  return peer.kind === 'node' ? `node ${peer.node ?? peer.ip}` : peer.ip;
}

function ipSortKey(ip: IpAddress): string {
  return `${ip.family}${Array.from(ip.bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export function formatEvidence(e: Evidence): string {
  const parts = [
    `${e.records} flow record${e.records === 1 ? '' : 's'}`,
    formatBytes(e.bytes),
    `${e.connections} connection${e.connections === 1 ? '' : 's'}`,
  ];
  if (e.failedConnections > 0) {
    parts.push(`${e.failedConnections} failed`);
  }
  parts.push(`last seen ${formatTime(e.lastSeenMs)}`);
  return parts.join(', ');
}

export function formatBytes(n: number): string {
  if (n < 1024) {
    return `${n} B`;
  }
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

export function formatTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : 'never';
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
