/**
 * Evaluates connections under a set of NetworkPolicies with the complete networking.k8s.io/v1
 * semantics, and explains every verdict.
 *
 * A connection is allowed when the egress side of the source AND the ingress side of the destination
 * allow it. A pod is isolated in a direction when some policy in its namespace selects it and has that
 * policyType; an isolated pod accepts only what at least one rule of those policies allows (policies are
 * additive). Rules match when one of their peers matches the other end (or they list no peers) and one
 * of their ports matches (or they list none).
 *
 * Where the API leaves behaviour to the CNI, FlowLens follows the API reference and upstream e2e tests
 * and says so in the explanation:
 * - ipBlock matches pod IPs as well as addresses outside the cluster.
 * - Host-network pods are their node: selectors never match them and policies never isolate them; they
 *   are matched by ipBlock on the node address.
 * - Traffic from a pod's own node (its node's addresses, host-network pods on it) is always allowed in:
 *   "pods cannot block access from their resident node".
 *
 * Indexing: per pod, the policies that isolate it in each direction; per selector peer, the member
 * pods as a byte array computed on first use and shared by identical selectors, in every engine of the
 * same cluster snapshot (which also share the index of pods, nodes and Services by name and address).
 */
import { cidrContains, parseIp, type IpAddress, type IpFamily } from '../net/ip';
import type { Cluster } from '../kube/cluster';
import type { ContainerPort, Pod, Protocol } from '../kube/objects';
import { EVERYTHING, formatSelector, selectorMatches } from '../kube/selector';
import { policyId, type Direction, type IpBlockPeer, type NetworkPolicy, type PolicyPeer, type PolicyRule, type SelectorPeer } from './network-policy';

/** "namespace/pod" or an IP address. */
export type EndpointRef = string | { readonly ip: string };

export interface Probe {
  readonly from: EndpointRef;
  readonly to: EndpointRef;
  /** A number, or a named port of the destination pod. */
  readonly port: number | string;
  readonly protocol?: Protocol;
}

/** A probe that names something the cluster does not have, or is self-contradictory. */
export class ProbeError extends Error {}

export interface IndexedPod {
  readonly index: number;
  readonly pod: Pod;
  readonly id: string;
  readonly namedPorts: ReadonlyMap<string, ContainerPort>;
}

export type EndpointKind = 'pod' | 'node' | 'external';

export interface ResolvedEndpoint {
  readonly kind: EndpointKind;
  readonly label: string;
  /** The pod, for kind "pod" (never a host-network pod). */
  readonly entry?: IndexedPod;
  /** The node, for kind "node": a node address or a host-network pod. */
  readonly nodeName?: string;
  /** The address used for ipBlock matching; undefined for a pod without an IP. */
  readonly ip?: IpAddress;
}

export interface PreparedProbe {
  readonly src: ResolvedEndpoint;
  readonly dst: ResolvedEndpoint;
  readonly port: number;
  readonly protocol: Protocol;
  readonly notes: readonly string[];
}

export interface RuleMatch {
  readonly policy: string;
  /** "ingress[0]" */
  readonly rule: string;
  /** "from[1]", or undefined when the rule lists no peers (every peer). */
  readonly peer?: string;
  /** "ports[0]", or undefined when the rule lists no ports (every port). */
  readonly port?: string;
}

export interface IsolatingPolicy {
  readonly policy: string;
  readonly policyTypes: readonly ('Ingress' | 'Egress')[];
  /** policyTypes was omitted and derived by the API server's defaulting rule. */
  readonly defaulted: boolean;
}

export interface DirectionExplanation {
  readonly allowed: boolean;
  readonly isolated: boolean;
  readonly isolatedBy: readonly IsolatingPolicy[];
  readonly allowedBy?: RuleMatch;
  readonly reason: string;
}

export interface Explanation {
  readonly summary: string;
  readonly from: { readonly kind: EndpointKind; readonly name: string; readonly ip?: string };
  readonly to: { readonly kind: EndpointKind; readonly name: string; readonly ip?: string };
  readonly egress: DirectionExplanation;
  readonly ingress: DirectionExplanation;
  readonly notes: readonly string[];
}

export interface Verdict {
  readonly allowed: boolean;
  readonly explanation: Explanation;
}

interface CompiledPeer {
  readonly peer: PolicyPeer;
  /** Member pods by pod index (selector peers only), filled on first use. */
  members?: Uint8Array;
}

interface CompiledRule {
  readonly peers: readonly CompiledPeer[];
  readonly rule: PolicyRule;
}

interface CompiledPolicy {
  readonly policy: NetworkPolicy;
  readonly id: string;
  readonly ingress: readonly CompiledRule[];
  readonly egress: readonly CompiledRule[];
}

interface InternalMatch {
  readonly policy: number;
  readonly rule: number;
  readonly peer: number;
  readonly port: number;
}

const ANY = -1;
const NONE = -2;
const NO_POLICIES: readonly number[] = [];

/**
 * What the engine needs of a cluster alone. Shared by every engine of one snapshot (clusters are immutable:
 * a change is a new snapshot), so that an engine per policy set costs only its policies — the editor builds
 * one per edit — and selector members are computed once per snapshot.
 */
interface ClusterIndex {
  readonly pods: readonly IndexedPod[];
  readonly podsByNamespace: ReadonlyMap<string, readonly IndexedPod[]>;
  readonly podsById: ReadonlyMap<string, Pod>;
  readonly entryByPod: ReadonlyMap<Pod, IndexedPod>;
  readonly podsByIp: ReadonlyMap<string, readonly Pod[]>;
  readonly nodeByIp: ReadonlyMap<string, string>;
  readonly serviceByIp: ReadonlyMap<string, string>;
  /** Selector peer members by the peer's canonical text, filled on first use. */
  readonly members: Map<string, Uint8Array>;
}

const clusterIndexes = new WeakMap<Cluster, ClusterIndex>();

/** The snapshot's pods by "namespace/name" and by address (host-network ones included), from the index its engines share. */
export function podLookups(cluster: Cluster): Pick<ClusterIndex, 'podsById' | 'podsByIp'> {
  return clusterIndex(cluster);
}

function clusterIndex(cluster: Cluster): ClusterIndex {
  let index = clusterIndexes.get(cluster);
  if (index) {
    return index;
  }
  const pods: IndexedPod[] = [];
  const podsByNamespace = new Map<string, IndexedPod[]>();
  const podsById = new Map<string, Pod>();
  const entryByPod = new Map<Pod, IndexedPod>();
  const podsByIp = new Map<string, Pod[]>();
  const nodeByIp = new Map<string, string>();
  const serviceByIp = new Map<string, string>();
  for (const pod of cluster.pods) {
    const id = `${pod.namespace}/${pod.name}`;
    podsById.set(id, pod);
    for (const ip of pod.ips) {
      const list = podsByIp.get(ip.text) ?? [];
      list.push(pod);
      podsByIp.set(ip.text, list);
    }
    if (pod.hostNetwork) {
      continue;
    }
    const entry: IndexedPod = {
      index: pods.length,
      pod,
      id,
      namedPorts: new Map(pod.ports.filter((p) => p.name !== undefined).map((p) => [p.name as string, p])),
    };
    pods.push(entry);
    entryByPod.set(pod, entry);
    const inNs = podsByNamespace.get(pod.namespace) ?? [];
    inNs.push(entry);
    podsByNamespace.set(pod.namespace, inNs);
  }
  for (const node of cluster.nodes.values()) {
    for (const address of node.addresses) {
      nodeByIp.set(address.ip.text, node.name);
    }
  }
  for (const svc of cluster.services) {
    for (const ip of svc.clusterIPs) {
      serviceByIp.set(ip.text, `${svc.namespace}/${svc.name}`);
    }
  }
  index = { pods, podsByNamespace, podsById, entryByPod, podsByIp, nodeByIp, serviceByIp, members: new Map() };
  clusterIndexes.set(cluster, index);
  return index;
}

export class PolicyEngine {
  private readonly index: ClusterIndex;
  private readonly compiled: CompiledPolicy[];
  private readonly ingressOf: (readonly number[])[];
  private readonly egressOf: (readonly number[])[];

  constructor(
    private readonly cluster: Cluster,
    policies: readonly NetworkPolicy[] = cluster.policies,
  ) {
    this.index = clusterIndex(cluster);
    this.compiled = policies.map((policy) => ({
      policy,
      id: policyId(policy),
      ingress: policy.ingress.map(compileRule),
      egress: policy.egress.map(compileRule),
    }));
    // Sparse: most pods are isolated by no policy where few are in force, and share one empty list.
    const ingressOf: number[][] = [];
    const egressOf: number[][] = [];
    this.compiled.forEach((cp, i) => {
      const { policy } = cp;
      for (const entry of this.index.podsByNamespace.get(policy.namespace) ?? []) {
        if (selectorMatches(policy.podSelector, entry.pod.labels)) {
          if (policy.isolates.ingress) {
            (ingressOf[entry.index] ??= []).push(i);
          }
          if (policy.isolates.egress) {
            (egressOf[entry.index] ??= []).push(i);
          }
        }
      }
    });
    this.ingressOf = this.index.pods.map((e) => ingressOf[e.index] ?? NO_POLICIES);
    this.egressOf = this.index.pods.map((e) => egressOf[e.index] ?? NO_POLICIES);
  }

  /** Resolves endpoints and named ports once, so that `allows` is cheap. Throws ProbeError. */
  prepare(probe: Probe): PreparedProbe {
    const notes: string[] = [];
    const src = this.locate(probe.from, 'from', notes);
    const dst = this.locate(probe.to, 'to', notes);
    if (src.fixedIp && dst.fixedIp && src.fixedIp.family !== dst.fixedIp.family) {
      throw new ProbeError(`from ${src.fixedIp.text} and to ${dst.fixedIp.text} are of different IP families`);
    }
    // Pods may be dual-stack: evaluate in the family an explicit address fixes, else the destination's first.
    const family: IpFamily = dst.fixedIp?.family ?? src.fixedIp?.family ?? dst.ips[0]?.family ?? src.ips[0]?.family ?? 4;
    const srcEndpoint = withAddress(src, family, notes);
    const dstEndpoint = withAddress(dst, family, notes);
    const protocol = probe.protocol ?? 'TCP';
    let port: number;
    if (typeof probe.port === 'string') {
      const named = dstEndpoint.entry?.namedPorts.get(probe.port);
      if (!named || named.protocol !== protocol) {
        throw new ProbeError(`port "${probe.port}" is not a named ${protocol} port of ${dstEndpoint.label}`);
      }
      port = named.port;
      notes.push(`named port "${probe.port}" of ${dstEndpoint.label} is ${port}/${protocol}`);
    } else {
      port = probe.port;
    }
    return { src: srcEndpoint, dst: dstEndpoint, port, protocol, notes };
  }

  /** The verdict alone, for bulk evaluation. */
  allows(p: PreparedProbe): boolean {
    const src = p.src.entry;
    if (src !== undefined) {
      const policies = this.egressOf[src.index];
      if (policies.length > 0 && this.firstAllowing(policies, 'egress', p.dst, p.dst, p.port, p.protocol) === undefined) {
        return false;
      }
    }
    const dst = p.dst.entry;
    if (dst !== undefined && !fromOwnNode(p.src, dst)) {
      const policies = this.ingressOf[dst.index];
      if (policies.length > 0 && this.firstAllowing(policies, 'ingress', p.src, p.dst, p.port, p.protocol) === undefined) {
        return false;
      }
    }
    return true;
  }

  /** The verdict with its explanation. */
  evaluate(p: PreparedProbe): Verdict {
    const notes = [...p.notes];
    const what = `${p.port}/${p.protocol}`;
    const egress = this.explainDirection('egress', p.src, p.dst, p, notes);
    let ingress: DirectionExplanation;
    if (p.dst.entry && fromOwnNode(p.src, p.dst.entry)) {
      ingress = {
        allowed: true,
        isolated: this.ingressOf[p.dst.entry.index].length > 0,
        isolatedBy: this.isolating(this.ingressOf[p.dst.entry.index]),
        reason: `${p.src.label} is the node of ${p.dst.label}; traffic from a pod's own node is always allowed in (pods cannot block their resident node)`,
      };
    } else {
      ingress = this.explainDirection('ingress', p.dst, p.src, p, notes);
    }
    const allowed = egress.allowed && ingress.allowed;
    const summary = allowed
      ? `allow: ${p.src.label} -> ${p.dst.label} on ${what}: ${egress.reason}; ${ingress.reason}`
      : `deny: ${p.src.label} -> ${p.dst.label} on ${what}: ${[egress, ingress].filter((d) => !d.allowed).map((d) => d.reason).join('; ')}`;
    return {
      allowed,
      explanation: { summary, from: describe(p.src), to: describe(p.dst), egress, ingress, notes },
    };
  }

  /** Pods a policy selects (its targets), as "namespace/name". */
  selectedPods(policy: NetworkPolicy): string[] {
    return (this.index.podsByNamespace.get(policy.namespace) ?? []).filter((e) => selectorMatches(policy.podSelector, e.pod.labels)).map((e) => e.id);
  }

  private explainDirection(dir: Direction, subject: ResolvedEndpoint, peer: ResolvedEndpoint, p: PreparedProbe, notes: string[]): DirectionExplanation {
    const what = `${p.port}/${p.protocol}`;
    if (!subject.entry) {
      const why = subject.kind === 'node' ? 'is a node or a host-network pod' : 'is outside the cluster';
      return { allowed: true, isolated: false, isolatedBy: [], reason: `${dir} not restricted: ${subject.label} ${why}, and NetworkPolicies restrict only pods` };
    }
    const policies = (dir === 'ingress' ? this.ingressOf : this.egressOf)[subject.entry.index];
    if (policies.length === 0) {
      return { allowed: true, isolated: false, isolatedBy: [], reason: `${subject.label} is not isolated for ${dir} (no policy selects it with policyType ${dir === 'ingress' ? 'Ingress' : 'Egress'})` };
    }
    const isolatedBy = this.isolating(policies);
    const match = this.firstAllowing(policies, dir, peer, p.dst, p.port, p.protocol);
    if (!match) {
      return {
        allowed: false,
        isolated: true,
        isolatedBy,
        reason: `${subject.label} is isolated for ${dir} by ${isolatedBy.map((i) => i.policy).join(', ')} and no ${dir} rule allows ${dir === 'ingress' ? 'from' : 'to'} ${peer.label} on ${what}`,
      };
    }
    const cp = this.compiled[match.policy];
    const rules = dir === 'ingress' ? cp.ingress : cp.egress;
    const rule = rules[match.rule];
    const allowedBy: RuleMatch = {
      policy: cp.id,
      rule: `${dir}[${match.rule}]`,
      peer: match.peer === ANY ? undefined : `${dir === 'ingress' ? 'from' : 'to'}[${match.peer}]`,
      port: match.port === ANY ? undefined : `ports[${match.port}]`,
    };
    const matchedPeer = match.peer === ANY ? undefined : rule.peers[match.peer].peer;
    if (matchedPeer?.kind === 'ipBlock' && peer.entry) {
      notes.push(`ipBlock ${matchedPeer.cidr.text} matched the pod IP of ${peer.label}: FlowLens follows the API reference and the upstream e2e tests, where ipBlock applies to pod IPs; some CNIs (Cilium among them) ignore ipBlock for pods inside the cluster`);
    }
    const peerText = matchedPeer ? describePeer(matchedPeer, cp.policy.namespace) : 'any peer';
    const portText = match.port === ANY ? 'any port' : describePort(rule.rule.ports[match.port]);
    return {
      allowed: true,
      isolated: true,
      isolatedBy,
      allowedBy,
      reason: `${dir} allowed by ${cp.id} ${allowedBy.rule} (${peerText}; ${portText})`,
    };
  }

  private isolating(policies: readonly number[]): IsolatingPolicy[] {
    return policies.map((i) => {
      const { policy, id } = this.compiled[i];
      const policyTypes: ('Ingress' | 'Egress')[] = [];
      if (policy.isolates.ingress) {
        policyTypes.push('Ingress');
      }
      if (policy.isolates.egress) {
        policyTypes.push('Egress');
      }
      return { policy: id, policyTypes, defaulted: policy.policyTypesDefaulted };
    });
  }

  private firstAllowing(
    policies: readonly number[],
    dir: Direction,
    peer: ResolvedEndpoint,
    dst: ResolvedEndpoint,
    port: number,
    protocol: Protocol,
  ): InternalMatch | undefined {
    for (let i = 0; i < policies.length; i++) {
      const cp = this.compiled[policies[i]];
      const rules = dir === 'ingress' ? cp.ingress : cp.egress;
      for (let r = 0; r < rules.length; r++) {
        const portMatch = matchPort(rules[r].rule, dst, port, protocol);
        if (portMatch === NONE) {
          continue;
        }
        const peerMatch = this.matchPeer(rules[r], cp.policy, peer);
        if (peerMatch !== NONE) {
          return { policy: policies[i], rule: r, peer: peerMatch, port: portMatch };
        }
      }
    }
    return undefined;
  }

  private matchPeer(rule: CompiledRule, policy: NetworkPolicy, ep: ResolvedEndpoint): number {
    const peers = rule.peers;
    if (peers.length === 0) {
      return ANY;
    }
    for (let i = 0; i < peers.length; i++) {
      const cpeer = peers[i];
      const peer = cpeer.peer;
      if (peer.kind === 'ipBlock') {
        if (ep.ip !== undefined && inIpBlock(peer, ep.ip)) {
          return i;
        }
      } else if (ep.entry !== undefined) {
        const members = cpeer.members ?? (cpeer.members = this.members(peer, policy.namespace));
        if (members[ep.entry.index] === 1) {
          return i;
        }
      }
    }
    return NONE;
  }

  /** Pods matched by a selector peer: podSelector within the policy's namespace or within the namespaces namespaceSelector matches. */
  private members(peer: SelectorPeer, policyNamespace: string): Uint8Array {
    const podSelector = peer.podSelector ?? EVERYTHING;
    const key = `${peer.namespaceSelector ? `nsSel ${formatSelector(peer.namespaceSelector)}` : `ns ${policyNamespace}`}|${formatSelector(podSelector)}`;
    const cached = this.index.members.get(key);
    if (cached) {
      return cached;
    }
    const members = new Uint8Array(this.index.pods.length);
    const namespaces = peer.namespaceSelector
      ? [...this.cluster.namespaces.values()].filter((ns) => selectorMatches(peer.namespaceSelector!, ns.labels)).map((ns) => ns.name)
      : [policyNamespace];
    for (const ns of namespaces) {
      for (const entry of this.index.podsByNamespace.get(ns) ?? []) {
        if (selectorMatches(podSelector, entry.pod.labels)) {
          members[entry.index] = 1;
        }
      }
    }
    this.index.members.set(key, members);
    return members;
  }

  private locate(ref: EndpointRef, role: 'from' | 'to', notes: string[]): Located {
    if (typeof ref === 'string') {
      const slash = ref.indexOf('/');
      if (slash <= 0 || slash === ref.length - 1 || ref.indexOf('/', slash + 1) >= 0) {
        throw new ProbeError(`${role}: "${ref}" must be "namespace/pod" or {"ip": "..."}`);
      }
      const pod = this.index.podsById.get(ref);
      if (!pod) {
        throw new ProbeError(`${role}: pod ${ref} is not in the cluster input`);
      }
      if (pod.phase === 'Succeeded' || pod.phase === 'Failed') {
        notes.push(`${ref} has terminated (phase ${pod.phase}); evaluated as if it were running`);
      }
      return this.locatePod(pod, notes);
    }
    const ip = typeof ref?.ip === 'string' ? parseIp(ref.ip) : undefined;
    if (!ip) {
      throw new ProbeError(`${role}: "${typeof ref?.ip === 'string' ? ref.ip : JSON.stringify(ref)}" is not a valid IP address`);
    }
    const owners = (this.index.podsByIp.get(ip.text) ?? []).filter((p) => !p.hostNetwork);
    const live = owners.filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed');
    const pod = (live.length > 0 ? live : owners)[0];
    if (pod) {
      if (live.length > 1) {
        notes.push(`${ip.text} belongs to several running pods (${live.map((p) => `${p.namespace}/${p.name}`).join(', ')}); evaluated as ${pod.namespace}/${pod.name}`);
      } else {
        notes.push(`${ip.text} is the IP of pod ${pod.namespace}/${pod.name}; evaluated as that pod`);
      }
      return { ...this.locatePod(pod, notes), fixedIp: ip };
    }
    const node = this.index.nodeByIp.get(ip.text) ?? (this.index.podsByIp.get(ip.text) ?? []).find((p) => p.hostNetwork)?.nodeName;
    if (node !== undefined) {
      return { kind: 'node', label: `node ${node} (${ip.text})`, nodeName: node, ips: [ip], fixedIp: ip };
    }
    const service = this.index.serviceByIp.get(ip.text);
    if (service) {
      notes.push(`${ip.text} is the ClusterIP of Service ${service}; policies see the backend pod after the Service's address translation, so probe a backend pod to evaluate it`);
    }
    return { kind: 'external', label: ip.text, ips: [ip], fixedIp: ip };
  }

  private locatePod(pod: Pod, notes: string[]): Located {
    const id = `${pod.namespace}/${pod.name}`;
    if (pod.hostNetwork) {
      notes.push(
        `${id} uses the host network: it is treated as its node${pod.nodeName ? ` ${pod.nodeName}` : ''} (selectors do not match it, policies do not isolate it), the behaviour of most CNIs; the API leaves it undefined`,
      );
      return { kind: 'node', label: `${id} (host network)`, nodeName: pod.nodeName, ips: pod.ips };
    }
    const entry = this.index.entryByPod.get(pod);
    return { kind: 'pod', label: id, entry, nodeName: pod.nodeName, ips: pod.ips };
  }
}

interface Located extends Omit<ResolvedEndpoint, 'ip'> {
  readonly ips: readonly IpAddress[];
  readonly fixedIp?: IpAddress;
}

function withAddress(located: Located, family: IpFamily, notes: string[]): ResolvedEndpoint {
  const ip = located.fixedIp ?? located.ips.find((a) => a.family === family);
  if (!ip && located.entry) {
    notes.push(`${located.label} has no IPv${family} address; ipBlock rules cannot match it`);
  }
  return { kind: located.kind, label: located.label, entry: located.entry, nodeName: located.nodeName, ip };
}

function compileRule(rule: PolicyRule): CompiledRule {
  return { rule, peers: rule.peers.map((peer) => ({ peer })) };
}

function fromOwnNode(src: ResolvedEndpoint, dst: IndexedPod): boolean {
  return src.kind === 'node' && src.nodeName !== undefined && src.nodeName === dst.pod.nodeName;
}

function inIpBlock(block: IpBlockPeer, ip: IpAddress): boolean {
  if (!cidrContains(block.cidr, ip)) {
    return false;
  }
  for (const except of block.except) {
    if (cidrContains(except, ip)) {
      return false;
    }
  }
  return true;
}

/** Named ports resolve on the destination pod: name and protocol must both match one of its container ports. */
function matchPort(rule: PolicyRule, dst: ResolvedEndpoint, port: number, protocol: Protocol): number {
  const ports = rule.ports;
  if (ports.length === 0) {
    return ANY;
  }
  for (let i = 0; i < ports.length; i++) {
    const p = ports[i];
    if (p.protocol !== protocol) {
      continue;
    }
    if (p.port === undefined) {
      return i;
    }
    if (typeof p.port === 'number') {
      if (port >= p.port && port <= (p.endPort ?? p.port)) {
        return i;
      }
    } else if (dst.entry !== undefined) {
      const named = dst.entry.namedPorts.get(p.port);
      if (named !== undefined && named.protocol === protocol && named.port === port) {
        return i;
      }
    }
  }
  return NONE;
}

function describe(ep: ResolvedEndpoint): Explanation['from'] {
  return { kind: ep.kind, name: ep.label, ...(ep.ip ? { ip: ep.ip.text } : {}) };
}

function describePeer(peer: PolicyPeer, policyNamespace: string): string {
  if (peer.kind === 'ipBlock') {
    return `ipBlock ${peer.cidr.text}${peer.except.length ? ` except ${peer.except.map((c) => c.text).join(', ')}` : ''}`;
  }
  const pods = peer.podSelector ? `pods ${formatSelector(peer.podSelector)}` : 'all pods';
  const namespaces = peer.namespaceSelector ? `namespaces ${formatSelector(peer.namespaceSelector)}` : `namespace ${policyNamespace}`;
  return `${pods} in ${namespaces}`;
}

function describePort(p: PolicyRule['ports'][number]): string {
  if (p.port === undefined) {
    return `every ${p.protocol} port`;
  }
  if (typeof p.port === 'string') {
    return `named port ${p.port}/${p.protocol}`;
  }
  return p.endPort !== undefined ? `ports ${p.port}-${p.endPort}/${p.protocol}` : `port ${p.port}/${p.protocol}`;
}
