/**
 * The model of the upstream e2e NetworkPolicy tests (kubernetes/kubernetes test/e2e/network/netpol):
 * namespaces x, y and z, each with pods a, b and c, every pod serving TCP, UDP and SCTP on ports 80 and
 * 81 through container ports named serve-<port>-<protocol>. Policies are then judged by full
 * reachability matrices ("truth tables") over every source/destination pair.
 *
 * What the model adds to the upstream one, for the semantics the e2e tests cannot observe:
 * - Labels for the selector operators: pods carry `pod: <name>` and `team` (a: red, b: blue, c: none);
 *   namespaces carry `ns: <name>` and `env` (x: prod, y: dev, z: none). The API server's
 *   `kubernetes.io/metadata.name` label is deliberately NOT written here.
 * - A container port named `web` that differs per pod: a 8080/TCP, b 8081/TCP, c 8080/UDP.
 * - Dual-stack addresses: pod <ns>/<pod> has 198.18.<n>.<p> and 2001:db8:<n>::<p>, where x, y, z are
 *   n = 1, 2, 3 and a, b, c are p = 1, 2, 3 (so each namespace's pods fill one /24 and one /48).
 * - Nodes: pod a of every namespace runs on node-1 (198.19.0.1), b on node-2, c on node-3; each node
 *   runs a host-network pod kube-system/agent-<i> whose address is the node's.
 *
 * Self-connections (x/a -> x/a through the pod's own address) are part of every matrix and follow the
 * same rules as any other pair: the API exempts only localhost, which a probe by pod address is not.
 * (Upstream ignores that diagonal because CNIs differ on hairpin traffic.)
 */
import { AssertionError } from 'node:assert';
import type { Protocol } from '../../../src/core/kube/objects';
import { PolicyEngine, type EndpointRef } from '../../../src/core/policy/engine';
import { clusterFromYaml } from '../fixtures';

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
/** The nine pods, "x/a" ... "z/c". */
export const PODS: readonly string[] = NAMESPACES.flatMap((ns) => POD_NAMES.map((pod) => `${ns}/${pod}`));
export const NODES = ['node-1', 'node-2', 'node-3'] as const;
/** Host-network pods, one per node: kube-system/agent-1 runs on node-1. */
export const HOST_NETWORK_PODS: readonly string[] = NODES.map((_, i) => `kube-system/agent-${i + 1}`);
/** Hosts outside the cluster. */
export const INTERNET = { ip: '198.51.100.7' } as const;
export const INTERNET_V6 = { ip: '2001:db8:ff::7' } as const;

const NAMESPACE_LABELS: Record<string, Record<string, string>> = { x: { env: 'prod' }, y: { env: 'dev' }, z: {} };
const POD_LABELS: Record<string, Record<string, string>> = { a: { team: 'red' }, b: { team: 'blue' }, c: {} };
const WEB_PORT: Record<string, { containerPort: number; protocol: Protocol }> = {
  a: { containerPort: 8080, protocol: 'TCP' },
  b: { containerPort: 8081, protocol: 'TCP' },
  c: { containerPort: 8080, protocol: 'UDP' },
};

/** The address of a model pod ("y/b") in the given family. */
export function podIp(pod: string, family: 4 | 6 = 4): string {
  const [ns, name] = pod.split('/');
  const n = NAMESPACES.indexOf(ns as (typeof NAMESPACES)[number]) + 1;
  const p = POD_NAMES.indexOf(name as (typeof POD_NAMES)[number]) + 1;
  if (n === 0 || p === 0) {
    throw new Error(`${pod} is not a pod of the x/y/z model`);
  }
  return family === 4 ? `198.18.${n}.${p}` : `2001:db8:${n}::${p}`;
}

export function nodeIp(node: (typeof NODES)[number]): string {
  return `198.19.0.${NODES.indexOf(node) + 1}`;
}

/** The node's address as a probe endpoint. */
export function nodeAddress(node: (typeof NODES)[number]): { ip: string } {
  return { ip: nodeIp(node) };
}

// Every scalar is written as a JSON string: YAML 1.1 (what kubectl reads) would turn `y` into true.
const q = JSON.stringify;

function namespaceYaml(name: string, labels: Record<string, string>): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${q(name)}
  labels: ${q(labels)}`;
}

function containerYaml(name: string, port: { name: string; containerPort: number; protocol: Protocol }): string {
  return `  - name: ${q(name)}
    image: registry.k8s.io/e2e-test-images/agnhost:2.53
    ports:
    - {name: ${q(port.name)}, containerPort: ${port.containerPort}, protocol: ${q(port.protocol)}}`;
}

function podYaml(ns: string, name: string, node: string): string {
  const containers = [80, 81].flatMap((port) =>
    (['TCP', 'UDP', 'SCTP'] as const).map((protocol) => {
      const portName = `serve-${port}-${protocol.toLowerCase()}`;
      return containerYaml(`cont-${port}-${protocol.toLowerCase()}`, { name: portName, containerPort: port, protocol });
    }),
  );
  containers.push(containerYaml('web', { name: 'web', ...WEB_PORT[name] }));
  const pod = `${ns}/${name}`;
  return `apiVersion: v1
kind: Pod
metadata:
  namespace: ${q(ns)}
  name: ${q(name)}
  labels: ${q({ pod: name, ...POD_LABELS[name] })}
spec:
  nodeName: ${q(node)}
  containers:
${containers.join('\n')}
status:
  phase: Running
  podIP: ${q(podIp(pod))}
  podIPs:
  - ip: ${q(podIp(pod))}
  - ip: ${q(podIp(pod, 6))}`;
}

function nodeYaml(node: (typeof NODES)[number]): string {
  return `apiVersion: v1
kind: Node
metadata:
  name: ${q(node)}
status:
  addresses:
  - {type: InternalIP, address: ${q(nodeIp(node))}}
  - {type: Hostname, address: ${q(node)}}`;
}

function hostNetworkPodYaml(node: (typeof NODES)[number], i: number): string {
  return `apiVersion: v1
kind: Pod
metadata:
  namespace: kube-system
  name: ${q(`agent-${i + 1}`)}
  labels: {app: flowlens-agent}
spec:
  nodeName: ${q(node)}
  hostNetwork: true
  containers:
  - name: agent
    ports:
    - {name: metrics, containerPort: 9101, protocol: TCP}
status:
  phase: Running
  podIP: ${q(nodeIp(node))}`;
}

/** The whole model as one multi-document manifest. */
export const MODEL_YAML = [
  ...NAMESPACES.map((ns) => namespaceYaml(ns, { ns, ...NAMESPACE_LABELS[ns] })),
  namespaceYaml('kube-system', {}),
  ...NODES.map(nodeYaml),
  ...NODES.map(hostNetworkPodYaml),
  ...NAMESPACES.flatMap((ns) => POD_NAMES.map((pod, i) => podYaml(ns, pod, NODES[i]))),
].join('\n---\n');

/** A NetworkPolicy manifest (JSON, which is also YAML). `spec` is written exactly as given. */
export function netpol(namespace: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec });
}

/** An engine over the model with the given NetworkPolicy manifests in force. */
export function xyzEngine(...policies: string[]): PolicyEngine {
  return new PolicyEngine(clusterFromYaml([MODEL_YAML, ...policies].join('\n---\n'), 'xyz-model.yaml'));
}

/** A probe endpoint: "namespace/pod" or an address. */
export type Endpoint = string | { readonly ip: string };

function labelOf(endpoint: Endpoint): string {
  return typeof endpoint === 'string' ? endpoint : endpoint.ip;
}

/**
 * A pattern names endpoints: "*" (all), "x" (every pod of namespace x), "*\/a" (pod a of every
 * namespace), "x/a" (one pod) or an address ("198.51.100.7").
 */
function matches(pattern: string, label: string): boolean {
  if (pattern === '*' || pattern === label) {
    return true;
  }
  if (pattern.startsWith('*/')) {
    return label.includes('/') && label.endsWith(pattern.slice(1));
  }
  return !pattern.includes('/') && label.startsWith(`${pattern}/`);
}

/** Expected verdicts for every (from, to) pair; starts with every pair allowed unless told otherwise. */
export class Reachability {
  readonly from: readonly Endpoint[];
  readonly to: readonly Endpoint[];
  private readonly verdicts = new Map<string, boolean>();

  constructor(options: { from?: readonly Endpoint[]; to?: readonly Endpoint[]; allowed?: boolean } = {}) {
    this.from = options.from ?? PODS;
    this.to = options.to ?? PODS;
    for (const f of this.from) {
      for (const t of this.to) {
        this.verdicts.set(key(labelOf(f), labelOf(t)), options.allowed ?? true);
      }
    }
  }

  /** Sets every pair whose source matches `from` and destination matches `to`; later calls win. */
  expect(from: string, to: string, allowed: boolean): this {
    const sources = this.from.map(labelOf).filter((l) => matches(from, l));
    const destinations = this.to.map(labelOf).filter((l) => matches(to, l));
    if (sources.length === 0 || destinations.length === 0) {
      throw new Error(`expect(${from}, ${to}): the pattern matches no ${sources.length === 0 ? 'source' : 'destination'} of this matrix`);
    }
    for (const f of sources) {
      for (const t of destinations) {
        this.verdicts.set(key(f, t), allowed);
      }
    }
    return this;
  }

  allowed(from: Endpoint, to: Endpoint): boolean {
    return this.verdicts.get(key(labelOf(from), labelOf(to))) as boolean;
  }
}

function key(from: string, to: string): string {
  return `${from} -> ${to}`;
}

/** What a matrix probes: a port (number or the destination's port name), a protocol, an address family. */
export interface Traffic {
  readonly port: number | string;
  readonly protocol?: Protocol;
  /** 6: model pods are probed by their IPv6 addresses. Default: "namespace/pod" (the engine picks IPv4). */
  readonly family?: 4 | 6;
}

export const tcp = (port: number | string): Traffic => ({ port, protocol: 'TCP' });
export const udp = (port: number | string): Traffic => ({ port, protocol: 'UDP' });
export const sctp = (port: number | string): Traffic => ({ port, protocol: 'SCTP' });
export const ipv6 = (traffic: Traffic): Traffic => ({ ...traffic, family: 6 });

function probeRef(endpoint: Endpoint, family: 4 | 6 | undefined): EndpointRef {
  return family === 6 && typeof endpoint === 'string' && PODS.includes(endpoint) ? { ip: podIp(endpoint, 6) } : endpoint;
}

/**
 * Probes every pair of the matrix for each traffic kind and fails with the expected and actual truth
 * tables (rows: from, columns: to; "." allow, "X" deny, "!" marks a cell that differs) and the
 * engine's explanation of every differing pair.
 */
export function assertReachability(engine: PolicyEngine, expected: Reachability, ...traffic: Traffic[]): void {
  const failures: string[] = [];
  for (const t of traffic) {
    const protocol = t.protocol ?? 'TCP';
    const actual = new Map<string, boolean>();
    const wrong: string[] = [];
    for (const from of expected.from) {
      for (const to of expected.to) {
        const prepared = engine.prepare({ from: probeRef(from, t.family), to: probeRef(to, t.family), port: t.port, protocol });
        const allowed = engine.allows(prepared);
        actual.set(key(labelOf(from), labelOf(to)), allowed);
        if (allowed !== expected.allowed(from, to)) {
          wrong.push(`  ${key(labelOf(from), labelOf(to))}: expected ${verdictWord(!allowed)}, engine says ${engine.evaluate(prepared).explanation.summary}`);
        }
      }
    }
    if (wrong.length > 0) {
      const rows = expected.from.map(labelOf);
      const columns = expected.to.map(labelOf);
      const pairs = rows.length * columns.length;
      failures.push(
        [
          `${t.port}/${protocol}${t.family === 6 ? ' over IPv6' : ''}: ${wrong.length} of ${pairs} pairs differ`,
          'expected:',
          truthTable(rows, columns, (f, c) => mark(expected.allowed(f, c))),
          'actual:',
          truthTable(rows, columns, (f, c) => {
            const got = actual.get(key(f, c)) as boolean;
            return got === expected.allowed(f, c) ? mark(got) : `${mark(got)}!`;
          }),
          'differences:',
          ...wrong,
        ].join('\n'),
      );
    }
  }
  if (failures.length > 0) {
    throw new AssertionError({ message: `reachability differs from the expectation\n${failures.join('\n\n')}` });
  }
}

function verdictWord(allowed: boolean): string {
  return allowed ? 'allow' : 'deny';
}

function mark(allowed: boolean): string {
  return allowed ? '.' : 'X';
}

function truthTable(rows: readonly string[], columns: readonly string[], cell: (from: string, to: string) => string): string {
  const rowWidth = Math.max(...rows.map((r) => r.length));
  const widths = columns.map((c) => Math.max(c.length, 2));
  const line = (head: string, cells: string[]) => `${head.padEnd(rowWidth)}  ${cells.map((c, i) => c.padEnd(widths[i])).join(' ')}`.trimEnd();
  return [line('', [...columns]), ...rows.map((r) => line(r, columns.map((c) => cell(r, c))))].join('\n');
}
