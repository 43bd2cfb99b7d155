/**
 * Random clusters of workloads (Deployments and StatefulSets, with and without their objects, volatile
 * labels, named and unnamed ports, Services), a cluster DNS and a host-network pod, and random flows
 * between them (pod to pod, through Services, DNS, to and from the internet and cloud services, from
 * nodes, to the host network, some of which only failed), built as enriched flows.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { EnrichedFlow } from '../../../src/core/flows/enriched-flow';
import { buildCluster, type Cluster } from '../../../src/core/kube/cluster';
import { parseManifests } from '../../../src/core/kube/manifest';
import type { Probe } from '../../../src/core/policy/engine';
import { FlowBuilder } from './flow-builder';

const NAMESPACES = ['n0', 'n1'];
const NODE_IPS = ['198.19.0.1', '198.19.0.2'];
export const DNS_POD = 'kube-system/coredns-1';
const HOST_POD = 'kube-system/hn-1';

export interface WorkloadSpec {
  readonly ns: number;
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly object: boolean;
  readonly replicas: number;
  readonly tier: string;
  readonly http: number;
}

const workloadArb = fc.record({
  ns: fc.nat(1),
  kind: fc.constantFrom<'Deployment' | 'StatefulSet'>('Deployment', 'StatefulSet'),
  object: fc.boolean(),
  replicas: fc.integer({ min: 1, max: 2 }),
  tier: fc.constantFrom('x', 'y'),
  http: fc.constantFrom(80, 81),
});

/** Ports every workload serves: http (named, 80 or 81), 82, 83 and 85 (unnamed: ranges must not bridge 84), metrics 9100 (named), 82/UDP. */
export const portsOf = (w: Pick<WorkloadSpec, 'http'>) => [
  { port: w.http, protocol: 'TCP' as const },
  { port: 82, protocol: 'TCP' as const },
  { port: 83, protocol: 'TCP' as const },
  { port: 85, protocol: 'TCP' as const },
  { port: 9100, protocol: 'TCP' as const },
  { port: 82, protocol: 'UDP' as const },
];

export function clusterOf(workloads: readonly WorkloadSpec[]): Cluster {
  const items: unknown[] = [
    ...NAMESPACES.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } },
    ...NODE_IPS.map((ip, i) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${i + 1}` }, status: { addresses: [{ type: 'InternalIP', address: ip }] } })),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'coredns-1', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': 'c0' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'coredns-c0', controller: true }] },
      spec: { nodeName: 'node-1', containers: [{ ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53 }] }] },
      status: { phase: 'Running', podIP: '198.18.9.2' },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system' },
      spec: { selector: { 'k8s-app': 'kube-dns' }, clusterIP: '198.19.128.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hn-1', namespace: 'kube-system', labels: { app: 'hn', 'controller-revision-hash': 'r1' }, ownerReferences: [{ kind: 'DaemonSet', name: 'hn', controller: true }] },
      spec: { nodeName: 'node-1', hostNetwork: true, containers: [{ ports: [{ name: 'metrics', containerPort: 9100 }] }] },
      status: { phase: 'Running', podIP: NODE_IPS[0] },
    },
  ];
  workloads.forEach((w, i) => {
    const ns = NAMESPACES[w.ns];
    const name = `w${i}`;
    const labels = { app: name, tier: w.tier };
    if (w.object) {
      items.push({ apiVersion: 'apps/v1', kind: w.kind, metadata: { name, namespace: ns }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels } } } });
    }
    for (let r = 0; r < w.replicas; r++) {
      const podName = w.kind === 'Deployment' ? `${name}-h${i}-${r}` : `${name}-${r}`;
      const volatile = w.kind === 'Deployment' ? { 'pod-template-hash': `h${i}` } : { 'controller-revision-hash': `${name}-r${r}`, 'statefulset.kubernetes.io/pod-name': podName };
      items.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: podName,
          namespace: ns,
          labels: { ...labels, ...volatile },
          ownerReferences: [w.kind === 'Deployment' ? { kind: 'ReplicaSet', name: `${name}-h${i}`, controller: true } : { kind: 'StatefulSet', name, controller: true }],
        },
        spec: {
          nodeName: `node-${(r % 2) + 1}`,
          containers: [{ ports: [{ name: 'http', containerPort: w.http }, { containerPort: 82 }, { containerPort: 83 }, { containerPort: 85 }, { name: 'metrics', containerPort: 9100 }, { containerPort: 82, protocol: 'UDP' }] }],
        },
        status: { phase: 'Running', podIP: `198.18.${w.ns}.${10 * i + r + 1}` },
      });
    }
    items.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${name}`, namespace: ns }, spec: { selector: { app: name }, clusterIP: `198.19.128.${20 + i}`, ports: [{ port: 8000, targetPort: 'http' }] } });
  });
  const parsed = parseManifests(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), 'random.json');
  assert.deepEqual(parsed.errors, []);
  return buildCluster(parsed.objects).cluster;
}

const flowArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('pod' as const), client: fc.nat(), replica: fc.nat(1), server: fc.nat(), port: fc.nat(5), viaService: fc.boolean(), failed: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dns' as const), client: fc.nat(), protocol: fc.constantFrom<'UDP' | 'TCP'>('UDP', 'UDP', 'TCP') }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('out' as const), client: fc.nat(), host: fc.integer({ min: 1, max: 6 }), cloud: fc.boolean(), port: fc.constantFrom(443, 80) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('in' as const), host: fc.integer({ min: 1, max: 6 }), server: fc.nat(), port: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('node' as const), node: fc.nat(1), server: fc.nat(), port: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('host' as const), client: fc.nat() }) },
);

type FlowChoice = typeof flowArb extends fc.Arbitrary<infer T> ? T : never;

export interface Scenario {
  readonly cluster: Cluster;
  readonly flows: EnrichedFlow[];
  /** Every pod of each workload, "ns/name". */
  readonly pods: string[][];
  readonly specs: readonly WorkloadSpec[];
}

function scenarioOf(specs: readonly WorkloadSpec[], choices: readonly FlowChoice[]): Scenario {
  const cluster = clusterOf(specs);
  const b = new FlowBuilder(cluster);
  const pods = specs.map((_, i) => cluster.pods.filter((p) => p.labels.get('app') === `w${i}`).map((p) => `${p.namespace}/${p.name}`));
  const pick = (n: number) => n % specs.length;
  const flows = choices.map((c): EnrichedFlow => {
    switch (c.kind) {
      case 'pod': {
        const client = pods[pick(c.client)][c.replica % pods[pick(c.client)].length];
        const s = pick(c.server);
        const { port, protocol } = portsOf(specs[s])[c.viaService ? 0 : c.port];
        const failed = c.failed && c.port % 2 === 1 ? { connections: 0, failed: 2 } : {};
        return c.viaService
          ? b.flow({ client, server: pods[s], service: { namespace: NAMESPACES[specs[s].ns], name: `svc-w${s}`, port: 8000, ip: `198.19.128.${20 + s}` }, port, protocol, ...failed })
          : b.flow({ client, server: pods[s][0], port, protocol, ...failed });
      }
      case 'dns':
        return b.flow({ client: pods[pick(c.client)][0], server: [DNS_POD], service: { namespace: 'kube-system', name: 'kube-dns', port: 53, ip: '198.19.128.10' }, port: 53, protocol: c.protocol });
      case 'out':
        return b.flow({
          client: pods[pick(c.client)][0],
          server: c.cloud ? { ip: `203.0.113.${c.host}`, kind: 'cloud-service', cloudService: 'S3' } : { ip: `198.51.100.${c.host}`, kind: 'external' },
          port: c.port,
        });
      case 'in': {
        const s = pick(c.server);
        const { port, protocol } = portsOf(specs[s])[c.port];
        return b.flow({ client: { ip: `198.51.100.${c.host}`, kind: 'external' }, server: pods[s][0], port, protocol });
      }
      case 'node': {
        const s = pick(c.server);
        const { port, protocol } = portsOf(specs[s])[c.port];
        return b.flow({ client: { ip: NODE_IPS[c.node], kind: 'node', node: `node-${c.node + 1}` }, server: pods[s][0], port, protocol });
      }
      case 'host':
        return b.flow({ client: pods[pick(c.client)][0], server: { ip: NODE_IPS[0], kind: 'node', node: 'node-1', hostPod: HOST_POD }, port: 9100 });
    }
  });
  return { cluster, flows, pods, specs };
}

export const scenarioArb = fc
  .tuple(fc.array(workloadArb, { minLength: 1, maxLength: 5 }), fc.array(flowArb, { minLength: 1, maxLength: 14 }))
  .map(([specs, choices]) => scenarioOf(specs, choices));


/** The probes that check one observed flow: one per server pod (every backend of a Service). */
export function probesOf(flow: EnrichedFlow): Probe[] {
  const from = flow.client.kind === 'pod' ? `${flow.client.pods[0].namespace}/${flow.client.pods[0].name}` : { ip: flow.client.ip };
  if (flow.server.kind === 'pod') {
    return flow.server.pods.map((p) => ({ from, to: `${p.namespace}/${p.name}`, port: flow.port, protocol: flow.protocol }));
  }
  return [{ from, to: { ip: flow.server.ip }, port: flow.port, protocol: flow.protocol }];
}

