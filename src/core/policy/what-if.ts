/**
 * What-if validation: what a change to the NetworkPolicies (candidates added, in-force ones replaced by
 * name, or removed) would do to the traffic actually observed. Every observed flow of the window is
 * evaluated under the policies in force (before) and under the changed set (after):
 * - newly denied flows are the breaking changes, grouped by workload pair and port, with their evidence;
 *   a flow to a Service with several backends is evaluated against every backend pod (any denied backend
 *   breaks it, and the report names them);
 * - newly allowed flows, candidate rules no observed flow uses (by the engine's own `allowedBy`, with the
 *   candidates consulted first so that their rules get the credit), candidate policies that select no
 *   pod, pods that become isolated (or stop being isolated).
 * Flows in which every connection failed (nothing answered) are attempts, not working traffic: when a
 * change denies them they are listed apart and do not count as breaking.
 *
 * Endpoints are evaluated as the pods the enrichment found (not their addresses), so reused IPs are
 * judged as the pod that held them at the time.
 *
 * Cost (100,000 records against 1,000 policies in well under a second): records are summed per
 * connection first; a connection no changed policy selects (at either end, in that direction) keeps its
 * verdict, so only the before-engine decides it; verdicts and rule credits are memoised per class of
 * pods (namespace, labels, named ports) unless an ipBlock of some policy contains pod addresses; and a
 * verdict is explained only while it can still credit an unused candidate rule. The editor judges every
 * edit against the same cluster and flows: what depends only on them (connections, endpoint summaries,
 * groups and their order, the before-engine and its verdicts) is kept across calls, by the identity of
 * the cluster snapshot, the flows array and the policies in force (none of which is ever modified).
 */
import type { Cluster } from '../kube/cluster';
import { cidrContains, parseIp, type IpAddress } from '../net/ip';
import type { Pod, Protocol } from '../kube/objects';
import { formatSelector, isEmptySelector, selectorMatches, type LabelSelector } from '../kube/selector';
import type { EnrichedFlow, FlowPeer, WorkloadId } from '../flows/enriched-flow';
import { PolicyEngine, ProbeError, type EndpointRef, type Explanation, type PreparedProbe, type Probe } from './engine';
import { compare, connections, describeWorkload, EvidenceTally, WorkloadIndex, type Evidence } from './generate';
import { policyId, type NetworkPolicy, type PolicyPeer, type PolicyPort, type PolicyRule } from './network-policy';

export interface WhatIfInput {
  readonly cluster: Cluster;
  readonly flows: readonly EnrichedFlow[];
  /** The policies in force; default the cluster's. */
  readonly inForce?: readonly NetworkPolicy[];
  /** Added, or replacing the policy in force of the same namespace/name. */
  readonly candidates?: readonly NetworkPolicy[];
  /** "namespace/name" of policies in force to remove. */
  readonly removed?: readonly string[];
  /** Only flows overlapping [fromMs, toMs] count. */
  readonly window?: { readonly fromMs?: number; readonly toMs?: number };
}

export type Verdict = 'allow' | 'deny';

export interface EndpointSummary {
  readonly kind: 'workload' | 'service' | 'node' | 'cloud-service' | 'external';
  /** "Deployment shop/ui", "Service shop/catalog", "node node-a (198.19.0.1)", "S3 203.0.113.5", "198.51.100.10". */
  readonly label: string;
  readonly namespace?: string;
  readonly workload?: WorkloadId;
  readonly ip?: string;
}

export interface FlowGroup {
  readonly client: EndpointSummary;
  readonly server: EndpointSummary;
  readonly port: number;
  readonly portName?: string;
  readonly protocol: Protocol;
  /** Services the clients dialled ("ns/name:port"). */
  readonly services: readonly string[];
  readonly before: Verdict;
  readonly after: Verdict;
  readonly evidence: Evidence;
  /** Server pods evaluated (several for a Service), and those the change denies that were allowed before. */
  readonly backends: number;
  readonly newlyDeniedBackends: readonly string[];
  /**
   * The engine's explanation of one connection after the change (the first newly denied one, else a
   * denied one), for groups whose verdict changed or whose working flows are denied already; absent for
   * the others.
   */
  readonly explanation?: string;
}

export interface UnusedRule {
  readonly policy: string;
  /** "ingress[1]" */
  readonly rule: string;
  readonly description: string;
}

export interface IsolationChange {
  readonly pod: string;
  readonly workload: WorkloadId;
  readonly direction: 'ingress' | 'egress';
  /** The policies that isolate it after the change (empty when it stops being isolated). */
  readonly by: readonly string[];
}

export interface WhatIfReport {
  readonly policies: { readonly added: readonly string[]; readonly changed: readonly string[]; readonly removed: readonly string[] };
  /** Flow records evaluated (in the window), and the time they span. */
  readonly flows: number;
  readonly firstSeenMs?: number;
  readonly lastSeenMs?: number;
  /** Per flow record: the verdicts before and after (deny when any backend is denied). */
  readonly counts: { readonly allowedBefore: number; readonly allowedAfter: number; readonly newlyDenied: number; readonly newlyAllowed: number };
  /** Every group of observed flows with its verdicts. */
  readonly groups: readonly FlowGroup[];
  /** The breaking changes: working flows the change would deny. */
  readonly newlyDenied: readonly FlowGroup[];
  /** Groups where the change denies only connections that never worked (attempts): not breaking. */
  readonly newlyDeniedAttempts: readonly FlowGroup[];
  readonly newlyAllowed: readonly FlowGroup[];
  /** Working flows the policies in force already deny: the snapshot may not match what was enforced. */
  readonly deniedBefore: readonly FlowGroup[];
  readonly unusedRules: readonly UnusedRule[];
  readonly selectsNothing: readonly string[];
  readonly newlyIsolated: readonly IsolationChange[];
  readonly noLongerIsolated: readonly IsolationChange[];
  readonly notes: readonly string[];
}

/** Thrown for a removal that names no policy in force, or a policy both removed and a candidate. */
export class WhatIfError extends Error {}

interface Backend {
  readonly ref: EndpointRef;
  readonly label: string;
  readonly port: number;
  readonly pod?: Pod;
}

/** A connection as far as the cluster and the flows alone decide: the same for every change judged against them. */
interface ConnectionFacts {
  readonly flow: EnrichedFlow;
  readonly working: EvidenceTally;
  readonly failed: EvidenceTally;
  readonly clientId: string;
  readonly serverId: string;
  readonly clientRef: EndpointRef;
  /** The client pod, unless the client is not a pod or uses the host network (then it is its node). */
  readonly srcPod: Pod | undefined;
  readonly backends: readonly Backend[];
  /** The number of the first backend's probe among the view's probes; the others follow. */
  readonly firstProbe: number;
  /** Per backend: the number of its (client class, backend class, port, protocol) among the view's, or -1 (not memoisable). */
  readonly classKeys: readonly number[];
  /** "namespace/name:port" of the Service dialled. */
  readonly service: string | undefined;
}

/**
 * The groups of the connections that are evaluated, in the order they appear. Which connections are
 * evaluated (a probe naming what the cluster lacks leaves its connection out, unless a memoised verdict
 * covers it) depends only on the view and on whether verdicts are memoised per class, so one grouping per
 * flows view and memoisation serves every change.
 */
interface Grouping {
  /** Endpoint summaries by client or server id: the first evaluated connection's. */
  readonly summaries: Map<string, EndpointSummary>;
  readonly numbers: Map<string, number>;
  readonly groups: { readonly client: EndpointSummary; readonly server: EndpointSummary }[];
  /** Per connection: its group, or -1 until it is first evaluated. */
  readonly of: Int32Array;
  /** Group numbers in report order (see groupOrder), worked out on first need. */
  sorted?: readonly number[];
}

/**
 * What depends only on the cluster and the flows in the window: built once per flows array (and window),
 * as the editor judges every edit against the same flows until new ones arrive.
 */
interface FlowsView {
  readonly cluster: Cluster;
  readonly fromMs: number | undefined;
  readonly toMs: number | undefined;
  readonly index: WorkloadIndex;
  readonly connections: readonly ConnectionFacts[];
  readonly probes: number;
  readonly classKeys: number;
  /** By memoisation per class (1) or not (0). */
  readonly groupings: [Grouping | undefined, Grouping | undefined];
  /** The before-engine's verdict per probe (or why it cannot be evaluated), for the engine that decided them. */
  before?: { readonly engine: PolicyEngine; readonly verdicts: (boolean | ProbeError | undefined)[] };
}

const views = new WeakMap<readonly EnrichedFlow[], FlowsView>();

function flowsView(cluster: Cluster, all: readonly EnrichedFlow[], window: WhatIfInput['window']): FlowsView {
  const fromMs = window?.fromMs;
  const toMs = window?.toMs;
  const cached = views.get(all);
  if (cached && cached.cluster === cluster && cached.fromMs === fromMs && cached.toMs === toMs) {
    return cached;
  }
  const flows = all.filter((f) => (fromMs === undefined || f.endMs >= fromMs) && (toMs === undefined || f.startMs <= toMs));
  const facts = clusterFacts(cluster);
  const keys = new Map<string, number>();
  let probes = 0;
  const connectionFacts = connections(flows).map(({ flow, working, failed }): ConnectionFacts => {
    const { client, server } = flow;
    const backends = serverBackends(flow);
    const clientPod = client.kind === 'pod' && client.pods.length === 1 ? client.pods[0] : undefined;
    const srcClass = clientPod ? podClass(facts, clientPod) : undefined;
    const classKeys = backends.map((b) => {
      if (srcClass === undefined || !b.pod) {
        return -1;
      }
      const text = `${srcClass}>${podClass(facts, b.pod)}:${b.port}/${flow.protocol}`;
      const key = keys.get(text) ?? keys.size;
      keys.set(text, key);
      return key;
    });
    const clientRef = endpointRef(client);
    const firstProbe = probes;
    probes += backends.length;
    return {
      flow,
      working,
      failed,
      clientId: clientPod ? `${clientPod.namespace}/${clientPod.name}` : client.ip,
      serverId: server.pods.length === 1 ? `${server.kind}:${server.pods[0].namespace}/${server.pods[0].name}` : `${server.kind}:${server.ip}#${server.pods.length}`,
      clientRef,
      srcPod: clientPod && !clientPod.hostNetwork ? clientPod : undefined,
      backends,
      firstProbe,
      classKeys,
      service: server.service ? `${server.service.namespace}/${server.service.name}:${server.service.port}` : undefined,
    };
  });
  const view: FlowsView = {
    cluster,
    fromMs,
    toMs,
    index: new WorkloadIndex(cluster, flows),
    connections: connectionFacts,
    probes,
    classKeys: keys.size,
    groupings: [undefined, undefined],
  };
  views.set(all, view);
  return view;
}

/** What depends only on the pods of a cluster snapshot (snapshots are immutable: a change is a new one). */
interface ClusterFacts {
  readonly podsByNamespace: ReadonlyMap<string, readonly Pod[]>;
  /** Pod -> class number; equal numbers for equal (namespace, labels, named ports). */
  readonly classOf: Map<Pod, number>;
  readonly classes: Map<string, number>;
  /** Sorted IPv4 addresses and the IPv6 ones of the pods that are not host-network, on first need. */
  addresses?: { readonly v4: Uint32Array; readonly v6: readonly IpAddress[] };
  /** The engine of the policies in force, for the list it was built from. */
  before?: { readonly policies: readonly NetworkPolicy[]; readonly engine: PolicyEngine };
}

const clusters = new WeakMap<Cluster, ClusterFacts>();

function clusterFacts(cluster: Cluster): ClusterFacts {
  let facts = clusters.get(cluster);
  if (!facts) {
    const podsByNamespace = new Map<string, Pod[]>();
    for (const pod of cluster.pods) {
      const list = podsByNamespace.get(pod.namespace);
      if (list) {
        list.push(pod);
      } else {
        podsByNamespace.set(pod.namespace, [pod]);
      }
    }
    facts = { podsByNamespace, classOf: new Map(), classes: new Map() };
    clusters.set(cluster, facts);
  }
  return facts;
}

/** The engine of the policies in force: kept while the cluster and the list (by identity) stay the same. */
function beforeEngine(cluster: Cluster, facts: ClusterFacts, inForce: readonly NetworkPolicy[]): PolicyEngine {
  if (facts.before?.policies !== inForce) {
    facts.before = { policies: inForce, engine: new PolicyEngine(cluster, inForce) };
  }
  return facts.before.engine;
}

function podClass(facts: ClusterFacts, pod: Pod): number {
  let c = facts.classOf.get(pod);
  if (c === undefined) {
    const labels = [...pod.labels].sort(([x], [y]) => compare(x, y)).map(([k, v]) => `${k}=${v}`).join(',');
    const ports = pod.ports.map((p) => `${p.name ?? ''}:${p.port}/${p.protocol}`).sort(compare).join(',');
    const text = pod.hostNetwork ? `host ${pod.namespace}/${pod.name}` : `${pod.namespace}|${labels}|${ports}`;
    c = facts.classes.get(text) ?? facts.classes.size;
    facts.classes.set(text, c);
    facts.classOf.set(pod, c);
  }
  return c;
}

interface Sample {
  readonly connection: ConnectionFacts;
  readonly index: number;
}

interface GroupAcc {
  readonly client: EndpointSummary;
  readonly server: EndpointSummary;
  readonly port: number;
  readonly portName: string | undefined;
  readonly protocol: Protocol;
  // Arrays, not Sets: a group has a handful of entries, and there is one group per client, server and port.
  readonly services: string[];
  readonly evidence: EvidenceTally;
  readonly backends: string[];
  readonly newlyDeniedBackends: string[];
  anyDeniedBefore: boolean;
  anyDeniedAfter: boolean;
  newlyDenied: boolean;
  /** A connection that worked (at least once) is newly denied: a breaking change. */
  newlyDeniedWorking: boolean;
  newlyAllowed: boolean;
  workingDeniedBefore: boolean;
  sample?: Sample;
  deniedSample?: Sample;
  deniedSampleFailed?: boolean;
}

export function whatIf(input: WhatIfInput): WhatIfReport {
  const { cluster } = input;
  const inForce = input.inForce ?? cluster.policies;
  const candidates = input.candidates ?? [];
  const removedIds = new Set(input.removed ?? []);
  const inForceIds = new Set(inForce.map(policyId));
  for (const id of removedIds) {
    if (!inForceIds.has(id)) {
      throw new WhatIfError(`cannot remove NetworkPolicy ${id}: it is not among the policies in force`);
    }
  }
  const candidateIds = new Set(candidates.map(policyId));
  for (const id of candidateIds) {
    if (removedIds.has(id)) {
      throw new WhatIfError(`NetworkPolicy ${id} is both a candidate and removed`);
    }
  }
  // Candidates first: where several rules allow a flow the engine credits the first, and the question is whether the candidates' rules are used.
  const after = [...candidates, ...inForce.filter((p) => !removedIds.has(policyId(p)) && !candidateIds.has(policyId(p)))];
  // The policies whose change can change a verdict: added, removed, or replaced by a different one (both versions).
  const inForceById = new Map(inForce.map((p) => [policyId(p), p]));
  const differs = candidates.filter((c) => {
    const old = inForceById.get(policyId(c));
    return !old || fingerprint(old) !== fingerprint(c);
  });
  const facts = clusterFacts(cluster);
  const changed = changedPods(facts, [
    ...differs,
    ...differs.map((c) => inForceById.get(policyId(c))).filter((p): p is NetworkPolicy => p !== undefined),
    ...inForce.filter((p) => removedIds.has(policyId(p))),
  ]);
  const before = beforeEngine(cluster, facts, inForce);
  const afterEngine = new PolicyEngine(cluster, after);
  const notes: string[] = [];

  const view = flowsView(cluster, input.flows, input.window);
  const { index } = view;
  const credit = new RuleCredit(facts, candidates);
  const range = new EvidenceTally();
  const counts = { allowedBefore: 0, allowedAfter: 0, newlyDenied: 0, newlyAllowed: 0 };
  const unevaluated = new Map<string, string>();
  const byClass = !ipBlocksMatchPods(cluster, facts, [...inForce, ...candidates]);
  const decider = new Decider(view, before, afterEngine, changed, credit, byClass, unevaluated);
  const grouping: Grouping = (view.groupings[byClass ? 1 : 0] ??= { summaries: new Map(), numbers: new Map(), groups: [], of: new Int32Array(view.connections.length).fill(-1) });
  const groups: (GroupAcc | undefined)[] = new Array<GroupAcc | undefined>(grouping.groups.length);

  // Everything that depends only on the connection (client, server, port, protocol) is worked out once
  // per flows view; each call then decides the verdicts and adds the evidence.
  const summary = (id: string, peer: FlowPeer, side: 'client' | 'server') => {
    let found = grouping.summaries.get(id);
    if (!found) {
      found = summarize(peer, index, side);
      grouping.summaries.set(id, found);
    }
    return found;
  };
  const groupOf = (c: ConnectionFacts, i: number): GroupAcc => {
    let n = grouping.of[i];
    if (n < 0) {
      const client = summary(c.clientId, c.flow.client, 'client');
      const server = summary(c.serverId, c.flow.server, 'server');
      const gkey = `${client.label}|${server.label}|${c.flow.port}|${c.flow.portName ?? ''}|${c.flow.protocol}`;
      n = grouping.numbers.get(gkey) ?? grouping.groups.length;
      if (n === grouping.groups.length) {
        grouping.numbers.set(gkey, n);
        grouping.groups.push({ client, server });
      }
      grouping.of[i] = n;
    }
    let g = groups[n];
    if (!g) {
      const { flow } = c;
      g = {
        client: grouping.groups[n].client,
        server: grouping.groups[n].server,
        port: flow.port,
        portName: flow.portName,
        protocol: flow.protocol,
        services: [],
        evidence: new EvidenceTally(),
        backends: [],
        newlyDeniedBackends: [],
        anyDeniedBefore: false,
        anyDeniedAfter: false,
        newlyDenied: false,
        newlyDeniedWorking: false,
        newlyAllowed: false,
        workingDeniedBefore: false,
      };
      groups[n] = g;
    }
    return g;
  };

  view.connections.forEach((c, i) => {
    if (!decider.decide(c)) {
      return;
    }
    const g = groupOf(c, i);
    let allowedBefore = true;
    let allowedAfter = true;
    let newlyDeniedAt = -1;
    let deniedAt = -1;
    let opened = false;
    for (let j = 0; j < c.backends.length; j++) {
      const b = decider.before[c.firstProbe + j] === 1;
      const a = decider.after[c.firstProbe + j] === 1;
      allowedBefore &&= b;
      allowedAfter &&= a;
      if (!a && deniedAt < 0) {
        deniedAt = j;
      }
      if (b && !a) {
        if (newlyDeniedAt < 0) {
          newlyDeniedAt = j;
        }
        addOnce(g.newlyDeniedBackends, c.backends[j].label);
      }
      opened ||= !b && a;
    }
    const newlyAllowed = newlyDeniedAt < 0 && opened;
    if (c.service !== undefined) {
      addOnce(g.services, c.service);
    }
    for (const b of c.backends) {
      addOnce(g.backends, b.label);
    }
    g.anyDeniedBefore ||= !allowedBefore;
    g.anyDeniedAfter ||= !allowedAfter;
    g.newlyDenied ||= newlyDeniedAt >= 0;
    g.newlyAllowed ||= newlyAllowed;

    const { working, failed } = c;
    const records = working.records + failed.records;
    range.merge(working);
    range.merge(failed);
    counts.allowedBefore += allowedBefore ? records : 0;
    counts.allowedAfter += allowedAfter ? records : 0;
    counts.newlyDenied += newlyDeniedAt >= 0 ? records : 0;
    counts.newlyAllowed += newlyAllowed ? records : 0;
    const works = working.records > 0;
    g.evidence.merge(working);
    g.evidence.merge(failed);
    g.workingDeniedBefore ||= !allowedBefore && works;
    g.newlyDeniedWorking ||= newlyDeniedAt >= 0 && works;
    // The explanation shown: a newly denied connection (of working traffic, preferably), else a denied one, else any.
    if (newlyDeniedAt >= 0) {
      if (!g.deniedSample || (g.deniedSampleFailed && works)) {
        g.deniedSample = { connection: c, index: newlyDeniedAt };
        g.deniedSampleFailed = !works;
      }
    } else if ((newlyAllowed || (!allowedBefore && works)) && (!g.sample || (deniedAt >= 0 && decider.after[g.sample.connection.firstProbe + g.sample.index] === 1))) {
      // Kept only where the group will be explained (newly allowed, or working flows denied already).
      g.sample = { connection: c, index: Math.max(deniedAt, 0) };
    }
  });

  for (const [what, why] of unevaluated) {
    notes.push(`not evaluated: ${what}: ${why}`);
  }
  // The same groups, in the same order, in every call with this grouping: sorted once.
  const finished = groups.map((g) => g && finishGroup(g, decider));
  grouping.sorted ??= finished.map((_, n) => n).sort((x, y) => groupOrder(finished[x]!, finished[y]!));
  const pick = (pred: (g: GroupAcc) => boolean) => grouping.sorted!.filter((n) => pred(groups[n]!)).map((n) => finished[n]!);
  const all = pick(() => true);
  const newlyDenied = pick((g) => g.newlyDeniedWorking);
  const newlyDeniedAttempts = pick((g) => g.newlyDenied && !g.newlyDeniedWorking);
  const newlyAllowed = pick((g) => g.newlyAllowed && !g.newlyDenied);
  const deniedBefore = pick((g) => g.workingDeniedBefore);
  if (deniedBefore.length > 0) {
    notes.push(
      `${deniedBefore.length} group(s) of working flows are denied by the policies in force: the snapshot's policies may not be what was enforced when the flows were recorded, or the network plugin does not enforce NetworkPolicies`,
    );
  }

  const unusedRules: UnusedRule[] = [];
  for (const policy of candidates) {
    const id = policyId(policy);
    for (const dir of ['ingress', 'egress'] as const) {
      if (!policy.isolates[dir]) {
        continue;
      }
      policy[dir].forEach((rule, i) => {
        if (!credit.used(id, `${dir}[${i}]`)) {
          unusedRules.push({ policy: id, rule: `${dir}[${i}]`, description: describeRule(rule, dir, policy.namespace) });
        }
      });
    }
  }
  const selectsNothing = candidates.filter((p) => afterEngine.selectedPods(p).length === 0).map(policyId);
  const { newlyIsolated, noLongerIsolated } = isolationChanges(cluster, inForce, after, index);
  const evidence = range.done();
  return {
    policies: {
      added: candidates.map(policyId).filter((id) => !inForceIds.has(id)),
      changed: candidates.map(policyId).filter((id) => inForceIds.has(id)),
      removed: [...removedIds].sort(compare),
    },
    flows: evidence.records,
    ...(evidence.records > 0 ? { firstSeenMs: evidence.firstSeenMs, lastSeenMs: evidence.lastSeenMs } : {}),
    counts,
    groups: all,
    newlyDenied,
    newlyDeniedAttempts,
    newlyAllowed,
    deniedBefore,
    unusedRules,
    selectsNothing,
    newlyIsolated,
    noLongerIsolated,
    notes,
  };
}

/** The probe of a connection's backend; made where it is evaluated, as memoised verdicts need none. */
function probeOf(c: ConnectionFacts, backend: number): Probe {
  const b = c.backends[backend];
  return { from: c.clientRef, to: b.ref, port: b.port, protocol: c.flow.protocol };
}

function endpointRef(peer: FlowPeer): EndpointRef {
  return peer.kind === 'pod' && peer.pods.length === 1 ? `${peer.pods[0].namespace}/${peer.pods[0].name}` : { ip: peer.ip };
}

/** The server pods to evaluate, each with its own number for the flow's (named) port; the address otherwise. */
function serverBackends(flow: EnrichedFlow): Backend[] {
  const { server } = flow;
  if (server.kind !== 'pod' || server.pods.length === 0) {
    return [{ ref: { ip: server.ip }, label: server.ip, port: flow.port }];
  }
  return server.pods.map((pod) => {
    const id = `${pod.namespace}/${pod.name}`;
    return { ref: id, label: id, port: portOn(pod, flow), pod };
  });
}

function portOn(pod: Pod, flow: EnrichedFlow): number {
  if (flow.portName) {
    const own = pod.ports.find((p) => p.name === flow.portName && p.protocol === flow.protocol);
    if (own) {
      return own.port;
    }
  }
  return flow.port;
}

/**
 * Decides connections before and after the change. The engine's verdict, and the rule that allows it,
 * depend on each pod only through its namespace, labels and named ports — unless an ipBlock of some
 * policy contains pod addresses (then the address matters too). So when no ipBlock contains a pod
 * address, verdicts and rule credits are memoised per class of (source, destination, port, protocol);
 * otherwise every probe is evaluated. The before-engine's verdicts are kept with the flows view, for the
 * next change judged against the same policies in force.
 */
class Decider {
  /** Per probe of the view: 1 where allowed before (after) the change, for the connections decided. */
  readonly before: Uint8Array;
  readonly after: Uint8Array;
  /** Per class key: 0 while undecided, else 1 + (1 if allowed before) + (2 if allowed after). */
  private readonly memo: Uint8Array;
  /** Per class key: the connection backend whose evaluation decided the class. */
  private readonly decidedBy = new Map<number, Sample>();
  /** Prepared for the after-engine on first need (connections no change touches are decided by the before-engine). */
  private readonly preparedAfter = new Map<number, PreparedProbe>();
  private readonly beforeVerdicts: (boolean | ProbeError | undefined)[];

  constructor(
    view: FlowsView,
    private readonly beforeEngine: PolicyEngine,
    private readonly afterEngine: PolicyEngine,
    private readonly changed: ChangedPods,
    private readonly credit: RuleCredit,
    private readonly byClass: boolean,
    private readonly problems: Map<string, string>,
  ) {
    this.before = new Uint8Array(view.probes);
    this.after = new Uint8Array(view.probes);
    this.memo = new Uint8Array(byClass ? view.classKeys : 0);
    if (view.before?.engine !== beforeEngine) {
      view.before = { engine: beforeEngine, verdicts: new Array<boolean | ProbeError | undefined>(view.probes).fill(undefined) };
    }
    this.beforeVerdicts = view.before.verdicts;
  }

  /** Decides every backend of a connection; false (and the problem noted) when one cannot be evaluated. */
  decide(c: ConnectionFacts): boolean {
    for (let i = 0; i < c.backends.length; i++) {
      const p = c.firstProbe + i;
      const key = this.byClass ? c.classKeys[i] : -1;
      const known = key >= 0 ? this.memo[key] : 0;
      if (known !== 0) {
        this.before[p] = (known - 1) & 1;
        this.after[p] = ((known - 1) >> 1) & 1;
        continue;
      }
      const backend = c.backends[i];
      const probe = probeOf(c, i);
      try {
        const dstPod = backend.pod && !backend.pod.hostNetwork ? backend.pod : undefined;
        // A verdict changes only where a changed policy selects the source (egress) or the destination (ingress).
        const touched = (c.srcPod !== undefined && this.changed.egress.has(c.srcPod)) || (dstPod !== undefined && this.changed.ingress.has(dstPod));
        const crediting = this.credit.open(c.srcPod, dstPod);
        let allowed: boolean;
        let allowedAfter: boolean;
        if (!touched && crediting) {
          // Same verdict before and after: one explained evaluation gives it and the rules to credit.
          const pa = this.afterEngine.prepare(probe);
          this.preparedAfter.set(p, pa);
          const v = this.afterEngine.evaluate(pa);
          allowed = allowedAfter = v.allowed;
          if (v.allowed) {
            this.credit.record(v.explanation);
          }
        } else {
          allowed = this.beforeVerdict(p, probe);
          allowedAfter = allowed;
          if (touched) {
            const pa = this.afterEngine.prepare(probe);
            this.preparedAfter.set(p, pa);
            allowedAfter = this.afterEngine.allows(pa);
            if (allowedAfter && crediting) {
              this.credit.record(this.afterEngine.evaluate(pa).explanation);
            }
          }
        }
        this.before[p] = allowed ? 1 : 0;
        this.after[p] = allowedAfter ? 1 : 0;
        if (key >= 0) {
          this.memo[key] = 1 + (allowed ? 1 : 0) + (allowedAfter ? 2 : 0);
          this.decidedBy.set(key, { connection: c, index: i });
        }
      } catch (e) {
        if (e instanceof ProbeError) {
          this.problems.set(`${typeof c.clientRef === 'string' ? c.clientRef : c.clientRef.ip} -> ${backend.label}:${backend.port}/${c.flow.protocol}`, e.message);
          return false;
        }
        throw e;
      }
    }
    return true;
  }

  /**
   * The after-engine's explanation of a sample's probe. A sample decided by its class's memoised verdict
   * may name a pod this snapshot lacks (the flows outlive pods): the connection that decided the class
   * explains it, as it explains every member of the class.
   */
  explain(s: Sample): string {
    try {
      return this.explainProbe(s);
    } catch (e) {
      const key = this.byClass ? s.connection.classKeys[s.index] : -1;
      const decider = key >= 0 ? this.decidedBy.get(key) : undefined;
      if (!(e instanceof ProbeError) || !decider) {
        throw e;
      }
      return this.explainProbe(decider);
    }
  }

  private explainProbe(s: Sample): string {
    const p = s.connection.firstProbe + s.index;
    let pa = this.preparedAfter.get(p);
    if (!pa) {
      pa = this.afterEngine.prepare(probeOf(s.connection, s.index));
      this.preparedAfter.set(p, pa);
    }
    return this.afterEngine.evaluate(pa).explanation.summary;
  }

  /** The before-engine's verdict; a probe that cannot be evaluated throws its ProbeError (the same for every engine of the cluster). */
  private beforeVerdict(p: number, probe: Probe): boolean {
    let v = this.beforeVerdicts[p];
    if (v === undefined) {
      try {
        v = this.beforeEngine.allows(this.beforeEngine.prepare(probe));
      } catch (e) {
        if (!(e instanceof ProbeError)) {
          throw e;
        }
        v = e;
      }
      this.beforeVerdicts[p] = v;
    }
    if (v instanceof ProbeError) {
      throw v;
    }
    return v;
  }
}

/** True when an ipBlock of one of the policies contains the address of a pod (outside its excepts). */
function ipBlocksMatchPods(cluster: Cluster, facts: ClusterFacts, policies: readonly NetworkPolicy[]): boolean {
  const blocks = new Map<string, PolicyPeer & { kind: 'ipBlock' }>();
  for (const p of policies) {
    for (const rule of [...p.ingress, ...p.egress]) {
      for (const peer of rule.peers) {
        if (peer.kind === 'ipBlock') {
          blocks.set(`${peer.cidr.text} ${peer.except.map((c) => c.text).join(',')}`, peer);
        }
      }
    }
  }
  if (blocks.size === 0) {
    return false;
  }
  const { v4, v6 } = (facts.addresses ??= {
    v4: Uint32Array.from(cluster.pods.filter((p) => !p.hostNetwork).flatMap((p) => p.ips.filter((ip) => ip.family === 4).map((ip) => ip.v4))).sort(),
    v6: cluster.pods.filter((p) => !p.hostNetwork).flatMap((p) => p.ips.filter((ip) => ip.family === 6)),
  });
  for (const block of blocks.values()) {
    const outside = (ip: IpAddress) => !block.except.some((e) => cidrContains(e, ip));
    if (block.cidr.family === 4) {
      const first = block.cidr.network.v4;
      const last = first + 2 ** (32 - block.cidr.prefix) - 1;
      for (let i = lowerBound(v4, first); i < v4.length && v4[i] <= last; i++) {
        if (block.except.length === 0 || outside(parseIp(numberToIpv4(v4[i]))!)) {
          return true;
        }
      }
    } else if (v6.some((ip) => cidrContains(block.cidr, ip) && outside(ip))) {
      return true;
    }
  }
  return false;
}

function lowerBound(sorted: Uint32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

interface ChangedPods {
  readonly ingress: ReadonlySet<Pod>;
  readonly egress: ReadonlySet<Pod>;
}

/** Pods selected, in a direction they isolate, by a policy that changes: added, removed, or replaced by a different one (either version). */
function changedPods(facts: ClusterFacts, policies: readonly NetworkPolicy[]): ChangedPods {
  const byNamespace = facts.podsByNamespace;
  const ingress = new Set<Pod>();
  const egress = new Set<Pod>();
  for (const policy of policies) {
    for (const pod of byNamespace.get(policy.namespace) ?? []) {
      if (!pod.hostNetwork && selectorMatches(policy.podSelector, pod.labels)) {
        if (policy.isolates.ingress) {
          ingress.add(pod);
        }
        if (policy.isolates.egress) {
          egress.add(pod);
        }
      }
    }
  }
  return { ingress, egress };
}

/** Equal for policies that give every connection the same verdict by the same rules (source and name aside). */
function fingerprint(p: NetworkPolicy): string {
  const sel = (s: LabelSelector | undefined) => (s === undefined ? '-' : formatSelector(s));
  const peer = (x: PolicyPeer) => (x.kind === 'ipBlock' ? `ip ${x.cidr.text} except ${x.except.map((c) => c.text).join(',')}` : `pods ${sel(x.podSelector)} ns ${sel(x.namespaceSelector)}`);
  const port = (x: PolicyPort) => `${x.protocol}/${x.port ?? '*'}-${x.endPort ?? ''}`;
  const rules = (rs: readonly PolicyRule[]) => rs.map((r) => `[${r.peers.map(peer).join(';')}|${r.ports.map(port).join(';')}]`).join('');
  return `${p.namespace}|${formatSelector(p.podSelector)}|${p.isolates.ingress}|${p.isolates.egress}|in${rules(p.ingress)}|eg${rules(p.egress)}`;
}

/**
 * Which candidate rules observed flows use, from the engine's `allowedBy`. Explaining a verdict costs more
 * than deciding it, so a connection is explained only while some candidate that isolates one of its ends
 * still has a rule in that direction that no flow has used.
 */
class RuleCredit {
  private readonly usedRules = new Set<string>();
  private readonly index = new Map<string, number>();
  /** Per candidate: rules of each direction not yet used. */
  private readonly remaining: { ingress: number; egress: number }[];
  private readonly ingressOf = new Map<Pod, number[]>();
  private readonly egressOf = new Map<Pod, number[]>();

  constructor(facts: ClusterFacts, candidates: readonly NetworkPolicy[]) {
    this.remaining = candidates.map((p) => ({ ingress: p.isolates.ingress ? p.ingress.length : 0, egress: p.isolates.egress ? p.egress.length : 0 }));
    const byNamespace = facts.podsByNamespace;
    candidates.forEach((policy, i) => {
      this.index.set(policyId(policy), i);
      for (const pod of byNamespace.get(policy.namespace) ?? []) {
        if (!pod.hostNetwork && selectorMatches(policy.podSelector, pod.labels)) {
          for (const [dir, map] of [['ingress', this.ingressOf], ['egress', this.egressOf]] as const) {
            if (policy.isolates[dir]) {
              map.set(pod, [...(map.get(pod) ?? []), i]);
            }
          }
        }
      }
    });
  }

  used(policy: string, rule: string): boolean {
    return this.usedRules.has(`${policy}|${rule}`);
  }

  /** True while a candidate isolating the source (egress) or the destination (ingress) has a rule no flow has used yet. */
  open(src: Pod | undefined, dst: Pod | undefined): boolean {
    return this.openFor(src, 'egress') || this.openFor(dst, 'ingress');
  }

  /** Credits the rules that allowed a connection. */
  record(explanation: Explanation): void {
    for (const [dir, match] of [['egress', explanation.egress.allowedBy], ['ingress', explanation.ingress.allowedBy]] as const) {
      const key = match ? `${match.policy}|${match.rule}` : undefined;
      if (key && !this.usedRules.has(key)) {
        this.usedRules.add(key);
        const i = this.index.get(match!.policy);
        if (i !== undefined) {
          this.remaining[i][dir]--;
        }
      }
    }
  }

  private openFor(pod: Pod | undefined, dir: 'ingress' | 'egress'): boolean {
    const list = pod ? (dir === 'ingress' ? this.ingressOf : this.egressOf).get(pod) : undefined;
    return list !== undefined && list.some((i) => this.remaining[i][dir] > 0);
  }
}

function addOnce(list: string[], item: string): void {
  if (!list.includes(item)) {
    list.push(item);
  }
}

function summarize(peer: FlowPeer, index: WorkloadIndex, side: 'client' | 'server'): EndpointSummary {
  const ip = peer.ip;
  switch (peer.kind) {
    case 'pod': {
      if (peer.pods.length === 0) {
        return peer.service
          ? { kind: 'service', label: `Service ${peer.service.namespace}/${peer.service.name} (no ready backend)`, namespace: peer.service.namespace, ip }
          : { kind: 'external', label: ip, ip };
      }
      // The enrichment names the workload when every backend belongs to it.
      const workloads = peer.workload
        ? new Map([[describeWorkload(peer.workload), peer.workload]])
        : new Map(
            peer.pods.map((p) => {
              const w = index.workloadOf(p);
              return [describeWorkload(w), w] as const;
            }),
          );
      if (workloads.size === 1) {
        const [[label, workload]] = [...workloads];
        return { kind: 'workload', label, namespace: workload.namespace, workload, ip };
      }
      const svc = peer.service!;
      return { kind: 'service', label: `Service ${svc.namespace}/${svc.name} (${[...workloads.keys()].sort(compare).join(', ')})`, namespace: svc.namespace, ip };
    }
    case 'node': {
      const host = side === 'server' && peer.pods.length === 1 ? peer.pods[0] : undefined;
      if (host) {
        const w = index.workloadOf(host);
        return { kind: 'node', label: `${describeWorkload(w)} (host network of node ${peer.node ?? '?'}, ${ip})`, namespace: host.namespace, workload: w, ip };
      }
      return { kind: 'node', label: `node ${peer.node ?? '?'} (${ip})`, ip };
    }
    case 'cloud-service':
      return { kind: 'cloud-service', label: `${peer.cloudService ?? 'cloud'} ${ip}`, ip };
    case 'external':
      return { kind: 'external', label: ip, ip };
  }
}

function finishGroup(g: GroupAcc, decider: Decider): FlowGroup {
  const sample = g.deniedSample ?? g.sample;
  // Explaining costs more than deciding: only where the verdict changed, or working flows are denied already.
  const explanation = sample ? decider.explain(sample) : undefined;
  return {
    client: g.client,
    server: g.server,
    port: g.port,
    ...(g.portName !== undefined ? { portName: g.portName } : {}),
    protocol: g.protocol,
    services: [...g.services].sort(compare),
    before: g.anyDeniedBefore ? 'deny' : 'allow',
    after: g.anyDeniedAfter ? 'deny' : 'allow',
    evidence: g.evidence.done(),
    backends: g.backends.length,
    newlyDeniedBackends: [...g.newlyDeniedBackends].sort(compare),
    ...(explanation !== undefined ? { explanation } : {}),
  };
}

function groupOrder(a: FlowGroup, b: FlowGroup): number {
  return compare(a.client.label, b.client.label) || compare(a.server.label, b.server.label) || a.port - b.port || compare(a.protocol, b.protocol);
}

function isolationChanges(cluster: Cluster, before: readonly NetworkPolicy[], after: readonly NetworkPolicy[], index: WorkloadIndex) {
  const isolating = (policies: readonly NetworkPolicy[], pod: Pod, dir: 'ingress' | 'egress') =>
    policies.filter((p) => p.namespace === pod.namespace && p.isolates[dir] && selectorMatches(p.podSelector, pod.labels)).map(policyId).sort(compare);
  const byNs = (policies: readonly NetworkPolicy[]) => {
    const m = new Map<string, NetworkPolicy[]>();
    policies.forEach((p) => m.set(p.namespace, [...(m.get(p.namespace) ?? []), p]));
    return m;
  };
  const b = byNs(before);
  const a = byNs(after);
  const newlyIsolated: IsolationChange[] = [];
  const noLongerIsolated: IsolationChange[] = [];
  for (const pod of cluster.pods) {
    if (pod.hostNetwork || pod.phase === 'Succeeded' || pod.phase === 'Failed') {
      continue;
    }
    for (const dir of ['ingress', 'egress'] as const) {
      const was = isolating(b.get(pod.namespace) ?? [], pod, dir);
      const now = isolating(a.get(pod.namespace) ?? [], pod, dir);
      const change = () => ({ pod: `${pod.namespace}/${pod.name}`, workload: index.workloadOf(pod), direction: dir, by: now });
      if (was.length === 0 && now.length > 0) {
        newlyIsolated.push(change());
      } else if (was.length > 0 && now.length === 0) {
        noLongerIsolated.push(change());
      }
    }
  }
  const order = (x: IsolationChange, y: IsolationChange) => compare(x.pod, y.pod) || compare(y.direction, x.direction);
  return { newlyIsolated: newlyIsolated.sort(order), noLongerIsolated: noLongerIsolated.sort(order) };
}

/** "from pods app=ui in namespace shop; on http/TCP" */
export function describeRule(rule: PolicyRule, dir: 'ingress' | 'egress', namespace: string): string {
  const peers = rule.peers.length === 0 ? 'every peer' : rule.peers.map((p) => describePeer(p, namespace)).join(' or ');
  const ports = rule.ports.length === 0 ? 'every port' : rule.ports.map(describePort).join(', ');
  return `${dir === 'ingress' ? 'from' : 'to'} ${peers}; on ${ports}`;
}

function describePeer(peer: PolicyPeer, namespace: string): string {
  if (peer.kind === 'ipBlock') {
    return `${peer.cidr.text}${peer.except.length > 0 ? ` except ${peer.except.map((c) => c.text).join(', ')}` : ''}`;
  }
  const pods = peer.podSelector && !isEmptySelector(peer.podSelector) ? `pods ${formatSelector(peer.podSelector)}` : 'all pods';
  const nsSel = peer.namespaceSelector;
  if (!nsSel) {
    return `${pods} in namespace ${namespace}`;
  }
  const name = nsSel.matchExpressions.length === 0 && nsSel.matchLabels.size === 1 ? nsSel.matchLabels.get('kubernetes.io/metadata.name') : undefined;
  return `${pods} in ${name ? `namespace ${name}` : isEmptySelector(nsSel) ? 'every namespace' : `namespaces ${formatSelector(nsSel)}`}`;
}

function describePort(p: PolicyPort): string {
  if (p.port === undefined) {
    return `every ${p.protocol} port`;
  }
  return p.endPort !== undefined ? `${p.port}-${p.endPort}/${p.protocol}` : `${p.port}/${p.protocol}`;
}
