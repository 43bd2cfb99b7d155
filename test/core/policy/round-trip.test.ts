/**
 * The generation guarantee, as a property over random clusters and flow sets: the generated policies
 * (with default-deny) allow every observed flow, and deny every connection between the selected
 * workloads that was not observed (at workload granularity, the finest a selector can express), except
 * the TCP side of DNS, which is allowed on purpose. Checked with the policy engine.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { parseManifests } from '../../../src/core/kube/manifest';
import { PolicyEngine } from '../../../src/core/policy/engine';
import { generatePolicies, isFailedOnly, WorkloadIndex, workloadKey } from '../../../src/core/policy/generate';
import { renderPoliciesYaml } from '../../../src/core/policy/policy-yaml';
import { DNS_POD, portsOf, probesOf, scenarioArb } from './random-flows';

const optionsArb = fc.record({ combine: fc.boolean(), aggregateCidrs: fc.boolean() });

suite('policy generation round trip (property)', () => {
  test('generated policies plus default-deny allow every observed flow and deny every unobserved one between the selected workloads', () => {
    fc.assert(
      fc.property(scenarioArb, optionsArb, ({ cluster, flows, pods, specs }, options) => {
        const result = generatePolicies(cluster, flows, { ...options, defaultDeny: true });
        const policies = result.policies.map((p) => p.policy);
        // The YAML text loads back (API-server validation included) to the same policies.
        const parsed = parseManifests(renderPoliciesYaml(result.policies), 'generated.yaml');
        assert.deepEqual(parsed.errors, []);
        assert.equal(parsed.objects.length, policies.length);
        const engine = new PolicyEngine(cluster, policies);

        const working = flows.filter((f) => !isFailedOnly(f));
        for (const flow of working) {
          for (const probe of probesOf(flow)) {
            assert.ok(engine.allows(engine.prepare(probe)), `observed flow denied: ${JSON.stringify(probe)}\n${engine.evaluate(engine.prepare(probe)).explanation.summary}`);
          }
        }

        const index = new WorkloadIndex(cluster, flows);
        const wl = (id: string) => workloadKey(index.workloadOf(cluster.pods.find((p) => `${p.namespace}/${p.name}` === id)!));
        const observed = new Set(working.filter((f) => f.client.kind === 'pod' && f.server.kind === 'pod').flatMap((f) => f.server.pods.map((p) => `${wl(`${f.client.pods[0].namespace}/${f.client.pods[0].name}`)}|${wl(`${p.namespace}/${p.name}`)}|${f.port}/${f.protocol}`)));
        const resolvesNames = new Set(working.filter((f) => f.server.pods.some((p) => `${p.namespace}/${p.name}` === DNS_POD)).map((f) => wl(`${f.client.pods[0].namespace}/${f.client.pods[0].name}`)));
        const denies = (ns: string, type: 'Ingress' | 'Egress') =>
          policies.some((p) => p.namespace === ns && p.name.startsWith('default-deny') && p.podSelector.matchLabels.size === 0 && p.isolates[type === 'Ingress' ? 'ingress' : 'egress']);

        const all = pods.flat();
        for (const a of all) {
          const aNs = a.split('/')[0];
          for (const [bi, bPods] of pods.entries()) {
            for (const bPod of bPods) {
              if (bPod === a || !(denies(aNs, 'Egress') || denies(bPod.split('/')[0], 'Ingress'))) {
                continue;
              }
              for (const { port, protocol } of [...portsOf(specs[bi]), { port: 80, protocol: 'TCP' as const }, { port: 81, protocol: 'TCP' as const }, { port: 84, protocol: 'TCP' as const }]) {
                const allowed = engine.allows(engine.prepare({ from: a, to: bPod, port, protocol }));
                const seen = observed.has(`${wl(a)}|${wl(bPod)}|${port}/${protocol}`);
                assert.equal(allowed, seen, `${a} -> ${bPod} on ${port}/${protocol}: ${seen ? 'observed but denied' : 'never observed but allowed'}`);
              }
            }
          }
          // DNS: UDP and TCP 53 exactly when the workload resolves names.
          if (denies(aNs, 'Egress')) {
            for (const protocol of ['UDP', 'TCP'] as const) {
              const allowed = engine.allows(engine.prepare({ from: a, to: DNS_POD, port: 53, protocol }));
              assert.equal(allowed, resolvesNames.has(wl(a)), `${a} -> DNS 53/${protocol}`);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  test('a namespace scope generates only for that namespace, and its default-deny breaks nothing observed', () => {
    fc.assert(
      fc.property(scenarioArb, ({ cluster, flows }) => {
        const result = generatePolicies(cluster, flows, { scope: { kind: 'namespace', namespace: 'n0' }, defaultDeny: true });
        assert.ok(result.policies.every((p) => p.manifest.metadata.namespace === 'n0'));
        const engine = new PolicyEngine(cluster, result.policies.map((p) => p.policy));
        for (const flow of flows.filter((f) => !isFailedOnly(f))) {
          for (const probe of probesOf(flow)) {
            assert.ok(engine.allows(engine.prepare(probe)), `observed flow denied: ${JSON.stringify(probe)}`);
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
