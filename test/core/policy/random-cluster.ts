/**
 * fast-check arbitraries for random clusters, policies and probes, kept small (few label values,
 * few ports) so that selectors and rules hit and miss often.
 */
import fc from 'fast-check';
import { buildCluster, type Cluster } from '../../../src/core/kube/cluster';
import { decodeNamespace, decodePod } from '../../../src/core/kube/decode';
import { decodeNetworkPolicy, type NetworkPolicy } from '../../../src/core/policy/network-policy';
import type { Probe } from '../../../src/core/policy/engine';

const NAMESPACES = ['n0', 'n1', 'n2'];

const labelsArb = (keys: Record<string, string[]>) =>
  fc.record(Object.fromEntries(Object.entries(keys).map(([k, values]) => [k, fc.constantFrom(...values)])), { requiredKeys: [] });

const podLabels = labelsArb({ app: ['a', 'b', 'c'], tier: ['x', 'y'] });
const nsLabels = labelsArb({ team: ['red', 'blue'], env: ['prod', 'dev'] });

const selectorArb = (keys: Record<string, string[]>) =>
  fc.oneof(
    fc.constant({}),
    fc.record({ matchLabels: labelsArb(keys) }),
    fc.record({
      matchExpressions: fc.array(
        fc.oneof(
          ...Object.entries(keys).flatMap(([key, values]) => [
            fc.record({ key: fc.constant(key), operator: fc.constantFrom('In', 'NotIn'), values: fc.subarray(values, { minLength: 1 }) }),
            fc.record({ key: fc.constant(key), operator: fc.constantFrom('Exists', 'DoesNotExist') }),
          ]),
        ),
        { minLength: 1, maxLength: 2 },
      ),
    }),
  );

const podSelectorArb = selectorArb({ app: ['a', 'b', 'c'], tier: ['x', 'y'] });
const nsSelectorArb = selectorArb({ team: ['red', 'blue'], env: ['prod', 'dev'], 'kubernetes.io/metadata.name': NAMESPACES });

const peerArb = fc.oneof(
  fc.record({ podSelector: podSelectorArb }),
  fc.record({ namespaceSelector: nsSelectorArb }),
  fc.record({ podSelector: podSelectorArb, namespaceSelector: nsSelectorArb }),
  fc.constantFrom(
    { ipBlock: { cidr: '198.18.0.0/16', except: ['198.18.1.0/24'] } },
    { ipBlock: { cidr: '198.18.0.0/24' } },
    { ipBlock: { cidr: '198.51.100.0/24' } },
    { ipBlock: { cidr: '0.0.0.0/0', except: ['198.18.0.0/15'] } },
  ),
);

const portArb = fc.constantFrom<Record<string, unknown>>(
  { port: 80 },
  { port: 81, protocol: 'TCP' },
  { port: 80, endPort: 81 },
  { port: 'http' },
  { port: 'dns', protocol: 'UDP' },
  { protocol: 'UDP' },
  { port: 53, protocol: 'UDP' },
);

const ruleArb = (peerKey: 'from' | 'to') =>
  fc.record({ [peerKey]: fc.array(peerArb, { maxLength: 2 }), ports: fc.array(portArb, { maxLength: 2 }) }, { requiredKeys: [] });

export const policyArb = (name: string): fc.Arbitrary<NetworkPolicy> =>
  fc
    .record(
      {
        namespace: fc.constantFrom(...NAMESPACES),
        podSelector: podSelectorArb,
        policyTypes: fc.constantFrom(undefined, ['Ingress'], ['Egress'], ['Ingress', 'Egress']),
        ingress: fc.option(fc.array(ruleArb('from'), { maxLength: 2 }), { nil: undefined }),
        egress: fc.option(fc.array(ruleArb('to'), { maxLength: 2 }), { nil: undefined }),
      },
      { requiredKeys: ['namespace', 'podSelector'] },
    )
    .map(({ namespace, ...spec }) => {
      const decoded = decodeNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec: JSON.parse(JSON.stringify(spec)) });
      if (!decoded.ok) {
        throw new Error(`generator produced an invalid policy: ${JSON.stringify(decoded.errors)}`);
      }
      return decoded.value;
    });

export const clusterArb: fc.Arbitrary<Cluster> = fc
  .record({
    nsLabels: fc.tuple(nsLabels, nsLabels, nsLabels),
    pods: fc.array(fc.record({ ns: fc.nat(2), labels: podLabels, http: fc.constantFrom(80, 81), dns: fc.boolean(), hostNetwork: fc.boolean() }), {
      minLength: 1,
      maxLength: 9,
    }),
  })
  .map(({ nsLabels: labels, pods }) => {
    const objects = [
      ...NAMESPACES.map((name, i) => decodeNamespace({ metadata: { name, labels: labels[i] } })),
      ...pods.map((p, i) =>
        decodePod({
          metadata: { name: `p${i}`, namespace: NAMESPACES[p.ns], labels: p.labels },
          spec: {
            nodeName: 'node-1',
            hostNetwork: p.hostNetwork && i % 4 === 3,
            containers: [{ ports: [{ name: 'http', containerPort: p.http }, ...(p.dns ? [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] : [])] }],
          },
          status: { phase: 'Running', podIP: p.hostNetwork && i % 4 === 3 ? '198.19.0.1' : `198.18.${p.ns}.${i + 1}` },
        }),
      ),
    ].map((d, i) => {
      if (!d.ok) {
        throw new Error(`generator produced an invalid object ${i}: ${JSON.stringify(d.errors)}`);
      }
      return d.value;
    });
    return buildCluster([
      ...objects.slice(0, NAMESPACES.length).map((value) => ({ kind: 'Namespace' as const, value: value as never })),
      ...objects.slice(NAMESPACES.length).map((value) => ({ kind: 'Pod' as const, value: value as never })),
    ]).cluster;
  });

/** Every pod pair plus external endpoints, on a few ports and protocols. */
export function allProbes(cluster: Cluster): Probe[] {
  const endpoints: Probe['from'][] = [...cluster.pods.map((p) => `${p.namespace}/${p.name}`), { ip: '198.51.100.7' }];
  const services: { port: number; protocol: 'TCP' | 'UDP' }[] = [
    { port: 80, protocol: 'TCP' },
    { port: 81, protocol: 'TCP' },
    { port: 53, protocol: 'UDP' },
  ];
  return endpoints.flatMap((from) => endpoints.filter((to) => to !== from).flatMap((to) => services.map((s) => ({ from, to, ...s }))));
}
