import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { PolicyEngine } from '../../../src/core/policy/engine';
import { decodeNetworkPolicy, policyId } from '../../../src/core/policy/network-policy';
import { whatIf, WhatIfError, type WhatIfInput } from '../../../src/core/policy/what-if';
import { clusterFromYaml, policiesFromYaml } from '../fixtures';
import { FlowBuilder } from './flow-builder';
import { probesOf, scenarioArb } from './random-flows';

const CLUSTER = `
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: shop}}
- apiVersion: v1
  kind: Pod
  metadata: {name: web-1, namespace: shop, labels: {app: web, pod-template-hash: aa11}, ownerReferences: [{kind: ReplicaSet, name: web-aa11, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: http, containerPort: 8080}]}]}
  status: {phase: Running, podIP: 198.18.0.10}
- apiVersion: v1
  kind: Pod
  metadata: {name: worker-1, namespace: shop, labels: {app: worker}}
  spec: {nodeName: node-a}
  status: {phase: Running, podIP: 198.18.0.20}
- apiVersion: v1
  kind: Pod
  metadata: {name: api-1, namespace: shop, labels: {app: api, track: stable, pod-template-hash: bb22}, ownerReferences: [{kind: ReplicaSet, name: api-bb22, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: grpc, containerPort: 9090}]}]}
  status: {phase: Running, podIP: 198.18.0.11}
- apiVersion: v1
  kind: Pod
  metadata: {name: api-2, namespace: shop, labels: {app: api, track: canary, pod-template-hash: bb22}, ownerReferences: [{kind: ReplicaSet, name: api-bb22, controller: true}]}
  spec: {nodeName: node-b, containers: [{ports: [{name: grpc, containerPort: 9091}]}]}
  status: {phase: Running, podIP: 198.18.0.12}
- apiVersion: v1
  kind: Pod
  metadata: {name: db-0, namespace: shop, labels: {app: db}, ownerReferences: [{kind: StatefulSet, name: db, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{containerPort: 5432}]}]}
  status: {phase: Running, podIP: 198.18.0.30}
# IP reuse: a finished job's pod and a running pod with the same address.
- apiVersion: v1
  kind: Pod
  metadata: {name: report-1, namespace: shop, labels: {app: report}, creationTimestamp: "2026-11-21T09:00:00Z"}
  spec: {nodeName: node-a}
  status: {phase: Succeeded, podIP: 198.18.0.60, containerStatuses: [{state: {terminated: {finishedAt: "2026-11-21T09:05:00Z"}}}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: reviews-1, namespace: shop, labels: {app: reviews}, creationTimestamp: "2026-11-21T09:30:00Z"}
  spec: {nodeName: node-a}
  status: {phase: Running, podIP: 198.18.0.60}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: default-deny-ingress, namespace: shop}
  spec: {podSelector: {}, policyTypes: [Ingress]}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: api-from-web, namespace: shop}
  spec:
    podSelector: {matchLabels: {app: api}}
    ingress: [{from: [{podSelector: {matchLabels: {app: web}}}, {podSelector: {matchLabels: {app: report}}}, {podSelector: {matchLabels: {app: reviews}}}], ports: [{port: grpc}]}]
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: db-from-api, namespace: shop}
  spec:
    podSelector: {matchLabels: {app: db}}
    ingress: [{from: [{podSelector: {matchLabels: {app: api}}}]}]
`;

const SERVICE = { namespace: 'shop', name: 'api', port: 80, ip: '198.19.128.11' };
const BACKENDS = ['shop/api-1', 'shop/api-2'];

suite('what-if validation', () => {
  const cluster = clusterFromYaml(CLUSTER);
  const b = new FlowBuilder(cluster);
  const run = (input: Partial<WhatIfInput>) => whatIf({ cluster, flows: [], ...input });
  const webToApi = [
    b.flow({ client: 'shop/web-1', server: BACKENDS, service: SERVICE, port: 9090, bytes: 3000, connections: 3, start: '2026-11-21T10:00:00Z', end: '2026-11-21T10:00:05Z' }),
    b.flow({ client: 'shop/web-1', server: BACKENDS, service: SERVICE, port: 9090, bytes: 1000, connections: 1, start: '2026-11-21T10:05:00Z', end: '2026-11-21T10:05:05Z' }),
  ];
  const apiToDb = b.flow({ client: 'shop/api-1', server: 'shop/db-0', port: 5432 });
  // api-from-web replaced by a policy that admits only the worker.
  const apiFromWorkerOnly = policiesFromYaml(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: worker}}}], ports: [{port: grpc}]}]
`);

  test('a replaced policy that drops a client: its flows are newly denied, grouped by workload pair and port, with evidence', () => {
    const r = run({ flows: [...webToApi, apiToDb], candidates: apiFromWorkerOnly });
    assert.deepEqual(r.policies, { added: [], changed: ['shop/api-from-web'], removed: [] });
    assert.deepEqual(r.counts, { allowedBefore: 3, allowedAfter: 1, newlyDenied: 2, newlyAllowed: 0 });
    assert.equal(r.newlyDenied.length, 1);
    const [g] = r.newlyDenied;
    assert.deepEqual([g.client.label, g.server.label, g.port, g.portName, g.protocol, g.before, g.after], ['Deployment shop/web', 'Deployment shop/api', 9090, 'grpc', 'TCP', 'allow', 'deny']);
    assert.deepEqual(g.services, ['shop/api:80']);
    assert.deepEqual(
      { records: g.evidence.records, bytes: g.evidence.bytes, connections: g.evidence.connections, first: g.evidence.firstSeenMs, last: g.evidence.lastSeenMs },
      { records: 2, bytes: 4000, connections: 4, first: Date.parse('2026-11-21T10:00:00Z'), last: Date.parse('2026-11-21T10:05:05Z') },
    );
    assert.deepEqual(g.newlyDeniedBackends, ['shop/api-1', 'shop/api-2']);
    assert.match(g.explanation ?? "", /^deny: shop\/web-1 -> shop\/api-1 on 9090\/TCP: shop\/api-1 is isolated for ingress by shop\/api-from-web, shop\/default-deny-ingress and no ingress rule allows from shop\/web-1/);
    assert.equal(r.groups.length, 2);
    assert.deepEqual(r.newlyAllowed, []);
  });

  test('a Service with several backends: each backend is evaluated with its own port, and any denied backend breaks the flow', () => {
    // Only the canary backend gets a policy that does not allow web; api-2 serves grpc on 9091, api-1 on 9090.
    const candidates = policiesFromYaml(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-lockdown, namespace: shop}
spec:
  podSelector: {matchLabels: {track: canary}}
  policyTypes: [Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 9090}]}]
`);
    const r = run({ flows: webToApi, candidates });
    assert.equal(r.newlyDenied.length, 1);
    const [g] = r.newlyDenied;
    assert.equal(g.backends, 2);
    assert.deepEqual(g.newlyDeniedBackends, ['shop/api-2'], 'api-1 serves grpc on 9090, which the candidate still allows; api-2 serves it on 9091');
    assert.deepEqual([g.before, g.after], ['allow', 'deny'], 'one denied backend denies the flow');
    assert.deepEqual(r.counts, { allowedBefore: 2, allowedAfter: 0, newlyDenied: 2, newlyAllowed: 0 });
    assert.match(g.explanation ?? "", /shop\/web-1 -> shop\/api-2 on 9091\/TCP/);
    assert.deepEqual(r.selectsNothing, []);
    assert.deepEqual(
      r.newlyIsolated.map((c) => `${c.pod} ${c.direction} ${c.by.join(',')}`),
      ['shop/api-2 egress shop/canary-lockdown'],
    );
  });

  test('removing a default-deny: denied flows become newly allowed, pods stop being isolated, and working flows denied before are pointed out', () => {
    const workerToDb = b.flow({ client: 'shop/worker-1', server: 'shop/db-0', port: 5432, connections: 0, failed: 2 });
    const workerToDbWorking = b.flow({ client: 'shop/worker-1', server: 'shop/db-0', port: 5432, connections: 5 });
    const r = run({ flows: [apiToDb, workerToDb, workerToDbWorking], removed: ['shop/default-deny-ingress', 'shop/db-from-api'] });
    assert.deepEqual(r.policies.removed, ['shop/db-from-api', 'shop/default-deny-ingress']);
    assert.deepEqual(r.newlyDenied, []);
    assert.deepEqual(r.newlyAllowed.map((g) => `${g.client.label} -> ${g.server.label}:${g.port}`), ['Pod shop/worker-1 -> StatefulSet shop/db:5432']);
    assert.equal(r.counts.newlyAllowed, 2);
    assert.deepEqual(r.deniedBefore.map((g) => g.client.label), ['Pod shop/worker-1']);
    assert.ok(r.notes.some((n) => /1 group\(s\) of working flows are denied by the policies in force/.test(n)));
    assert.ok(r.noLongerIsolated.some((c) => c.pod === 'shop/db-0' && c.direction === 'ingress'));
    assert.ok(r.noLongerIsolated.some((c) => c.pod === 'shop/web-1' && c.direction === 'ingress'));
    assert.ok(!r.noLongerIsolated.some((c) => c.pod === 'shop/api-1'), 'api-from-web still isolates api');
  });

  test('candidate rules that no observed flow uses are reported by policy and rule index; used ones, even duplicated in force, are not', () => {
    const candidates = policiesFromYaml(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: grpc}]
  - from: [{ipBlock: {cidr: 198.51.100.0/24}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: nobody, namespace: shop}
spec:
  podSelector: {matchLabels: {app: ghost}}
  ingress: [{from: [{podSelector: {}}]}]
`);
    const r = run({ flows: webToApi, candidates });
    assert.deepEqual(r.unusedRules, [
      { policy: 'shop/api-ingress', rule: 'ingress[1]', description: 'from 198.51.100.0/24; on every port' },
      { policy: 'shop/nobody', rule: 'ingress[0]', description: 'from all pods in namespace shop; on every port' },
    ]);
    assert.deepEqual(r.selectsNothing, ['shop/nobody']);
    assert.deepEqual(r.policies.added, ['shop/api-ingress', 'shop/nobody']);
    assert.deepEqual(r.newlyDenied, []);
  });

  test('flows in which every connection failed are attempts: listed apart, not breaking', () => {
    const attempt = b.flow({ client: 'shop/api-1', server: 'shop/db-0', port: 6432, connections: 0, failed: 3 });
    const candidates = policiesFromYaml(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: api}}}], ports: [{port: 5432}]}]
`);
    const r = run({ flows: [apiToDb, attempt], candidates });
    assert.deepEqual(r.newlyDenied, []);
    assert.deepEqual(r.newlyDeniedAttempts.map((g) => `${g.server.label}:${g.port} failed=${g.evidence.failedConnections}`), ['StatefulSet shop/db:6432 failed=3']);
    assert.equal(r.counts.newlyDenied, 1, 'still counted as a verdict change');
  });

  test('a newly denied group whose working flow names a pod the snapshot no longer has is explained by the pod that decided its class', () => {
    // Flows outlive pods: web-2 was replaced after its flow was seen. Its connection is judged by the verdict
    // memoised for its class (web-1's, an attempt only), and the group is explained by web-1's evaluation.
    const withWeb2 = clusterFromYaml(`${CLUSTER}- apiVersion: v1
  kind: Pod
  metadata: {name: web-2, namespace: shop, labels: {app: web, pod-template-hash: aa11}, ownerReferences: [{kind: ReplicaSet, name: web-aa11, controller: true}]}
  spec: {nodeName: node-b, containers: [{ports: [{name: http, containerPort: 8080}]}]}
  status: {phase: Running, podIP: 198.18.0.13}
`);
    const b2 = new FlowBuilder(withWeb2);
    const flows = [
      b2.flow({ client: 'shop/web-1', server: 'shop/api-1', port: 9090, connections: 0, failed: 2 }),
      b2.flow({ client: 'shop/web-2', server: 'shop/api-1', port: 9090, bytes: 500, connections: 1 }),
    ];
    const lacking = { ...withWeb2, pods: withWeb2.pods.filter((p) => p.name !== 'web-2') };
    const r = whatIf({ cluster: lacking, flows, candidates: apiFromWorkerOnly });
    assert.equal(r.newlyDenied.length, 1);
    const [g] = r.newlyDenied;
    assert.deepEqual([g.client.label, g.server.label, g.port, g.evidence.connections, g.evidence.failedConnections], ['Deployment shop/web', 'Deployment shop/api', 9090, 1, 2]);
    assert.match(g.explanation ?? '', /^deny: shop\/web-1 -> shop\/api-1 on 9090\/TCP: shop\/api-1 is isolated for ingress/);
  });

  test('a reused IP is judged as the pod that held it when the flow was seen', () => {
    const candidates = policiesFromYaml(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: report-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: report}}
  policyTypes: [Egress]
`);
    const early = b.flow({ client: 'shop/report-1', server: BACKENDS, service: SERVICE, port: 9090, start: '2026-11-21T09:01:00Z', end: '2026-11-21T09:01:05Z' });
    const late = b.flow({ client: 'shop/reviews-1', server: BACKENDS, service: SERVICE, port: 9090 });
    assert.equal(early.client.ip, late.client.ip);
    const r = run({ flows: [early, late], candidates });
    assert.deepEqual(r.newlyDenied.map((g) => g.client.label), ['Pod shop/report-1']);
    assert.deepEqual(r.newlyIsolated, [], 'a finished pod does not count as becoming isolated');
  });

  test('pods alike in labels but not in named ports, or in addresses an ipBlock tells apart, are judged apart', () => {
    const twins = clusterFromYaml(`${CLUSTER}
- apiVersion: v1
  kind: Pod
  metadata: {name: api-3, namespace: shop, labels: {app: api, track: stable, pod-template-hash: bb22}, ownerReferences: [{kind: ReplicaSet, name: api-bb22, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: legacy, containerPort: 9090}]}]}
  status: {phase: Running, podIP: 198.18.0.13}
- apiVersion: v1
  kind: Pod
  metadata: {name: web-2, namespace: shop, labels: {app: web, pod-template-hash: aa11}, ownerReferences: [{kind: ReplicaSet, name: web-aa11, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: http, containerPort: 8080}]}]}
  status: {phase: Running, podIP: 198.18.0.50}
`);
    const tb = new FlowBuilder(twins);
    // api-1 names 9090 grpc, api-3 (same labels) names it legacy: a rule on the named port grpc lets only api-1 through.
    const named = policiesFromYaml(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: grpc}]}]
`);
    const viaService = tb.flow({ client: 'shop/web-1', server: ['shop/api-1', 'shop/api-3'], service: SERVICE, port: 9090 });
    const direct = [tb.flow({ client: 'shop/web-1', server: 'shop/api-1', port: 9090 }), tb.flow({ client: 'shop/web-1', server: 'shop/api-3', port: 9090 })];
    const r1 = whatIf({ cluster: { ...twins, policies: [] }, flows: [...direct, viaService], candidates: named });
    assert.deepEqual(r1.counts, { allowedBefore: 3, allowedAfter: 1, newlyDenied: 2, newlyAllowed: 0 });
    assert.deepEqual([...new Set(r1.newlyDenied.flatMap((g) => g.newlyDeniedBackends))], ['shop/api-3']);
    // web-1 and web-2 have the same labels; an ipBlock of web-1's address lets only it reach the database.
    const byAddress = policiesFromYaml(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web-1, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{ipBlock: {cidr: 198.18.0.10/32}}]}]
`);
    const toDb = [tb.flow({ client: 'shop/web-1', server: 'shop/db-0', port: 5432 }), tb.flow({ client: 'shop/web-2', server: 'shop/db-0', port: 5432 })];
    const r2 = whatIf({ cluster: { ...twins, policies: [] }, flows: toDb, candidates: byAddress });
    assert.deepEqual(r2.counts, { allowedBefore: 2, allowedAfter: 1, newlyDenied: 1, newlyAllowed: 0 });
    assert.equal(r2.newlyDenied.length, 1);
    // The same group, but web-2 never got through: its denial is an attempt, and web-1's working flow is still allowed.
    const attempt = [toDb[0], tb.flow({ client: 'shop/web-2', server: 'shop/db-0', port: 5432, connections: 0, failed: 2 })];
    const r3 = whatIf({ cluster: { ...twins, policies: [] }, flows: attempt, candidates: byAddress });
    assert.deepEqual(r3.newlyDenied, []);
    assert.deepEqual(r3.newlyDeniedAttempts.map((g) => `${g.client.label} -> ${g.server.label}`), ['Deployment shop/web -> StatefulSet shop/db']);
  });

  test('the window selects the flows; a removal that names no policy in force is an error', () => {
    const candidates = policiesFromYaml(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-web, namespace: shop}
spec: {podSelector: {matchLabels: {app: api}}}
`);
    const r = run({ flows: webToApi, candidates, window: { fromMs: Date.parse('2026-11-21T10:01:00Z') } });
    assert.equal(r.flows, 1);
    assert.equal(r.newlyDenied[0].evidence.records, 1);
    assert.equal(r.firstSeenMs, Date.parse('2026-11-21T10:05:00Z'));
    assert.throws(() => run({ flows: webToApi, removed: ['shop/nope'] }), (e: unknown) => e instanceof WhatIfError && /cannot remove NetworkPolicy shop\/nope: it is not among the policies in force/.test(e.message));
    assert.throws(() => run({ flows: webToApi, candidates, removed: ['shop/api-from-web'] }), WhatIfError);
  });
});

/** Policies over the labels, namespaces, addresses and ports of the random scenarios of random-flows.ts. */
const selector = (keys: Record<string, string[]>) =>
  fc.oneof(
    fc.constant({}),
    fc.record({ matchLabels: fc.record(Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, fc.constantFrom(...v)])), { requiredKeys: [] }) }),
    fc.record({ matchExpressions: fc.tuple(fc.constantFrom(...Object.keys(keys)), fc.constantFrom('Exists', 'DoesNotExist')).map(([key, operator]) => [{ key, operator }]) }),
  );
const podSel = selector({ app: ['w0', 'w1', 'w2', 'w3'], tier: ['x', 'y'], 'k8s-app': ['kube-dns'] });
const nsSel = selector({ 'kubernetes.io/metadata.name': ['n0', 'n1', 'kube-system'] });
const peer = fc.oneof(
  fc.record({ podSelector: podSel }),
  fc.record({ namespaceSelector: nsSel, podSelector: podSel }),
  // 198.18.0.0/16 holds the pod addresses (its except splits w0's two replicas): it turns the per-class memo off; the others do not.
  fc.constantFrom({ ipBlock: { cidr: '198.51.100.0/24' } }, { ipBlock: { cidr: '203.0.113.0/28' } }, { ipBlock: { cidr: '198.19.0.1/32' } }, { ipBlock: { cidr: '198.18.0.0/16', except: ['198.18.0.0/31'] } }),
);
const port = fc.constantFrom<Record<string, unknown>>({ port: 'http' }, { port: 82 }, { port: 82, endPort: 85 }, { port: 'metrics' }, { port: 9100 }, { port: 53, protocol: 'UDP' }, { protocol: 'UDP' }, { port: 443 });
const rule = (key: 'from' | 'to') => fc.record({ [key]: fc.array(peer, { maxLength: 2 }), ports: fc.array(port, { maxLength: 2 }) }, { requiredKeys: [] });
const policyOf = (name: string) =>
  fc
    .record({
      namespace: fc.constantFrom('n0', 'n1', 'kube-system'),
      podSelector: podSel,
      policyTypes: fc.constantFrom(undefined, ['Ingress'], ['Egress'], ['Ingress', 'Egress']),
      ingress: fc.array(rule('from'), { maxLength: 3 }),
      egress: fc.array(rule('to'), { maxLength: 3 }),
    })
    .map(({ namespace, ...spec }) => {
      const d = decodeNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec: JSON.parse(JSON.stringify(spec)) });
      assert.ok(d.ok, JSON.stringify(!d.ok && d.errors));
      return d.value;
    });
const policies = (prefix: string) => fc.array(fc.nat(), { maxLength: 4 }).chain((ids) => fc.tuple(...ids.map((_, i) => policyOf(`${prefix}${i}`))));

suite('what-if validation (property)', () => {
  test('verdict counts, newly denied backends and unused rules agree with evaluating every probe under both policy sets', () => {
    fc.assert(
      fc.property(scenarioArb, policies('p'), policies('c'), fc.nat(3), fc.nat(3), fc.boolean(), ({ cluster, flows }, inForce, added, replaceAt, removeAt, identical) => {
        // Candidates: new ones, plus one replacing a policy in force (identical to it, or new rules under its name); maybe one removal.
        const candidates = [...added];
        const replaced = inForce[replaceAt % Math.max(inForce.length, 1)];
        if (replaced) {
          candidates.push(identical ? { ...replaced } : { ...(added[0] ?? replaced), namespace: replaced.namespace, name: replaced.name });
        }
        const removable = inForce.filter((p) => p !== replaced);
        const removed = removable.length > 0 && removeAt < 2 ? [policyId(removable[removeAt % removable.length])] : [];
        const clusterInForce = { ...cluster, policies: inForce };
        const report = whatIf({ cluster: clusterInForce, flows, candidates, removed });

        const ids = new Set(candidates.map(policyId));
        const after = [...candidates, ...inForce.filter((p) => !ids.has(policyId(p)) && !removed.includes(policyId(p)))];
        const eb = new PolicyEngine(cluster, inForce);
        const ea = new PolicyEngine(cluster, after);
        const counts = { allowedBefore: 0, allowedAfter: 0, newlyDenied: 0, newlyAllowed: 0 };
        const deniedBackends = new Set<string>();
        const used = new Set<string>();
        for (const flow of flows) {
          const probes = probesOf(flow);
          const b = probes.map((p) => eb.allows(eb.prepare(p)));
          const a = probes.map((p) => {
            const prepared = ea.prepare(p);
            const v = ea.evaluate(prepared);
            for (const m of [v.explanation.egress.allowedBy, v.explanation.ingress.allowedBy]) {
              if (v.allowed && m) {
                used.add(`${m.policy} ${m.rule}`);
              }
            }
            return v.allowed;
          });
          const newly = probes.filter((_, i) => b[i] && !a[i]);
          counts.allowedBefore += b.every(Boolean) ? 1 : 0;
          counts.allowedAfter += a.every(Boolean) ? 1 : 0;
          counts.newlyDenied += newly.length > 0 ? 1 : 0;
          counts.newlyAllowed += newly.length === 0 && b.some((x, i) => !x && a[i]) ? 1 : 0;
          newly.forEach((p) => deniedBackends.add(typeof p.to === 'string' ? p.to : p.to.ip));
        }
        assert.deepEqual(report.counts, counts);
        assert.deepEqual(new Set([...report.newlyDenied, ...report.newlyDeniedAttempts].flatMap((g) => g.newlyDeniedBackends)), deniedBackends);
        const unused = candidates.flatMap((p) =>
          (['ingress', 'egress'] as const).flatMap((dir) => (p.isolates[dir] ? p[dir].map((_, i) => `${policyId(p)} ${dir}[${i}]`) : [])).filter((r) => !used.has(r)),
        );
        assert.deepEqual(report.unusedRules.map((u) => `${u.policy} ${u.rule}`).sort(), unused.sort());
        assert.equal(report.flows, flows.length);
      }),
      { numRuns: 200 },
    );
  });
});
