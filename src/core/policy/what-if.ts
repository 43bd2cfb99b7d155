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
 * verdict is explained only while it can still credit an unused candidate rule.
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

interface Outcome {
  readonly backends: readonly Backend[];
  readonly probes: readonly Probe[];
  readonly before: readonly boolean[];
  readonly after: readonly boolean[];
  /** Prepared for the after-engine on first need (connections no change touches are decided by the before-engine). */
  readonly preparedAfter: (PreparedProbe | undefined)[];
}

interface Connection {
  readonly group: GroupAcc;
  readonly outcome: Outcome;
  readonly allowedBefore: boolean;
  readonly allowedAfter: boolean;
  /** The first backend the change denies, or -1. */
  readonly newlyDeniedAt: number;
  readonly newlyAllowed: boolean;
  /** The first backend denied after the change, or -1. */
  readonly deniedAt: number;
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
  sample?: { outcome: Outcome; index: number };
  deniedSample?: { outcome: Outcome; index: number };
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
  const changed = changedPods(cluster, [
    ...differs,
    ...differs.map((c) => inForceById.get(policyId(c))).filter((p): p is NetworkPolicy => p !== undefined),
    ...inForce.filter((p) => removedIds.has(policyId(p))),
  ]);
  const before = new PolicyEngine(cluster, inForce);
  const afterEngine = new PolicyEngine(cluster, after);
  const notes: string[] = [];

  const flows = input.flows.filter((f) => (input.window?.fromMs === undefined || f.endMs >= input.window.fromMs) && (input.window?.toMs === undefined || f.startMs <= input.window.toMs));
  const index = new WorkloadIndex(cluster, flows);
  const credit = new RuleCredit(cluster, candidates);
  const summaries = new Map<string, EndpointSummary>();
  const groups = new Map<string, GroupAcc>();
  const range = new EvidenceTally();
  const counts = { allowedBefore: 0, allowedAfter: 0, newlyDenied: 0, newlyAllowed: 0 };
  const unevaluated = new Map<string, string>();
  const decider = new Decider(before, afterEngine, changed, credit, !ipBlocksMatchPods(cluster, [...inForce, ...candidates]), unevaluated);

  // Everything that depends only on the connection (client, server, port, protocol) is worked out once;
  // each record then only adds its evidence. Records of one connection repeat once per agent window.
  const summary = (id: string, peer: FlowPeer, side: 'client' | 'server') => {
    let found = summaries.get(id);
    if (!found) {
      found = summarize(peer, index, side);
      summaries.set(id, found);
    }
    return found;
  };
  const connect = (flow: EnrichedFlow, clientId: string, serverId: string): Connection | null => {
    const backends = serverBackends(flow);
    const outcome = decider.outcome(flow.client, endpointRef(flow.client), backends, flow.protocol);
    if (outcome === null) {
      return null;
    }
    const client = summary(clientId, flow.client, 'client');
    const server = summary(serverId, flow.server, 'server');
    const gkey = `${client.label}|${server.label}|${flow.port}|${flow.portName ?? ''}|${flow.protocol}`;
    let g = groups.get(gkey);
    if (!g) {
      g = {
        client,
        server,
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
      groups.set(gkey, g);
    }
    let allowedBefore = true;
    let allowedAfter = true;
    let newlyDeniedAt = -1;
    let deniedAt = -1;
    let opened = false;
    for (let i = 0; i < outcome.before.length; i++) {
      const b = outcome.before[i];
      const a = outcome.after[i];
      allowedBefore &&= b;
      allowedAfter &&= a;
      if (!a && deniedAt < 0) {
        deniedAt = i;
      }
      if (b && !a) {
        if (newlyDeniedAt < 0) {
          newlyDeniedAt = i;
        }
        addOnce(g.newlyDeniedBackends, outcome.backends[i].label);
      }
      opened ||= !b && a;
    }
    const newlyAllowed = newlyDeniedAt < 0 && opened;
    if (flow.server.service) {
      addOnce(g.services, `${flow.server.service.namespace}/${flow.server.service.name}:${flow.server.service.port}`);
    }
    for (const b of outcome.backends) {
      addOnce(g.backends, b.label);
    }
    g.anyDeniedBefore ||= !allowedBefore;
    g.anyDeniedAfter ||= !allowedAfter;
    g.newlyDenied ||= newlyDeniedAt >= 0;
    g.newlyAllowed ||= newlyAllowed;
    return { group: g, outcome, allowedBefore, allowedAfter, newlyDeniedAt, newlyAllowed, deniedAt };
  };

  for (const { flow, working, failed } of connections(flows)) {
    const { client, server } = flow;
    const clientId = client.kind === 'pod' && client.pods.length === 1 ? `${client.pods[0].namespace}/${client.pods[0].name}` : client.ip;
    const serverId = server.pods.length === 1 ? `${server.kind}:${server.pods[0].namespace}/${server.pods[0].name}` : `${server.kind}:${server.ip}#${server.pods.length}`;
    const conn = connect(flow, clientId, serverId);
    if (conn === null) {
      continue;
    }
    const records = working.records + failed.records;
    range.merge(working);
    range.merge(failed);
    counts.allowedBefore += conn.allowedBefore ? records : 0;
    counts.allowedAfter += conn.allowedAfter ? records : 0;
    counts.newlyDenied += conn.newlyDeniedAt >= 0 ? records : 0;
    counts.newlyAllowed += conn.newlyAllowed ? records : 0;
    const g = conn.group;
    const works = working.records > 0;
    g.evidence.merge(working);
    g.evidence.merge(failed);
    g.workingDeniedBefore ||= !conn.allowedBefore && works;
    g.newlyDeniedWorking ||= conn.newlyDeniedAt >= 0 && works;
    // The explanation shown: a newly denied connection (of working traffic, preferably), else a denied one, else any.
    if (conn.newlyDeniedAt >= 0) {
      if (!g.deniedSample || (g.deniedSampleFailed && works)) {
        g.deniedSample = { outcome: conn.outcome, index: conn.newlyDeniedAt };
        g.deniedSampleFailed = !works;
      }
    } else if ((conn.newlyAllowed || (!conn.allowedBefore && works)) && (!g.sample || (conn.deniedAt >= 0 && g.sample.outcome.after[g.sample.index]))) {
      // Kept only where the group will be explained (newly allowed, or working flows denied already): other outcomes are garbage at once.
      g.sample = { outcome: conn.outcome, index: Math.max(conn.deniedAt, 0) };
    }
  }

  for (const [what, why] of unevaluated) {
    notes.push(`not evaluated: ${what}: ${why}`);
  }
  const finished = new Map([...groups.values()].map((g) => [g, finishGroup(g, afterEngine)]));
  const pick = (pred: (g: GroupAcc) => boolean) => [...groups.values()].filter(pred).map((g) => finished.get(g)!).sort(groupOrder);
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

function endpointRef(peer: FlowPeer): EndpointRef {
  return peer.kind === 'pod' && peer.pods.length === 1 ? `${peer.pods[0].namespace}/${peer.pods[0].name}` : { ip: peer.ip };
}

/** The server pods to evaluate, each with its own number for the flow's (named) port; the address otherwise. */
function serverBackends(flow: EnrichedFlow): Backend[] {
  const { server } = flow;
  if (server.kind !== 'pod' || server.pods.length === 0) {
    return [{ ref: { ip: server.ip }, label: server.ip, port: flow.port }];
  }
  return server.pods.map((pod) => ({ ref: `${pod.namespace}/${pod.name}`, label: `${pod.namespace}/${pod.name}`, port: portOn(pod, flow), pod }));
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
 * otherwise every probe is evaluated.
 */
class Decider {
  private readonly memo = new Map<string, { before: boolean; after: boolean }>();
  /** Pod -> class number; equal numbers for equal (namespace, labels, named ports). */
  private readonly classOf = new Map<Pod, number>();
  private readonly classes = new Map<string, number>();

  constructor(
    private readonly before: PolicyEngine,
    private readonly after: PolicyEngine,
    private readonly changed: ChangedPods,
    private readonly credit: RuleCredit,
    private readonly byClass: boolean,
    private readonly problems: Map<string, string>,
  ) {}

  outcome(client: FlowPeer, clientRef: EndpointRef, backends: readonly Backend[], protocol: Protocol): Outcome | null {
    const b: boolean[] = [];
    const a: boolean[] = [];
    const probes: Probe[] = [];
    const preparedAfter: (PreparedProbe | undefined)[] = [];
    const srcClass = this.byClass && client.kind === 'pod' && client.pods.length === 1 ? this.podClass(client.pods[0]) : undefined;
    for (const backend of backends) {
      const probe = { from: clientRef, to: backend.ref, port: backend.port, protocol };
      probes.push(probe);
      const key = srcClass !== undefined && backend.pod ? `${srcClass}>${this.podClass(backend.pod)}:${backend.port}/${protocol}` : undefined;
      const known = key !== undefined ? this.memo.get(key) : undefined;
      if (known) {
        b.push(known.before);
        a.push(known.after);
        preparedAfter.push(undefined);
        continue;
      }
      try {
        // The pods at the ends, as the flow names them (a host-network pod is its node: no pod end).
        const srcPod = client.kind === 'pod' && client.pods.length === 1 && !client.pods[0].hostNetwork ? client.pods[0] : undefined;
        const dstPod = backend.pod && !backend.pod.hostNetwork ? backend.pod : undefined;
        // A verdict changes only where a changed policy selects the source (egress) or the destination (ingress).
        const touched = (srcPod !== undefined && this.changed.egress.has(srcPod)) || (dstPod !== undefined && this.changed.ingress.has(dstPod));
        const crediting = this.credit.open(srcPod, dstPod);
        let allowed: boolean;
        let allowedAfter: boolean;
        let pa: PreparedProbe | undefined;
        if (!touched && crediting) {
          // Same verdict before and after: one explained evaluation gives it and the rules to credit.
          pa = this.after.prepare(probe);
          const v = this.after.evaluate(pa);
          allowed = allowedAfter = v.allowed;
          if (v.allowed) {
            this.credit.record(v.explanation);
          }
        } else {
          allowed = this.before.allows(this.before.prepare(probe));
          allowedAfter = allowed;
          if (touched) {
            pa = this.after.prepare(probe);
            allowedAfter = this.after.allows(pa);
            if (allowedAfter && crediting) {
              this.credit.record(this.after.evaluate(pa).explanation);
            }
          }
        }
        b.push(allowed);
        a.push(allowedAfter);
        preparedAfter.push(pa);
        if (key !== undefined) {
          this.memo.set(key, { before: allowed, after: allowedAfter });
        }
      } catch (e) {
        if (e instanceof ProbeError) {
          this.problems.set(`${typeof clientRef === 'string' ? clientRef : clientRef.ip} -> ${backend.label}:${backend.port}/${protocol}`, e.message);
          return null;
        }
        throw e;
      }
    }
    return { backends, probes, before: b, after: a, preparedAfter };
  }

  private podClass(pod: Pod): number {
    let c = this.classOf.get(pod);
    if (c === undefined) {
      const labels = [...pod.labels].sort(([x], [y]) => compare(x, y)).map(([k, v]) => `${k}=${v}`).join(',');
      const ports = pod.ports.map((p) => `${p.name ?? ''}:${p.port}/${p.protocol}`).sort(compare).join(',');
      const text = pod.hostNetwork ? `host ${pod.namespace}/${pod.name}` : `${pod.namespace}|${labels}|${ports}`;
      c = this.classes.get(text) ?? this.classes.size;
      this.classes.set(text, c);
      this.classOf.set(pod, c);
    }
    return c;
  }
}

/** True when an ipBlock of one of the policies contains the address of a pod (outside its excepts). */
function ipBlocksMatchPods(cluster: Cluster, policies: readonly NetworkPolicy[]): boolean {
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
  const v4 = Uint32Array.from(cluster.pods.filter((p) => !p.hostNetwork).flatMap((p) => p.ips.filter((ip) => ip.family === 4).map((ip) => ip.v4))).sort();
  const v6 = cluster.pods.filter((p) => !p.hostNetwork).flatMap((p) => p.ips.filter((ip) => ip.family === 6));
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

function prepared(engine: PolicyEngine, outcome: Outcome, i: number): PreparedProbe {
  return (outcome.preparedAfter[i] ??= engine.prepare(outcome.probes[i]));
}

interface ChangedPods {
  readonly ingress: ReadonlySet<Pod>;
  readonly egress: ReadonlySet<Pod>;
}

/** Pods selected, in a direction they isolate, by a policy that changes: added, removed, or replaced by a different one (either version). */
function changedPods(cluster: Cluster, policies: readonly NetworkPolicy[]): ChangedPods {
  const byNamespace = podsByNamespace(cluster);
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

  constructor(cluster: Cluster, candidates: readonly NetworkPolicy[]) {
    this.remaining = candidates.map((p) => ({ ingress: p.isolates.ingress ? p.ingress.length : 0, egress: p.isolates.egress ? p.egress.length : 0 }));
    const byNamespace = podsByNamespace(cluster);
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

function podsByNamespace(cluster: Cluster): Map<string, Pod[]> {
  const out = new Map<string, Pod[]>();
  for (const pod of cluster.pods) {
    const list = out.get(pod.namespace);
    if (list) {
      list.push(pod);
    } else {
      out.set(pod.namespace, [pod]);
    }
  }
  return out;
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

function finishGroup(g: GroupAcc, after: PolicyEngine): FlowGroup {
  const sample = g.deniedSample ?? g.sample;
  // Explaining costs more than deciding: only where the verdict changed, or working flows are denied already.
  const explanation = sample ? after.evaluate(prepared(after, sample.outcome, sample.index)).explanation.summary : undefined;
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
