import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { EnrichedFlow } from '../../../src/core/flows/enriched-flow';
import type { Cluster } from '../../../src/core/kube/cluster';
import { policyId } from '../../../src/core/policy/network-policy';
import { diagnosePolicyDocument } from '../../../src/core/policy/policy-diagnostics';
import { parsePolicyDocument } from '../../../src/core/policy/policy-document';
import { whatIf, type WhatIfInput } from '../../../src/core/policy/what-if';
import { policiesFromYaml } from '../fixtures';
import { policyArb } from './random-cluster';
import { scenarioArb } from './random-flows';

/*
 * What-if and the diagnostics keep what depends only on the cluster snapshot, the flows array and the
 * policies in force across calls, by identity. Each call of a sequence sharing those objects must give
 * what the same call gives on fresh copies of them (new identities: nothing cached).
 */

const policies = (prefix: string) => fc.array(fc.nat(), { maxLength: 3 }).chain((ids) => fc.tuple(...ids.map((_, i) => policyArb(`${prefix}${i}`))));

function fresh(cluster: Cluster, flows: readonly EnrichedFlow[]): { cluster: Cluster; flows: EnrichedFlow[] } {
  return { cluster: { ...cluster }, flows: [...flows] };
}

const DOCUMENT = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: w0, namespace: n0}
spec:
  podSelector: {matchLabels: {app: w0}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: w1}}}]
  egress:
  - to: [{podSelector: {matchLabels: {tier: x}}}]
    ports: [{port: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: n1}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`;

suite('what-if and diagnostics caches', () => {
  // An ipBlock holding pod addresses: verdicts are not memoised per class of pods.
  const [podBlock] = policiesFromYaml(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: pod-block, namespace: n0}
spec: {podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 198.18.0.0/16}}]}]}
`);

  test('calls sharing the cluster, flows and policies in force agree with calls on fresh copies', () => {
    fc.assert(
      fc.property(scenarioArb, policies('p'), policies('c'), policies('d'), fc.nat(9), ({ cluster, flows }, inForce, c1, c2, drop) => {
        const withPolicies = { ...cluster, policies: inForce };
        // The same flows against another snapshot, one lacking a pod they name (its probes cannot be evaluated).
        const lacking = { ...withPolicies, pods: withPolicies.pods.filter((_, i) => i !== drop % withPolicies.pods.length) };
        const window = { fromMs: Math.max(...flows.map((f) => f.endMs)) + 1 };
        const sequence: WhatIfInput[] = [
          { cluster: withPolicies, flows, candidates: c1 },
          { cluster: withPolicies, flows, candidates: c2 },
          // The same snapshot with other policies in force: the engine of the first ones must not be reused.
          { cluster: withPolicies, flows, candidates: c1, inForce: c2 },
          { cluster: withPolicies, flows, candidates: c2, inForce: c1 },
          { cluster: withPolicies, flows, candidates: c1, removed: inForce.slice(0, 1).map(policyId) },
          { cluster: withPolicies, flows, candidates: c1, window },
          { cluster: lacking, flows, candidates: c1 },
          { cluster: lacking, flows, candidates: [...c1, podBlock] },
          { cluster: lacking, flows, candidates: c2 },
          { cluster: lacking, flows, candidates: [podBlock] },
          { cluster: lacking, flows, candidates: c2, window },
          { cluster: withPolicies, flows, candidates: c2 },
        ];
        for (const input of sequence) {
          assert.deepEqual(whatIf(input), whatIf({ ...input, ...fresh(input.cluster, input.flows) }));
        }
      }),
      { numRuns: 150 },
    );
  });

  test('diagnostics of the same flows against other snapshots agree with fresh copies', () => {
    fc.assert(
      fc.property(scenarioArb, policies('p'), fc.nat(9), ({ cluster, flows }, inForce, drop) => {
        const doc = parsePolicyDocument(DOCUMENT);
        const withPolicies = { ...cluster, policies: inForce };
        const lacking = { ...cluster, pods: cluster.pods.filter((_, i) => i !== drop % cluster.pods.length) };
        // Without the workload objects, fixes select workloads by all their pods' stable labels (not by the objects' selectors).
        const objectless = { ...cluster, workloads: [] };
        for (const c of [cluster, withPolicies, lacking, objectless, cluster]) {
          const context = { cluster: c, flows, windowLabel: 'the window' };
          assert.deepEqual(diagnosePolicyDocument(doc, context), diagnosePolicyDocument(doc, { ...context, ...fresh(c, flows) }));
        }
      }),
      { numRuns: 100 },
    );
  });
});
