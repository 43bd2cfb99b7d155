import { strict as assert } from 'node:assert';
import type { EnrichedFlow } from '../../../src/core/flows/enriched-flow';
import { parseManifests } from '../../../src/core/kube/manifest';
import { PolicyEngine } from '../../../src/core/policy/engine';
import { generatePolicies, type GeneratedPolicies, type GenerateOptions, type NetworkPolicyManifest } from '../../../src/core/policy/generate';
import { decodeNetworkPolicy } from '../../../src/core/policy/network-policy';
import { renderPoliciesYaml } from '../../../src/core/policy/policy-yaml';
import { clusterFromYaml } from '../fixtures';
import { FlowBuilder } from './flow-builder';

const CLUSTER = `
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: shop}}
- {apiVersion: v1, kind: Namespace, metadata: {name: pay}}
- {apiVersion: v1, kind: Namespace, metadata: {name: kube-system}}
- {apiVersion: v1, kind: Node, metadata: {name: node-a}, status: {addresses: [{type: InternalIP, address: 198.19.0.1}]}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, namespace: shop}
  spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web, tier: front, version: v3}}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: web-aa11-x, namespace: shop, labels: {app: web, tier: front, version: v3, pod-template-hash: aa11}, ownerReferences: [{kind: ReplicaSet, name: web-aa11, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: http, containerPort: 8080}]}]}
  status: {phase: Running, podIP: 198.18.0.10}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: api, namespace: shop}
  spec: {selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: api-bb22-1, namespace: shop, labels: {app: api, pod-template-hash: bb22}, ownerReferences: [{kind: ReplicaSet, name: api-bb22, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: grpc, containerPort: 9090}, {containerPort: 7000}, {containerPort: 7001}, {containerPort: 7002}, {containerPort: 7003}, {containerPort: 7005}, {containerPort: 7001, protocol: UDP}]}]}
  status: {phase: Running, podIP: 198.18.0.11}
- apiVersion: v1
  kind: Pod
  metadata: {name: api-bb22-2, namespace: shop, labels: {app: api, pod-template-hash: bb22}, ownerReferences: [{kind: ReplicaSet, name: api-bb22, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: grpc, containerPort: 9090}, {containerPort: 7000}, {containerPort: 7001}, {containerPort: 7002}, {containerPort: 7003}, {containerPort: 7005}, {containerPort: 7001, protocol: UDP}]}]}
  status: {phase: Running, podIP: 198.18.0.12}
- apiVersion: v1
  kind: Pod
  metadata: {name: worker-cc33-1, namespace: shop, labels: {app: worker, pod-template-hash: cc33}, ownerReferences: [{kind: ReplicaSet, name: worker-cc33, controller: true}]}
  spec: {nodeName: node-a, containers: [{name: w}]}
  status: {phase: Running, podIP: 198.18.0.13}
- apiVersion: v1
  kind: Pod
  metadata: {name: worker-cc33-2, namespace: shop, labels: {app: worker, pod-template-hash: cc33, extra: only-here}, ownerReferences: [{kind: ReplicaSet, name: worker-cc33, controller: true}]}
  spec: {nodeName: node-a, containers: [{name: w}]}
  status: {phase: Running, podIP: 198.18.0.14}
- apiVersion: v1
  kind: Pod
  metadata: {name: orphan-dd44-1, namespace: shop, labels: {pod-template-hash: dd44}, ownerReferences: [{kind: ReplicaSet, name: orphan-dd44, controller: true}]}
  spec: {nodeName: node-a, containers: [{name: o}]}
  status: {phase: Running, podIP: 198.18.0.15}
- apiVersion: apps/v1
  kind: StatefulSet
  metadata: {name: db, namespace: pay}
  spec: {selector: {matchLabels: {app: db}}, template: {metadata: {labels: {app: db}}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: db-0, namespace: pay, labels: {app: db, controller-revision-hash: db-7f, statefulset.kubernetes.io/pod-name: db-0}, ownerReferences: [{kind: StatefulSet, name: db, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{containerPort: 5432}]}]}
  status: {phase: Running, podIP: 198.18.1.20}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: coredns, namespace: kube-system}
  spec: {selector: {matchLabels: {k8s-app: kube-dns}}, template: {metadata: {labels: {k8s-app: kube-dns}}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: coredns-ee55-1, namespace: kube-system, labels: {k8s-app: kube-dns, pod-template-hash: ee55}, ownerReferences: [{kind: ReplicaSet, name: coredns-ee55, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53}]}]}
  status: {phase: Running, podIP: 198.18.2.2}
- apiVersion: v1
  kind: Service
  metadata: {name: kube-dns, namespace: kube-system}
  spec: {selector: {k8s-app: kube-dns}, clusterIP: 198.19.128.10, ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: agent-1, namespace: kube-system, labels: {app: agent, controller-revision-hash: ff66}, ownerReferences: [{kind: DaemonSet, name: agent, controller: true}]}
  spec: {nodeName: node-a, hostNetwork: true, containers: [{ports: [{name: metrics, containerPort: 9100}]}]}
  status: {phase: Running, podIP: 198.19.0.1}
`;

const API_SERVICE = { namespace: 'shop', name: 'api', port: 80, ip: '198.19.128.11' };
const API_BACKENDS = ['shop/api-bb22-1', 'shop/api-bb22-2'];

suite('policy generation', () => {
  const cluster = clusterFromYaml(CLUSTER);
  const b = new FlowBuilder(cluster);
  const gen = (flows: EnrichedFlow[], options: GenerateOptions = {}) => generatePolicies(cluster, flows, options);
  const manifest = (r: GeneratedPolicies, id: string): NetworkPolicyManifest => {
    const found = r.policies.find((p) => `${p.manifest.metadata.namespace}/${p.manifest.metadata.name}` === id);
    assert.ok(found, `no policy ${id} among ${r.policies.map((p) => `${p.manifest.metadata.namespace}/${p.manifest.metadata.name}`).join(', ')}`);
    return found.manifest;
  };
  const webToApi = b.flow({ client: 'shop/web-aa11-x', server: API_BACKENDS, service: API_SERVICE, port: 9090 });

  test('ports are the server pod\'s port by name, never the Service port; one policy per workload per direction', () => {
    const r = gen([webToApi]);
    assert.deepEqual(
      r.policies.map((p) => `${p.manifest.metadata.namespace}/${p.manifest.metadata.name}`),
      ['shop/api-ingress', 'shop/web-egress'],
    );
    const ingress = manifest(r, 'shop/api-ingress');
    assert.deepEqual(ingress.spec.policyTypes, ['Ingress']);
    assert.deepEqual(ingress.spec.ingress, [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 'grpc' }] }]);
    const egress = manifest(r, 'shop/web-egress');
    assert.deepEqual(egress.spec.egress, [{ to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ protocol: 'TCP', port: 'grpc' }] }]);
    const yaml = renderPoliciesYaml(r.policies);
    assert.ok(!/port: 80\b/.test(yaml), 'the Service port never appears as a port');
    assert.match(yaml, /# named port: 9090\/TCP; dialled through Service shop\/api:80 \(Service port; the rule uses the pod's port\)\n {4}- protocol: TCP\n {6}port: grpc/);
  });

  test('selectors: the workload\'s own immutable selector keys, no volatile labels; common labels when the workload object is missing', () => {
    const r = gen([
      b.flow({ client: 'shop/worker-cc33-1', server: 'pay/db-0', port: 5432 }),
      b.flow({ client: 'shop/web-aa11-x', server: 'pay/db-0', port: 5432 }),
    ]);
    // web's template has app, tier and version; its Deployment selects by app alone, which survives a version bump.
    const db = manifest(r, 'pay/db-ingress');
    assert.deepEqual(db.spec.podSelector, { matchLabels: { app: 'db' } }, 'no controller-revision-hash, no statefulset pod-name');
    assert.deepEqual(db.spec.ingress![0].from, [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }, podSelector: { matchLabels: { app: 'web' } } },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }, podSelector: { matchLabels: { app: 'worker' } } },
    ]);
    // worker has no Deployment or ReplicaSet object: the labels all its pods share, without pod-template-hash.
    assert.deepEqual(manifest(r, 'shop/worker-egress').spec.podSelector, { matchLabels: { app: 'worker' } });
    const yaml = renderPoliciesYaml(r.policies);
    for (const volatile of ['pod-template-hash', 'controller-revision-hash', 'statefulset.kubernetes.io/pod-name', 'version']) {
      assert.ok(!yaml.includes(volatile), `${volatile} in a selector`);
    }
  });

  test('a workload without stable labels gets no policy, with a note; as a peer it is allowed namespace-wide with a warning', () => {
    const r = gen([b.flow({ client: 'shop/orphan-dd44-1', server: 'shop/web-aa11-x', port: 8080 })]);
    assert.deepEqual(r.policies.map((p) => p.manifest.metadata.name), ['web-ingress']);
    assert.ok(r.notes.some((n) => /^Deployment shop\/orphan has no stable pod labels/.test(n)), r.notes.join('\n'));
    const web = manifest(r, 'shop/web-ingress');
    assert.deepEqual(web.spec.ingress![0].from, [{ podSelector: {} }]);
    assert.match(renderPoliciesYaml(r.policies), /WARNING: Deployment shop\/orphan has no stable labels: this peer allows every pod in namespace shop/);
  });

  test('numeric ports merge into endPort ranges only where every port was observed, per protocol and per peer set', () => {
    const ports = [7000, 7001, 7002, 7003, 7005];
    const r = gen([
      ...ports.map((port) => b.flow({ client: 'shop/web-aa11-x', server: 'shop/api-bb22-1', port })),
      b.flow({ client: 'shop/web-aa11-x', server: 'shop/api-bb22-1', port: 7001, protocol: 'UDP' }),
      b.flow({ client: 'shop/worker-cc33-1', server: 'shop/api-bb22-1', port: 7000 }),
      b.flow({ client: 'shop/worker-cc33-1', server: 'shop/api-bb22-1', port: 7001 }),
    ]);
    const rules = manifest(r, 'shop/api-ingress').spec.ingress!;
    assert.deepEqual(rules, [
      {
        from: [{ podSelector: { matchLabels: { app: 'web' } } }],
        ports: [
          { protocol: 'TCP', port: 7000, endPort: 7003 },
          { protocol: 'TCP', port: 7005 },
          { protocol: 'UDP', port: 7001 },
        ],
      },
      { from: [{ podSelector: { matchLabels: { app: 'worker' } } }], ports: [{ protocol: 'TCP', port: 7000, endPort: 7001 }] },
    ]);
    assert.match(renderPoliciesYaml(r.policies), /# 4 observed ports, every one of 7000-7003\n/);
  });

  test('peers with identical ports share one rule; no peer or port appears twice', () => {
    const flows = [
      b.flow({ client: 'shop/web-aa11-x', server: 'pay/db-0', port: 5432 }),
      b.flow({ client: 'shop/web-aa11-x', server: 'pay/db-0', port: 5432, observedAt: 'server' }),
      b.flow({ client: 'shop/api-bb22-1', server: 'pay/db-0', port: 5432 }),
      b.flow({ client: 'shop/api-bb22-2', server: 'pay/db-0', port: 5432 }),
    ];
    const rules = manifest(gen(flows), 'pay/db-ingress').spec.ingress!;
    assert.equal(rules.length, 1);
    assert.equal(rules[0].from!.length, 2, 'the two api pods are one peer');
    assert.deepEqual(rules[0].ports, [{ protocol: 'TCP', port: 5432 }]);
  });

  test('DNS: egress to the cluster DNS pods on UDP and TCP 53 when the workload resolves names, though only UDP was seen', () => {
    const dns = b.flow({ client: 'shop/web-aa11-x', server: ['kube-system/coredns-ee55-1'], service: { namespace: 'kube-system', name: 'kube-dns', port: 53, ip: '198.19.128.10' }, port: 53, protocol: 'UDP' });
    const r = gen([dns, webToApi], { direction: 'egress' });
    const rules = manifest(r, 'shop/web-egress').spec.egress!;
    assert.deepEqual(rules[0], {
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    });
    assert.equal(rules.length, 2);
    const apiOnly = gen([webToApi], { direction: 'egress' });
    assert.equal(manifest(apiOnly, 'shop/web-egress').spec.egress!.length, 1, 'no DNS rule without DNS flows');
    // Unless asked for: then every egress policy allows DNS, and its comment says no lookup was seen.
    const asked = gen([webToApi], { direction: 'egress', dns: true });
    assert.deepEqual(manifest(asked, 'shop/web-egress').spec.egress![0], rules[0]);
    assert.match(renderPoliciesYaml(asked.policies), /TCP is allowed even if unobserved, for truncated answers: no lookup observed; allowed because DNS egress was requested/);
    assert.equal(manifest(gen([webToApi], { direction: 'ingress', dns: true }), 'shop/api-ingress').spec.ingress!.length, 1, 'ingress policies get no DNS rule');
    // The DNS servers' ingress gets the TCP side too, so that the clients' TCP fallback is not denied there.
    const dnsIngress = manifest(gen([dns], { direction: 'ingress' }), 'kube-system/coredns-ingress').spec.ingress!;
    assert.deepEqual(dnsIngress[0].ports, [
      { protocol: 'TCP', port: 'dns-tcp' },
      { protocol: 'UDP', port: 'dns' },
    ]);
    // And the engine agrees that TCP 53 gets through both ends.
    const engine = new PolicyEngine(cluster, gen([dns], { defaultDeny: true }).policies.map((p) => p.policy));
    assert.ok(engine.allows(engine.prepare({ from: 'shop/web-aa11-x', to: 'kube-system/coredns-ee55-1', port: 53, protocol: 'TCP' })));
    assert.ok(!engine.allows(engine.prepare({ from: 'shop/web-aa11-x', to: 'kube-system/coredns-ee55-1', port: 54, protocol: 'UDP' })));
  });

  test('external and cloud peers are exact /32 and /128 ipBlocks with numeric ports, unless aggregation is asked for', () => {
    const flows = [
      b.flow({ client: 'shop/web-aa11-x', server: { ip: '203.0.113.5', kind: 'cloud-service', cloudService: 'S3' }, port: 443 }),
      b.flow({ client: 'shop/web-aa11-x', server: { ip: '203.0.113.6', kind: 'cloud-service', cloudService: 'S3' }, port: 443 }),
      b.flow({ client: 'shop/web-aa11-x', server: { ip: '203.0.113.9', kind: 'cloud-service', cloudService: 'DYNAMODB' }, port: 443 }),
      b.flow({ client: 'shop/web-aa11-x', server: { ip: '198.51.100.10', kind: 'external' }, port: 443 }),
      b.flow({ client: 'shop/web-aa11-x', server: { ip: '198.51.100.11', kind: 'external' }, port: 80 }),
      b.flow({ client: 'shop/web-aa11-x', server: { ip: '2001:db8::7', kind: 'external' }, port: 443 }),
    ];
    const exact = manifest(gen(flows), 'shop/web-egress').spec.egress!;
    assert.deepEqual(exact, [
      {
        to: ['203.0.113.9/32', '203.0.113.5/32', '203.0.113.6/32', '198.51.100.10/32', '2001:db8::7/128'].map((cidr) => ({ ipBlock: { cidr } })),
        ports: [{ protocol: 'TCP', port: 443 }],
      },
      { to: [{ ipBlock: { cidr: '198.51.100.11/32' } }], ports: [{ protocol: 'TCP', port: 80 }] },
    ]);
    const aggregated = gen(flows, { aggregateCidrs: true });
    const rules = manifest(aggregated, 'shop/web-egress').spec.egress!;
    // .5 and .6 (S3, same port) become their smallest common CIDR; DYNAMODB and the internet stay apart; port 80 stays apart.
    assert.deepEqual(
      rules.map((r) => r.to!.map((p) => p.ipBlock!.cidr)),
      [['203.0.113.9/32', '203.0.113.4/30', '198.51.100.10/32', '2001:db8::7/128'], ['198.51.100.11/32']],
    );
    assert.match(renderPoliciesYaml(aggregated.policies), /# cloud service S3 203\.0\.113\.4\/30, aggregated from the 2 observed addresses 203\.0\.113\.5, 203\.0\.113\.6 \(also allows 2 unobserved addresses\)/);
  });

  test('host-network pods are their node: an ipBlock of the node address with a comment, and never the subject of a policy', () => {
    const r = gen([
      b.flow({ client: 'shop/web-aa11-x', server: { ip: '198.19.0.1', kind: 'node', node: 'node-a', hostPod: 'kube-system/agent-1' }, port: 9100 }),
      b.flow({ client: { ip: '198.19.0.1', kind: 'node', node: 'node-a' }, server: 'shop/web-aa11-x', port: 8080 }),
    ]);
    assert.deepEqual(
      r.policies.map((p) => p.manifest.metadata.name),
      ['web-egress', 'web-ingress'],
    );
    assert.deepEqual(manifest(r, 'shop/web-egress').spec.egress, [{ to: [{ ipBlock: { cidr: '198.19.0.1/32' } }], ports: [{ protocol: 'TCP', port: 9100 }] }]);
    assert.deepEqual(manifest(r, 'shop/web-ingress').spec.ingress, [{ from: [{ ipBlock: { cidr: '198.19.0.1/32' } }], ports: [{ protocol: 'TCP', port: 'http' }] }]);
    assert.ok(r.notes.some((n) => /DaemonSet kube-system\/agent .* uses the host network: NetworkPolicies cannot isolate it/.test(n)), r.notes.join('\n'));
    const yaml = renderPoliciesYaml(r.policies);
    assert.match(yaml, /# node node-a 198\.19\.0\.1, host-network pod kube-system\/agent-1\n/);
  });

  test('flows where every connection failed are not allowed, with a note', () => {
    const r = gen([webToApi, b.flow({ client: 'shop/web-aa11-x', server: 'pay/db-0', port: 5432, connections: 0, failed: 4 })]);
    assert.ok(!r.policies.some((p) => p.manifest.metadata.namespace === 'pay'));
    assert.deepEqual(manifest(r, 'shop/web-egress').spec.egress!.length, 1);
    assert.ok(r.notes.some((n) => /1 flow record\(s\) only failed to connect .*Deployment shop\/web -> StatefulSet pay\/db:5432\/TCP/.test(n)), r.notes.join('\n'));
  });

  test('scope: a namespace, or one workload; combined policies; default-deny per namespace', () => {
    const flows = [webToApi, b.flow({ client: 'shop/api-bb22-1', server: 'pay/db-0', port: 5432 })];
    const ns = gen(flows, { scope: { kind: 'namespace', namespace: 'pay' } });
    assert.deepEqual(ns.policies.map((p) => p.manifest.metadata.name), ['db-ingress']);
    const one = gen(flows, { scope: { kind: 'workloads', workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'api' }] } });
    assert.deepEqual(one.policies.map((p) => p.manifest.metadata.name), ['api-egress', 'api-ingress']);
    const combined = gen(flows, { scope: { kind: 'namespace', namespace: 'shop' }, combine: true, defaultDeny: true });
    assert.deepEqual(
      combined.policies.map((p) => `${p.manifest.metadata.name} ${p.manifest.spec.policyTypes.join('+')}`),
      ['default-deny Ingress+Egress', 'api Ingress+Egress', 'web Egress'],
    );
    const api = manifest(combined, 'shop/api');
    assert.equal(api.spec.ingress!.length, 1);
    assert.equal(api.spec.egress!.length, 1);
    assert.deepEqual(manifest(combined, 'shop/default-deny').spec.podSelector, {});
  });

  test('default-deny is left out where it would deny an observed flow of a workload outside the selection', () => {
    const flows = [webToApi, b.flow({ client: 'shop/worker-cc33-1', server: 'pay/db-0', port: 5432 })];
    const r = gen(flows, { scope: { kind: 'workloads', workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'web' }] }, defaultDeny: true });
    // web's egress is generated; worker (same namespace, not selected) also sends: a default-deny egress would cut it off.
    assert.ok(!r.policies.some((p) => p.manifest.metadata.name.startsWith('default-deny-egress')));
    assert.ok(r.notes.some((n) => /^no default-deny egress for namespace shop: it would deny observed egress traffic of Deployment shop\/api, Deployment shop\/worker/.test(n)) || r.notes.some((n) => /no default-deny egress for namespace shop: .*Deployment shop\/worker/.test(n)), r.notes.join('\n'));
    // Nothing in shop is seen receiving except api, which is not selected either.
    assert.ok(r.notes.some((n) => /no default-deny ingress for namespace shop: .*Deployment shop\/api/.test(n)), r.notes.join('\n'));
  });

  test('every rule, peer list and policy carries its evidence; the YAML loads back to the same policies', () => {
    const flows = [
      webToApi,
      b.flow({ client: 'shop/web-aa11-x', server: API_BACKENDS, service: API_SERVICE, port: 9090, observedAt: 'server', bytes: 500, connections: 1 }),
      b.flow({ client: 'shop/worker-cc33-1', server: API_BACKENDS, service: API_SERVICE, port: 9090, bytes: 4096, connections: 3, start: '2026-11-21T11:00:00Z', end: '2026-11-21T11:00:05Z' }),
    ];
    const r = gen(flows);
    const yaml = renderPoliciesYaml(r.policies, ['preamble line']);
    const lines = yaml.split('\n');
    lines.forEach((line, i) => {
      if (/^ {2}- (from|to):/.test(line)) {
        assert.match(lines[i - 1], /^ {2}# \d+ flow records?, [\d.]+ (B|KiB|MiB), \d+ connections?, last seen 20\d\d-/, `rule without evidence at line ${i + 1}`);
      }
    });
    assert.ok(yaml.startsWith('# preamble line\n\n# Ingress of Deployment shop/api (pods app=api)'), yaml.slice(0, 200));
    // Both ends reported web -> api: the bytes count once (the larger side), the records twice.
    assert.match(yaml, /# Deployment shop\/web: 2 flow records, 1000 B, 1 connection, last seen 2026-11-21T10:00:05Z/);
    assert.match(yaml, /# Deployment shop\/worker: 1 flow record, 4\.0 KiB, 3 connections, last seen 2026-11-21T11:00:05Z/);
    const parsed = parseManifests(yaml, 'generated.yaml');
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(
      parsed.objects.map((o) => o.value),
      r.policies.map((p) => ({ ...p.policy, source: parsed.objects.find((o) => o.value.name === p.policy.name && 'namespace' in o.value && o.value.namespace === p.policy.namespace)!.value.source })),
    );
    for (const p of r.policies) {
      assert.ok(decodeNetworkPolicy(JSON.parse(JSON.stringify(p.manifest))).ok);
    }
  });

  test('output is deterministic: the same flows in any order give the same text', () => {
    const flows = [
      webToApi,
      b.flow({ client: 'shop/worker-cc33-1', server: API_BACKENDS, service: API_SERVICE, port: 9090 }),
      b.flow({ client: 'shop/api-bb22-1', server: 'pay/db-0', port: 5432 }),
      b.flow({ client: 'shop/web-aa11-x', server: { ip: '198.51.100.10', kind: 'external' }, port: 443 }),
      b.flow({ client: 'shop/web-aa11-x', server: { ip: '198.51.100.9', kind: 'external' }, port: 443 }),
      b.flow({ client: { ip: '198.51.100.20', kind: 'external' }, server: 'shop/web-aa11-x', port: 8080 }),
      ...[7003, 7000, 7002, 7001].map((port) => b.flow({ client: 'shop/web-aa11-x', server: 'shop/api-bb22-2', port })),
    ];
    const text = renderPoliciesYaml(gen(flows, { defaultDeny: true }).policies);
    for (let seed = 1; seed <= 5; seed++) {
      const shuffled = [...flows].sort((x, y) => ((flows.indexOf(x) * 7919 * seed) % 13) - ((flows.indexOf(y) * 7919 * seed) % 13));
      assert.equal(renderPoliciesYaml(gen(shuffled, { defaultDeny: true }).policies), text);
    }
  });

  test('a pod behind a Service whose backends belong to two workloads: a policy for each backend workload, peers for each', () => {
    const canaryCluster = clusterFromYaml(`${CLUSTER}
- apiVersion: v1
  kind: Pod
  metadata: {name: api-canary-1, namespace: shop, labels: {app: api-canary}, ownerReferences: [{kind: ReplicaSet, name: api-canary-9f9f, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: grpc, containerPort: 9090}]}]}
  status: {phase: Running, podIP: 198.18.0.30}
`);
    const cb = new FlowBuilder(canaryCluster);
    const r = generatePolicies(canaryCluster, [cb.flow({ client: 'shop/web-aa11-x', server: [...API_BACKENDS, 'shop/api-canary-1'], service: API_SERVICE, port: 9090 })]);
    assert.deepEqual(r.policies.map((p) => p.manifest.metadata.name), ['api-canary-9f9f-ingress', 'api-ingress', 'web-egress']);
    assert.deepEqual(
      r.policies.find((p) => p.manifest.metadata.name === 'web-egress')!.manifest.spec.egress![0].to,
      [{ podSelector: { matchLabels: { app: 'api' } } }, { podSelector: { matchLabels: { app: 'api-canary' } } }],
    );
  });

  test('selectors that cannot tell two workloads apart are reported', () => {
    const twins = clusterFromYaml(`${CLUSTER}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: api-v2, namespace: shop}
  spec: {selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: api-v2-1, namespace: shop, labels: {app: api}, ownerReferences: [{kind: ReplicaSet, name: api-v2-abab, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: grpc, containerPort: 9090}]}]}
  status: {phase: Running, podIP: 198.18.0.31}
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {name: api-v2-abab, namespace: shop, ownerReferences: [{kind: Deployment, name: api-v2, controller: true}]}
  spec: {selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}}}
`);
    const r = generatePolicies(twins, [new FlowBuilder(twins).flow({ client: 'shop/web-aa11-x', server: API_BACKENDS, service: API_SERVICE, port: 9090 })]);
    assert.ok(r.notes.some((n) => n.includes('the selector app=api of Deployment shop/api also selects the pods of Deployment shop/api-v2')), r.notes.join('\n'));
    assert.match(renderPoliciesYaml(r.policies), /# Warning: the selector also matches the pods of Deployment shop\/api-v2\./);
  });

  test('names clash across kinds: the kind is added', () => {
    const clash = clusterFromYaml(`${CLUSTER}
- apiVersion: v1
  kind: Pod
  metadata: {name: web-0, namespace: shop, labels: {app: web-db}, ownerReferences: [{kind: StatefulSet, name: web, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{containerPort: 5432}]}]}
  status: {phase: Running, podIP: 198.18.0.40}
`);
    const cb = new FlowBuilder(clash);
    const r = generatePolicies(clash, [cb.flow({ client: 'shop/web-aa11-x', server: 'shop/web-0', port: 5432 }), cb.flow({ client: 'shop/web-0', server: 'shop/web-aa11-x', port: 8080 })]);
    assert.deepEqual(r.policies.map((p) => p.manifest.metadata.name), ['web-deployment-egress', 'web-deployment-ingress', 'web-statefulset-egress', 'web-statefulset-ingress']);
  });
});
