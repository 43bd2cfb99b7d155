import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { PolicyEngine, type Probe } from '../../../src/core/policy/engine';
import type { NetworkPolicy } from '../../../src/core/policy/network-policy';
import { selectorMatches } from '../../../src/core/kube/selector';
import { allProbes, clusterArb, policyArb } from './random-cluster';
import { referenceAllows, type ReferenceProbe } from './reference-evaluator';

const RUNS = { numRuns: 150 };
const policiesArb = fc.array(fc.nat(), { maxLength: 4 }).chain((ids) => fc.tuple(...ids.map((_, i) => policyArb(`p${i}`))));

function verdicts(engine: PolicyEngine, probes: readonly Probe[]): boolean[] {
  return probes.map((probe) => engine.allows(engine.prepare(probe)));
}

function selects(policy: NetworkPolicy, engine: PolicyEngine, podId: string): boolean {
  return engine.selectedPods(policy).includes(podId);
}

suite('policy engine properties', () => {
  test('the indexed engine agrees with the naive reference evaluator, and allows() with evaluate()', () => {
    fc.assert(
      fc.property(clusterArb, policiesArb, (cluster, policies) => {
        const engine = new PolicyEngine(cluster, policies);
        for (const probe of allProbes(cluster)) {
          const prepared = engine.prepare(probe);
          const fast = engine.allows(prepared);
          assert.equal(fast, referenceAllows(cluster, policies, probe as ReferenceProbe), JSON.stringify(probe));
          assert.equal(engine.evaluate(prepared).allowed, fast, `evaluate() disagrees with allows() for ${JSON.stringify(probe)}`);
        }
      }),
      RUNS,
    );
  });

  test('adding a policy changes no verdict for traffic it does not select, and opens only what its own rules allow', () => {
    fc.assert(
      fc.property(clusterArb, policiesArb, policyArb('added'), (cluster, policies, added) => {
        const before = new PolicyEngine(cluster, policies);
        const after = new PolicyEngine(cluster, [...policies, added]);
        const probes = allProbes(cluster);
        const was = verdicts(before, probes);
        probes.forEach((probe, i) => {
          const prepared = after.prepare(probe);
          const now = after.evaluate(prepared);
          const srcSelected = typeof probe.from === 'string' && added.isolates.egress && selects(added, after, probe.from);
          const dstSelected = typeof probe.to === 'string' && added.isolates.ingress && selects(added, after, probe.to);
          if (!srcSelected && !dstSelected) {
            assert.equal(now.allowed, was[i], `verdict changed for unselected traffic ${JSON.stringify(probe)}`);
          } else if (!was[i] && now.allowed) {
            const openedBy = [now.explanation.egress.allowedBy?.policy, now.explanation.ingress.allowedBy?.policy];
            assert.ok(openedBy.includes(`${added.namespace}/added`), `deny turned into allow without a rule of the added policy: ${now.explanation.summary}`);
          }
        });
      }),
      RUNS,
    );
  });

  test('a pod selected by no policy is never isolated', () => {
    fc.assert(
      fc.property(clusterArb, policiesArb, (cluster, policies) => {
        const engine = new PolicyEngine(cluster, policies);
        for (const probe of allProbes(cluster)) {
          const v = engine.evaluate(engine.prepare(probe));
          for (const [ref, dir] of [
            [probe.to, 'ingress'],
            [probe.from, 'egress'],
          ] as const) {
            if (typeof ref !== 'string') {
              continue;
            }
            const pod = cluster.pods.find((p) => `${p.namespace}/${p.name}` === ref)!;
            const selected = policies.some(
              (p) => p.namespace === pod.namespace && (dir === 'ingress' ? p.isolates.ingress : p.isolates.egress) && selectorMatches(p.podSelector, pod.labels),
            );
            if (!selected || pod.hostNetwork) {
              assert.equal(v.explanation[dir].isolated, false, `${ref} reported isolated for ${dir}`);
              assert.equal(v.explanation[dir].allowed, true, `${ref} denied ${dir} without isolation`);
            }
          }
        }
      }),
      RUNS,
    );
  });

  test('ingress and egress are independent: the verdict is the AND of the two directions evaluated apart', () => {
    const only = (policies: readonly NetworkPolicy[], dir: 'ingress' | 'egress'): NetworkPolicy[] =>
      policies.map((p) => ({
        ...p,
        isolates: { ingress: dir === 'ingress' && p.isolates.ingress, egress: dir === 'egress' && p.isolates.egress },
        ingress: dir === 'ingress' ? p.ingress : [],
        egress: dir === 'egress' ? p.egress : [],
      }));
    fc.assert(
      fc.property(clusterArb, policiesArb, (cluster, policies) => {
        const both = new PolicyEngine(cluster, policies);
        const ingressOnly = new PolicyEngine(cluster, only(policies, 'ingress'));
        const egressOnly = new PolicyEngine(cluster, only(policies, 'egress'));
        for (const probe of allProbes(cluster)) {
          const v = both.evaluate(both.prepare(probe));
          const i = ingressOnly.evaluate(ingressOnly.prepare(probe));
          const e = egressOnly.evaluate(egressOnly.prepare(probe));
          assert.equal(v.allowed, i.allowed && e.allowed, JSON.stringify(probe));
          assert.equal(v.explanation.ingress.allowed, i.explanation.ingress.allowed, `ingress depends on egress policies: ${JSON.stringify(probe)}`);
          assert.equal(v.explanation.egress.allowed, e.explanation.egress.allowed, `egress depends on ingress policies: ${JSON.stringify(probe)}`);
        }
      }),
      RUNS,
    );
  });
});
