/**
 * `npm run bench:policy`: builds a synthetic cluster of 5,000 pods in 100 namespaces with 1,000
 * NetworkPolicies (default-deny, same-namespace, cross-namespace by namespaceSelector, named ports,
 * endPort ranges, ipBlocks with except, DNS egress) and prints verdicts per second.
 * Deterministic: a seeded generator, so runs are comparable.
 */
import { buildCluster } from '../src/core/kube/cluster';
import { decodeNamespace, decodePod } from '../src/core/kube/decode';
import { PolicyEngine, type PreparedProbe, type Probe } from '../src/core/policy/engine';
import { decodeNetworkPolicy, type NetworkPolicy } from '../src/core/policy/network-policy';
import { must, timed, seeded } from './bench-support';

const { random, int, pick } = seeded(42);

const NAMESPACES = 100;
const PODS_PER_NAMESPACE = 50;
const POLICIES_PER_NAMESPACE = 10;
const APPS = 10;
const PROBES = 200_000;
const ROUNDS = 10;



function syntheticCluster() {
  const objects = [];
  for (let n = 0; n < NAMESPACES; n++) {
    objects.push({ kind: 'Namespace' as const, value: must(decodeNamespace({ metadata: { name: `ns-${n}`, labels: { team: `team-${n % 10}`, env: n % 3 === 0 ? 'prod' : 'dev' } } })) });
    for (let p = 0; p < PODS_PER_NAMESPACE; p++) {
      const i = n * PODS_PER_NAMESPACE + p;
      objects.push({
        kind: 'Pod' as const,
        value: must(
          decodePod({
            metadata: { name: `app-${p % APPS}-${p}`, namespace: `ns-${n}`, labels: { app: `app-${p % APPS}`, tier: p % 2 ? 'web' : 'backend', version: `v${p % 3}` } },
            spec: { nodeName: `node-${i % 50}`, containers: [{ ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }] },
            status: { phase: 'Running', podIP: `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}` },
          }),
        ),
      });
    }
  }
  return buildCluster(objects).cluster;
}

function syntheticPolicies(): NetworkPolicy[] {
  const policies: NetworkPolicy[] = [];
  const add = (namespace: string, name: string, spec: unknown) =>
    policies.push(must(decodeNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec })));
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `ns-${n}`;
    add(ns, 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    add(ns, 'allow-dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'app-0' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }] });
    add(ns, 'same-namespace', { podSelector: { matchLabels: { tier: 'backend' } }, ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 'http' }] }] });
    add(ns, 'from-team', { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['app-1', 'app-2', 'app-3'] }] }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `team-${(n + 1) % 10}` } }, podSelector: { matchLabels: { tier: 'web' } } }] }] });
    add(ns, 'metrics', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'prod' } } }], ports: [{ port: 9000, endPort: 9100 }] }] });
    add(ns, 'egress-web', { podSelector: { matchLabels: { tier: 'web' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] } }], ports: [{ port: 8080 }] }] });
    add(ns, 'egress-external', { podSelector: { matchLabels: { app: `app-${n % APPS}` } }, egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['198.18.0.0/15', '203.0.113.0/24'] } }], ports: [{ port: 443 }] }] });
    add(ns, 'from-lb', { podSelector: { matchLabels: { tier: 'web' } }, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ port: 8080 }] }] });
    add(ns, 'backend-egress', { podSelector: { matchLabels: { tier: 'backend' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchExpressions: [{ key: 'version', operator: 'Exists' }] } }] }] });
    add(ns, 'versioned', { podSelector: { matchLabels: { version: 'v1' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': `ns-${int(NAMESPACES)}` } } }, { podSelector: { matchLabels: { app: 'app-9' } } }] }] });
  }
  if (policies.length !== NAMESPACES * POLICIES_PER_NAMESPACE) {
    throw new Error(`expected ${NAMESPACES * POLICIES_PER_NAMESPACE} policies, built ${policies.length}`);
  }
  return policies;
}

function syntheticProbes(cluster: ReturnType<typeof syntheticCluster>): Probe[] {
  const pods = cluster.pods.map((p) => `${p.namespace}/${p.name}`);
  const ports: [number, 'TCP' | 'UDP'][] = [[8080, 'TCP'], [8080, 'TCP'], [9090, 'TCP'], [53, 'UDP'], [443, 'TCP']];
  return Array.from({ length: PROBES }, () => {
    const [port, protocol] = pick(ports);
    const roll = random();
    if (roll < 0.05) {
      return { from: { ip: `198.51.100.${int(250) + 1}` }, to: pick(pods), port, protocol };
    }
    if (roll < 0.1) {
      return { from: pick(pods), to: { ip: `198.51.100.${int(250) + 1}` }, port: 443, protocol: 'TCP' };
    }
    // Half of the pod-to-pod probes stay inside a namespace, as real traffic mostly does.
    const from = int(pods.length);
    const to = random() < 0.5 ? Math.floor(from / PODS_PER_NAMESPACE) * PODS_PER_NAMESPACE + int(PODS_PER_NAMESPACE) : int(pods.length);
    return { from: pods[from], to: pods[to], port, protocol };
  });
}


const cluster = syntheticCluster();
const policies = syntheticPolicies();
const probes = syntheticProbes(cluster);
console.log(`cluster: ${cluster.pods.length} pods, ${cluster.namespaces.size} namespaces, ${policies.length} policies; ${probes.length} distinct probes`);

const [engine, buildMs] = timed(() => new PolicyEngine(cluster, policies));
const [prepared, prepareMs] = timed(() => probes.map((p) => engine.prepare(p)));
// The first pass fills the lazily built selector member sets: that is the rest of the indexing.
const [, warmMs] = timed(() => prepared.forEach((p) => engine.allows(p)));
console.log(`indexing: engine ${buildMs.toFixed(0)} ms + member sets on first use ${warmMs.toFixed(0)} ms`);

let allowed = 0;
const [, evalMs] = timed(() => {
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < prepared.length; i++) {
      if (engine.allows(prepared[i] as PreparedProbe)) {
        allowed++;
      }
    }
  }
});
const total = ROUNDS * prepared.length;
console.log(`verdicts (indexed, endpoints resolved): ${Math.round(total / (evalMs / 1000)).toLocaleString('en-US')} verdicts/s (${total.toLocaleString('en-US')} in ${evalMs.toFixed(0)} ms; ${((100 * allowed) / total).toFixed(1)}% allowed)`);
console.log(`endpoint resolution (prepare): ${Math.round(probes.length / (prepareMs / 1000)).toLocaleString('en-US')} probes/s`);
const [, fullMs] = timed(() => probes.forEach((p) => engine.allows(engine.prepare(p))));
console.log(`verdicts from raw probes (resolve + evaluate): ${Math.round(probes.length / (fullMs / 1000)).toLocaleString('en-US')} verdicts/s`);
const [, explainMs] = timed(() => prepared.slice(0, 50_000).forEach((p) => engine.evaluate(p)));
console.log(`verdicts with explanation: ${Math.round(50_000 / (explainMs / 1000)).toLocaleString('en-US')} verdicts/s`);
console.log(`target: >= 1,000,000 verdicts/s after indexing: ${total / (evalMs / 1000) >= 1_000_000 ? 'met' : 'NOT met'}`);
