/**
 * Diagnostics, quick fixes and hovers for the NetworkPolicies of a YAML text open in an editor, on plain
 * text offsets (the extension maps them to editor ranges).
 *
 * Without a cluster: the YAML and validation errors, at the offending field. With a cluster and the
 * observed flows of a window, judged with the document's valid policies as candidates (one with the name of
 * a policy in force replaces it, which is how editing an applied policy works):
 * - selectors that match nothing (the policy's own podSelector, and rule peers);
 * - working flows the candidates would newly deny (attempts that never worked are not warnings), one
 *   warning per flow group on the policy that isolates an end without allowing the flow, with a fix adding
 *   a rule for exactly that peer and port;
 * - rules no observed flow uses, with a fix removing them;
 * - egress isolation that leaves the selected pods without DNS, with a fix adding the DNS rule.
 * Fixes are small insertions and deletions: the rest of the text (layout, comments) stays as written.
 */
import { withPolicies, type Cluster } from '../kube/cluster';
import type { Pod } from '../kube/objects';
import { formatSelector, selectorMatches, type LabelSelector } from '../kube/selector';
import type { EnrichedFlow } from '../flows/enriched-flow';
import { parseIp } from '../net/ip';
import { podLookups, PolicyEngine, ProbeError, type EndpointRef } from './engine';
import {
  compare,
  describeWorkload,
  dnsEgressRule,
  findClusterDns,
  hostCidr,
  WorkloadIndex,
  workloadKey,
  workloadPeer,
  type ClusterDns,
  type RawPeer,
  type RawPort,
  type RawRule,
} from './generate';
import { policyId, type NetworkPolicy, type SelectorPeer } from './network-policy';
import type { PolicyDocument, PolicyObject, TextEdit, TextRange } from './policy-document';
import { whatIf, type FlowGroup } from './what-if';
import { flowText, shortEvidenceText } from './what-if-report';

export const CODE_YAML_SYNTAX = 'flowlens.yamlSyntax';
export const CODE_INVALID_POLICY = 'flowlens.invalidPolicy';
export const CODE_DUPLICATE_POLICY = 'flowlens.duplicatePolicy';
export const CODE_SELECTS_NO_POD = 'flowlens.selectsNoPod';
export const CODE_PEER_MATCHES_NOTHING = 'flowlens.peerMatchesNothing';
export const CODE_BLOCKS_OBSERVED_FLOW = 'flowlens.blocksObservedFlow';
export const CODE_UNUSED_RULE = 'flowlens.unusedRule';
export const CODE_MISSING_DNS_EGRESS = 'flowlens.missingDnsEgress';

export type Severity = 'error' | 'warning' | 'information';

export interface QuickFix {
  readonly title: string;
  /** Non-overlapping edits of the original text, sorted by offset. */
  readonly edits: readonly TextEdit[];
}

export interface PolicyDiagnostic extends TextRange {
  readonly severity: Severity;
  readonly code: string;
  readonly message: string;
  readonly fixes?: readonly QuickFix[];
}

export interface DiagnosticContext {
  readonly cluster: Cluster;
  readonly flows: readonly EnrichedFlow[];
  /** How messages name the flows' window: "the last 15m of live flows". */
  readonly windowLabel: string;
  /** Only flows overlapping [fromMs, toMs] count. */
  readonly window?: { readonly fromMs?: number; readonly toMs?: number };
}

/**
 * Diagnostics sorted by offset. Without `context`, only the YAML and validation errors. None for a text
 * without a NetworkPolicy: YAML files of other kinds are not FlowLens's to judge.
 */
export function diagnosePolicyDocument(doc: PolicyDocument, context?: DiagnosticContext): PolicyDiagnostic[] {
  if (!doc.containsNetworkPolicy) {
    return [];
  }
  const out: PolicyDiagnostic[] = doc.errors.map((e) => ({
    start: e.start,
    end: e.end,
    severity: 'error',
    code: e.kind === 'syntax' ? CODE_YAML_SYNTAX : CODE_INVALID_POLICY,
    message: e.message,
  }));
  // kubectl applies the documents in order, so of two definitions of one policy the last is what stays.
  const latest = new Map<string, PolicyObject>();
  for (const object of doc.policies) {
    if (object.policy) {
      const id = policyId(object.policy);
      const earlier = latest.get(id);
      if (earlier) {
        const { start, end } = earlier.rangeOf(['metadata', 'name']);
        out.push({
          start,
          end,
          severity: 'warning',
          code: CODE_DUPLICATE_POLICY,
          message: `NetworkPolicy ${id} is defined again further down: applying this file keeps only the last definition`,
        });
      }
      latest.set(id, object);
    }
  }
  if (context) {
    new Diagnoser(context, [...latest.values()], out).run();
  }
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}

/** A valid policy of the document with its object. */
interface Candidate {
  readonly object: PolicyObject;
  readonly policy: NetworkPolicy;
}

/** A flow group denied at one end by a policy of the document. */
interface Denial {
  readonly candidate: Candidate;
  readonly dir: 'ingress' | 'egress';
  /** The server pods denied (egress: the peers to allow); empty for a server that is not a pod. */
  readonly backends: Pod[];
}

/** Pods cut off from the cluster DNS by a candidate, and the observed DNS traffic of theirs it blocks. */
interface DnsWarning {
  readonly pods: readonly Pod[];
  records: number;
  connections: number;
  bytes: number;
}

const ENDED = new Set(['Succeeded', 'Failed']);

/** Pods a selector can match (not host-network ones, which are their node), finished ones aside: they carry no traffic. */
function selectable(pod: Pod): boolean {
  return !pod.hostNetwork && !ENDED.has(pod.phase ?? '');
}

/**
 * What the diagnostics need of a cluster snapshot alone, kept across calls: the extension diagnoses every
 * edit against the same snapshot (snapshots are immutable: a change is a new one).
 */
interface ClusterFacts {
  /** Selectable pods by namespace. */
  readonly live: ReadonlyMap<string, readonly Pod[]>;
  readonly dns: ClusterDns | undefined;
}

const clusterFacts = new WeakMap<Cluster, ClusterFacts>();

function factsOf(cluster: Cluster): ClusterFacts {
  let facts = clusterFacts.get(cluster);
  if (!facts) {
    const live = new Map<string, Pod[]>();
    for (const pod of cluster.pods) {
      if (selectable(pod)) {
        const list = live.get(pod.namespace);
        if (list) {
          list.push(pod);
        } else {
          live.set(pod.namespace, [pod]);
        }
      }
    }
    facts = { live, dns: findClusterDns(cluster) };
    clusterFacts.set(cluster, facts);
  }
  return facts;
}

/** The workload index of a flows array and its cluster, kept across calls like the flows (its selectors are worked out on demand). */
const workloadIndexes = new WeakMap<readonly EnrichedFlow[], { readonly cluster: Cluster; readonly index: WorkloadIndex }>();

class Diagnoser {
  private readonly cluster: Cluster;
  private readonly candidates: Candidate[];
  private readonly byId: Map<string, Candidate>;
  private readonly facts: ClusterFacts;
  private readonly dns: ClusterDns | undefined;
  private engineCache?: PolicyEngine;

  constructor(
    private readonly context: DiagnosticContext,
    objects: readonly PolicyObject[],
    private readonly out: PolicyDiagnostic[],
  ) {
    this.cluster = context.cluster;
    this.candidates = objects.map((object) => ({ object, policy: object.policy! }));
    this.byId = new Map(this.candidates.map((c) => [policyId(c.policy), c]));
    this.facts = factsOf(this.cluster);
    this.dns = this.facts.dns;
  }

  run(): void {
    if (this.candidates.length === 0) {
      return;
    }
    for (const c of this.candidates) {
      this.checkSelectors(c);
    }
    const report = whatIf({ cluster: this.cluster, flows: this.context.flows, candidates: this.candidates.map((c) => c.policy), window: this.context.window });
    const dnsWarnings = this.dnsWarnings();
    for (const g of report.newlyDenied) {
      this.blocked(g, dnsWarnings);
    }
    for (const [c, w] of dnsWarnings) {
      this.warnDns(c, w);
    }
    // Without any flow in the window every rule is "unused": that says nothing about the rules.
    if (report.flows > 0) {
      for (const u of report.unusedRules) {
        this.unused(u.policy, u.rule, u.description);
      }
    }
  }

  private get index(): WorkloadIndex {
    const { cluster, flows } = this.context;
    let cached = workloadIndexes.get(flows);
    if (cached?.cluster !== cluster) {
      cached = { cluster, index: new WorkloadIndex(cluster, flows) };
      workloadIndexes.set(flows, cached);
    }
    return cached.index;
  }

  /** The policies in force with the document's replacing or adding to them: what whatIf calls "after". */
  private get engine(): PolicyEngine {
    return (this.engineCache ??= new PolicyEngine(this.cluster, withPolicies(this.cluster.policies, this.candidates.map((c) => c.policy))));
  }

  private podsIn(namespace: string, selector?: LabelSelector): readonly Pod[] {
    const pods = this.facts.live.get(namespace) ?? [];
    return selector ? pods.filter((p) => selectorMatches(selector, p.labels)) : pods;
  }

  private warn(range: TextRange, code: string, message: string, fixes?: QuickFix[]): void {
    this.out.push({ start: range.start, end: range.end, severity: 'warning', code, message, ...(fixes && fixes.length > 0 ? { fixes } : {}) });
  }

  private checkSelectors({ object, policy }: Candidate): void {
    if (this.podsIn(policy.namespace, policy.podSelector).length === 0) {
      this.warn(object.rangeOf(['spec', 'podSelector'], 'pair'), CODE_SELECTS_NO_POD, `podSelector ${formatSelector(policy.podSelector)} matches no pod in ${this.namespaceText([policy.namespace])}: this policy applies to nothing`);
    }
    for (const dir of ['ingress', 'egress'] as const) {
      policy[dir].forEach((rule, r) =>
        rule.peers.forEach((peer, j) => {
          if (peer.kind === 'selector') {
            this.checkPeer(object, policy.namespace, ['spec', dir, r, dir === 'ingress' ? 'from' : 'to', j], peer);
          }
        }),
      );
    }
  }

  private checkPeer(object: PolicyObject, namespace: string, path: (string | number)[], peer: SelectorPeer): void {
    const podText = peer.podSelector ? `podSelector ${formatSelector(peer.podSelector)}` : '';
    if (!peer.namespaceSelector) {
      if (this.podsIn(namespace, peer.podSelector).length === 0) {
        this.warn(object.rangeOf([...path, 'podSelector'], 'pair'), CODE_PEER_MATCHES_NOTHING, `${podText} matches no pod in ${this.namespaceText([namespace])}`);
      }
      return;
    }
    const nsSelector = peer.namespaceSelector;
    const namespaces = this.namespacesMatching(nsSelector);
    const nsRange = object.rangeOf([...path, 'namespaceSelector'], 'pair');
    if (namespaces.length === 0) {
      this.warn(nsRange, CODE_PEER_MATCHES_NOTHING, `namespaceSelector ${formatSelector(nsSelector)} matches no namespace`);
    } else if (!namespaces.some((ns) => this.podsIn(ns, peer.podSelector).length > 0)) {
      this.warn(
        peer.podSelector ? object.rangeOf([...path, 'podSelector'], 'pair') : nsRange,
        CODE_PEER_MATCHES_NOTHING,
        peer.podSelector
          ? `${podText} matches no pod in ${this.namespaceText(namespaces)} (the namespaces of namespaceSelector ${formatSelector(nsSelector)})`
          : `namespaceSelector ${formatSelector(nsSelector)} matches only ${this.namespaceText(namespaces)}, without pods`,
      );
    }
  }

  private namespacesMatching(selector: LabelSelector): string[] {
    return [...this.cluster.namespaces.values()].filter((ns) => selectorMatches(selector, ns.labels)).map((ns) => ns.name).sort(compare);
  }

  /** "namespace demo", "namespaces a, b and 3 more"; a namespace the cluster lacks is said to. */
  private namespaceText(names: readonly string[]): string {
    if (names.length === 1) {
      return `namespace ${names[0]}${this.cluster.namespaces.has(names[0]) ? '' : ' (not in the cluster)'}`;
    }
    return `namespaces ${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
  }

  /**
   * Candidates isolating egress of pods that then cannot reach the cluster DNS on UDP 53. This is checked
   * whether or not the window shows DNS traffic: resolvers cache answers and a window is short, so a
   * workload that resolved nothing lately will at its next lookup; a DNS rule costs little, a missing one
   * breaks the workload. Pods allowed DNS by another policy (in force or in the document) are fine.
   */
  private dnsWarnings(): Map<Candidate, DnsWarning> {
    const out = new Map<Candidate, DnsWarning>();
    const dns = this.dns;
    if (!dns) {
      return out;
    }
    const target = [...dns.pods].sort((a, b) => compare(a.name, b.name))[0];
    const verdicts = new Map<string, boolean>();
    // The verdict depends on the pod only through its namespace and labels (the port is a number).
    const reaches = (pod: Pod) => {
      const key = `${pod.namespace}|${[...pod.labels].sort(([a], [b]) => compare(a, b)).join(',')}`;
      let allowed = verdicts.get(key);
      if (allowed === undefined) {
        allowed = this.engine.allows(this.engine.prepare({ from: `${pod.namespace}/${pod.name}`, to: `${target.namespace}/${target.name}`, port: 53, protocol: 'UDP' }));
        verdicts.set(key, allowed);
      }
      return allowed;
    };
    for (const c of this.candidates) {
      if (c.policy.isolates.egress) {
        const cut = this.podsIn(c.policy.namespace, c.policy.podSelector).filter((p) => !reaches(p));
        if (cut.length > 0) {
          out.set(c, { pods: cut, records: 0, connections: 0, bytes: 0 });
        }
      }
    }
    return out;
  }

  private warnDns({ object, policy }: Candidate, w: DnsWarning): void {
    const dns = this.dns!;
    const workloads = [...new Set(w.pods.map((p) => describeWorkload(this.index.workloadOf(p))))].sort(compare);
    const who = `${w.pods.length} pod${w.pods.length === 1 ? '' : 's'} (${workloads.slice(0, 3).join(', ')}${workloads.length > 3 ? `, and ${workloads.length - 3} more` : ''})`;
    const seen = w.records > 0 ? `; it blocks observed DNS traffic (${shortEvidenceText(w)} in ${this.context.windowLabel})` : '';
    const edit = object.appendItems(['spec', 'egress'], [dnsEgressRule(dns, policy.namespace)]);
    this.warn(
      this.ruleListRange(object, 'egress'),
      CODE_MISSING_DNS_EGRESS,
      `No DNS: this policy isolates egress of ${who} and no rule allows DNS to the cluster DNS (${dns.namespace} pods ${formatSelector({ matchLabels: dns.labels, matchExpressions: [] })}, UDP 53), so name lookups will fail${seen}`,
      edit ? [{ title: 'Add DNS egress rule', edits: [edit] }] : undefined,
    );
  }

  private blocked(g: FlowGroup, dnsWarnings: Map<Candidate, DnsWarning>): void {
    const denials = this.denials(g);
    const toDns = this.dns !== undefined && g.port === 53 && g.newlyDeniedBackends.length > 0 && denials.every((d) => d.backends.length > 0 && d.backends.every((p) => this.dns!.pods.has(p)));
    if (toDns && denials.length > 0 && denials.every((d) => d.dir === 'egress' && dnsWarnings.has(d.candidate))) {
      // The DNS warning of these policies covers this traffic, with a fix that also allows TCP.
      for (const d of denials) {
        const w = dnsWarnings.get(d.candidate)!;
        w.records += g.evidence.records;
        w.connections += g.evidence.connections;
        w.bytes += g.evidence.bytes;
      }
      return;
    }
    const partial = g.backends > 1 && g.newlyDeniedBackends.length < g.backends ? `; ${g.newlyDeniedBackends.length} of its ${g.backends} backends: ${g.newlyDeniedBackends.join(', ')}` : '';
    const message = `Blocks observed traffic: ${flowText(g)} (${shortEvidenceText(g.evidence)} in ${this.context.windowLabel}${partial})`;
    if (denials.length === 0) {
      // Denied only by policies in force, which a changed candidate no longer overrides: said on the candidate that changed.
      const inForce = new Set(this.cluster.policies.map(policyId));
      const namespaces = [g.client.namespace, g.server.namespace];
      const c = this.candidates.find((x) => inForce.has(policyId(x.policy)) && namespaces.includes(x.policy.namespace)) ?? this.candidates[0];
      this.warn(c.object.rangeOf(['metadata', 'name']), CODE_BLOCKS_OBSERVED_FLOW, message);
      return;
    }
    const edits: TextEdit[] = [];
    for (const d of denials) {
      const rule = d.dir === 'ingress' ? this.ingressRule(g, d) : this.egressRule(g, d, toDns);
      const edit = rule && d.candidate.object.appendItems(['spec', d.dir], [rule]);
      if (edit) {
        edits.push(edit);
      }
    }
    const broad = g.client.kind === 'workload' && g.client.workload && this.index.selectorOf(g.client.workload).labels.size === 0 ? ` (every pod of namespace ${g.client.workload.namespace}: ${describeWorkload(g.client.workload)} has no stable labels)` : '';
    this.warn(
      this.ruleListRange(denials[0].candidate.object, denials[0].dir),
      CODE_BLOCKS_OBSERVED_FLOW,
      message,
      edits.length === denials.length ? [{ title: `Allow ${flowText(g)}${broad}`, edits: mergeEdits(edits) }] : undefined,
    );
  }

  /** Which candidates deny the group, and in which direction: each denied backend evaluated after the change (ingress first). */
  private denials(g: FlowGroup): Denial[] {
    const found = new Map<string, Denial>();
    const from = this.clientRef(g);
    if (from === undefined) {
      return [];
    }
    const { podsById } = podLookups(this.cluster);
    for (const backend of g.newlyDeniedBackends) {
      const pod = podsById.get(backend);
      const port = (g.portName !== undefined ? pod?.ports.find((p) => p.name === g.portName && p.protocol === g.protocol)?.port : undefined) ?? g.port;
      let explanation;
      try {
        explanation = this.engine.evaluate(this.engine.prepare({ from, to: pod ? backend : { ip: backend }, port, protocol: g.protocol })).explanation;
      } catch (e) {
        if (e instanceof ProbeError) {
          continue;
        }
        throw e;
      }
      for (const dir of ['ingress', 'egress'] as const) {
        const side = explanation[dir];
        const c = side.allowed ? undefined : side.isolatedBy.map((i) => this.byId.get(i.policy)).find((x) => x !== undefined);
        if (c) {
          const key = `${dir}|${policyId(c.policy)}`;
          const d = found.get(key) ?? { candidate: c, dir, backends: [] };
          if (pod) {
            d.backends.push(pod);
          }
          found.set(key, d);
        }
      }
    }
    // Ingress first: the warning goes on the server's policy when both ends deny.
    return [...found.values()].sort((a, b) => compare(b.dir, a.dir));
  }

  /** The client as the engine should see it: the pod of the group's workload that had the address, else the address. */
  private clientRef(g: FlowGroup): EndpointRef | undefined {
    const ip = g.client.ip;
    if (ip === undefined) {
      return undefined;
    }
    const workload = g.client.workload;
    if (g.client.kind === 'workload' && workload) {
      const { podsByIp } = podLookups(this.cluster);
      // Addresses are reused: the pod that held it is the one of the group's workload (finished or not).
      const key = workloadKey(workload);
      const pod = (podsByIp.get(ip) ?? []).find((p) => !p.hostNetwork && workloadKey(this.index.workloadOf(p)) === key);
      if (pod) {
        return `${pod.namespace}/${pod.name}`;
      }
    }
    return { ip };
  }

  // A rule with an empty peer list allows every peer: without a peer there is no rule (and no fix).
  private ingressRule(g: FlowGroup, d: Denial): RawRule | undefined {
    const workload = g.client.workload;
    const peer = g.client.kind === 'workload' && workload ? workloadPeer(this.index, d.candidate.policy.namespace, workload) : addressPeer(g.client.ip);
    return peer && { from: [peer], ports: [portOf(g)] };
  }

  private egressRule(g: FlowGroup, d: Denial, toDns: boolean): RawRule | undefined {
    const namespace = d.candidate.policy.namespace;
    if (toDns) {
      return dnsEgressRule(this.dns!, namespace);
    }
    const peers = new Map<string, RawPeer>();
    for (const pod of d.backends) {
      const peer = workloadPeer(this.index, namespace, this.index.workloadOf(pod));
      peers.set(JSON.stringify(peer), peer);
    }
    if (peers.size === 0) {
      const peer = addressPeer(g.server.ip);
      if (peer) {
        peers.set('', peer);
      }
    }
    return peers.size > 0 ? { to: [...peers.values()], ports: [portOf(g)] } : undefined;
  }

  private unused(id: string, rule: string, description: string): void {
    const c = this.byId.get(id);
    const m = /^(ingress|egress)\[(\d+)\]$/.exec(rule);
    if (!c || !m) {
      return;
    }
    const dir = m[1] as 'ingress' | 'egress';
    const i = Number(m[2]);
    // DNS rules are left alone: lookups are cached, so a window without DNS traffic says little about them.
    if (c.policy[dir][i].ports.some((p) => p.port === 53)) {
      return;
    }
    const edits = c.object.removeItem(['spec', dir, i]);
    // Without policyTypes, a policy isolates egress only while it has egress rules: removing the last one
    // would open egress to everything, so the types are stated.
    if (edits && dir === 'egress' && c.policy.policyTypesDefaulted && c.policy.egress.length === 1) {
      const types = c.object.appendItems(['spec', 'policyTypes'], ['Ingress', 'Egress'], 'podSelector');
      if (types) {
        edits.push(types);
      }
    }
    const { start, end } = c.object.rangeOf(['spec', dir, i]);
    this.out.push({
      start,
      end,
      severity: 'information',
      code: CODE_UNUSED_RULE,
      message: `No observed flow uses ${rule} (${description}) in ${this.context.windowLabel}`,
      ...(edits ? { fixes: [{ title: 'Remove unused rule', edits: mergeEdits(edits) }] } : {}),
    });
  }

  /** The `ingress:`/`egress:` key, or where it is missing the podSelector's. */
  private ruleListRange(object: PolicyObject, dir: 'ingress' | 'egress'): TextRange {
    const list = object.rangeOf(['spec', dir], 'key');
    return list.exact ? list : object.rangeOf(['spec', 'podSelector'], 'key');
  }
}

function addressPeer(ip: string | undefined): RawPeer | undefined {
  const parsed = ip === undefined ? undefined : parseIp(ip);
  return parsed ? { ipBlock: { cidr: hostCidr(parsed) } } : undefined;
}

/** The server port by its container port name when it has one (as generated policies write it), else by number. */
function portOf(g: FlowGroup): RawPort {
  return { protocol: g.protocol, port: g.portName ?? g.port };
}

/** "Deployment demo/ui → Deployment demo/catalog TCP 8080" */
/** Sorted, with insertions at one offset joined (in order) into one edit, as editors require edits not to overlap. */
function mergeEdits(edits: readonly TextEdit[]): TextEdit[] {
  const sorted = [...edits].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: TextEdit[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last && last.start === last.end && e.start === e.end && last.start === e.start) {
      out[out.length - 1] = { ...last, newText: last.newText + e.newText };
    } else {
      out.push(e);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Hover

const HOVER_LIST = 20;

/**
 * Markdown saying what the selector at `offset` matches: a policy's podSelector (the pods it applies to),
 * a peer (the pods it allows), a peer's namespaceSelector (the namespaces). Undefined elsewhere, and on
 * invalid policies. Names and labels come from the cluster and are escaped.
 */
export function hoverAt(doc: PolicyDocument, offset: number, cluster: Cluster): string | undefined {
  const object = doc.policies.find((o) => o.policy && o.range.start <= offset && offset <= o.range.end);
  const policy = object?.policy;
  if (!object || !policy) {
    return undefined;
  }
  const path = object.pathAt(offset);
  if (path[0] !== 'spec') {
    return undefined;
  }
  const live = (namespaces: readonly string[], selector: LabelSelector | undefined) =>
    cluster.pods.filter((p) => namespaces.includes(p.namespace) && selectable(p) && (!selector || selectorMatches(selector, p.labels)));
  if (path[1] === 'podSelector') {
    const pods = live([policy.namespace], policy.podSelector);
    return `**podSelector** ${md(formatSelector(policy.podSelector))}: this policy applies to ${podList(pods, [policy.namespace])}`;
  }
  const dir = path[1];
  if ((dir !== 'ingress' && dir !== 'egress') || typeof path[2] !== 'number' || path[3] !== (dir === 'ingress' ? 'from' : 'to') || typeof path[4] !== 'number') {
    return undefined;
  }
  const peer = policy[dir][path[2]]?.peers[path[4]];
  if (!peer || peer.kind !== 'selector') {
    return undefined;
  }
  const namespaces = peer.namespaceSelector
    ? [...cluster.namespaces.values()].filter((ns) => selectorMatches(peer.namespaceSelector!, ns.labels)).map((ns) => ns.name).sort(compare)
    : [policy.namespace];
  const pods = live(namespaces, peer.podSelector);
  const what = [peer.podSelector ? `podSelector ${md(formatSelector(peer.podSelector))}` : '', peer.namespaceSelector ? `namespaceSelector ${md(formatSelector(peer.namespaceSelector))}` : '']
    .filter((s) => s !== '')
    .join(' within ');
  if (path[5] === 'namespaceSelector' && peer.namespaceSelector) {
    const list = namespaces.length === 0 ? 'matches no namespace' : `matches ${namespaces.length} namespace${namespaces.length === 1 ? '' : 's'}:\n\n${bullets(namespaces.map(md))}`;
    return `**namespaceSelector** ${md(formatSelector(peer.namespaceSelector))} ${list}\n\nThe peer (${what}) matches ${podList(pods, namespaces)}`;
  }
  return `**Peer** ${what} matches ${podList(pods, namespaces)}`;
}

/** "3 pods in namespace demo:" and a list of up to HOVER_LIST, or "no pod in namespace demo". */
function podList(pods: readonly Pod[], namespaces: readonly string[]): string {
  const where = namespaces.length === 1 ? `namespace ${md(namespaces[0])}` : namespaces.length === 0 ? 'any namespace' : `namespaces ${namespaces.slice(0, 5).map(md).join(', ')}${namespaces.length > 5 ? ` and ${namespaces.length - 5} more` : ''}`;
  if (pods.length === 0) {
    return `no pod in ${where}`;
  }
  const sorted = [...pods].sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));
  const names = sorted.map((p) => md(namespaces.length === 1 ? p.name : `${p.namespace}/${p.name}`));
  return `${pods.length} pod${pods.length === 1 ? '' : 's'} in ${where}:\n\n${bullets(names)}`;
}

function bullets(items: readonly string[]): string {
  const shown = items.slice(0, HOVER_LIST).map((i) => `- ${i}`);
  if (items.length > HOVER_LIST) {
    shown.push(`- and ${items.length - HOVER_LIST} more`);
  }
  return shown.join('\n');
}

/** Text as literal Markdown: every punctuation character that could start markup or HTML is escaped, line breaks flattened. */
export function md(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[\\`*_{}[\]()#+\-.!|<>~&]/g, '\\$&');
}
