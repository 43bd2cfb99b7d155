/**
 * NetworkPolicy conformance: networking.k8s.io/v1 semantics judged by full reachability matrices over
 * the x/y/z model of the upstream e2e tests (see reachability.ts). Every expectation is written from
 * the API reference (NetworkPolicySpec, NetworkPolicyIngressRule/EgressRule, NetworkPolicyPeer,
 * NetworkPolicyPort, IPBlock), the API server's defaulting (pkg/apis/networking/v1/defaults.go), the
 * "Network Policies" concept page and test/e2e/network/netpol/network_policy.go, never from the engine.
 * Where CNIs differ, the expectations follow FlowLens's documented choices: ipBlock matches pod IPs,
 * host-network pods are their node, and a pod's own node always reaches it.
 */
import { strict as assert } from 'node:assert';
import { ProbeError, type Explanation, type Probe } from '../../../src/core/policy/engine';
import {
  HOST_NETWORK_PODS,
  INTERNET,
  INTERNET_V6,
  NODES,
  PODS,
  Reachability,
  assertReachability,
  ipv6,
  netpol,
  nodeAddress,
  nodeIp,
  sctp,
  tcp,
  udp,
  xyzEngine,
  type Endpoint,
  type Traffic,
} from './reachability';

const EVERY_PORT_AND_PROTOCOL: Traffic[] = [80, 81].flatMap((port) => [tcp(port), udp(port), sctp(port)]);
const NODE_ADDRESSES: Endpoint[] = NODES.map(nodeAddress);

const podA = { matchLabels: { pod: 'a' } };
const podB = { matchLabels: { pod: 'b' } };
const nsY = { matchLabels: { ns: 'y' } };
const denyAllIngress = { podSelector: {}, policyTypes: ['Ingress'] };
const denyAllEgress = { podSelector: {}, policyTypes: ['Egress'] };

/** Every pair allowed except the ones into x/a. */
const closedToXA = () => new Reachability().expect('*', 'x/a', false);

function explain(engine: ReturnType<typeof xyzEngine>, probe: Probe): { allowed: boolean; explanation: Explanation } {
  return engine.evaluate(engine.prepare(probe));
}

/** The allowing rule without the parts that are absent (a rule without peers or ports matches any). */
function allowedBy(direction: Explanation['ingress']): Record<string, string> | undefined {
  const match = direction.allowedBy;
  return match && Object.fromEntries(Object.entries(match).filter(([, v]) => v !== undefined));
}

function byPolicy<T extends { policy: string }>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => a.policy.localeCompare(b.policy));
}

suite('NetworkPolicy conformance (x/y/z model)', () => {
  suite('isolation and policyTypes', () => {
    test('without policies every pod reaches every pod on every port and protocol', () => {
      assertReachability(xyzEngine(), new Reachability(), ...EVERY_PORT_AND_PROTOCOL);
    });

    test('default-deny ingress isolates every pod of its namespace for ingress only', () => {
      const engine = xyzEngine(netpol('x', 'deny-ingress', denyAllIngress));
      assertReachability(engine, new Reachability().expect('*', 'x', false), ...EVERY_PORT_AND_PROTOCOL);
    });

    const denyIngressSpellings: [string, Record<string, unknown>][] = [
      ['an empty spec (podSelector omitted selects every pod)', {}],
      ['podSelector {} alone', { podSelector: {} }],
      ['ingress: []', { podSelector: {}, ingress: [] }],
      ['ingress: [] and egress: [] (an empty egress list does not default Egress in)', { podSelector: {}, ingress: [], egress: [] }],
      ['policyTypes: [Ingress] with ingress: []', { podSelector: {}, policyTypes: ['Ingress'], ingress: [] }],
    ];
    for (const [spelling, spec] of denyIngressSpellings) {
      test(`deny-all ingress spelled as ${spelling}`, () => {
        const engine = xyzEngine(netpol('x', 'deny', spec));
        assertReachability(engine, new Reachability().expect('*', 'x', false), tcp(80), udp(81), sctp(80));
        const { explanation } = explain(engine, { from: 'x/a', to: 'x/b', port: 80 });
        assert.deepEqual(explanation.ingress.isolatedBy.map((i) => i.policyTypes), [['Ingress']]);
        assert.equal(explanation.egress.isolated, false);
      });
    }

    test('default-deny egress isolates every pod of its namespace for egress only', () => {
      const engine = xyzEngine(netpol('x', 'deny-egress', denyAllEgress));
      assertReachability(engine, new Reachability().expect('x', '*', false), ...EVERY_PORT_AND_PROTOCOL);
    });

    test('default-deny all (policyTypes [Ingress, Egress]) closes the namespace in both directions', () => {
      const engine = xyzEngine(netpol('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }));
      assertReachability(engine, new Reachability().expect('*', 'x', false).expect('x', '*', false), ...EVERY_PORT_AND_PROTOCOL);
    });

    test('policyTypes omitted with an egress rule defaults to [Ingress, Egress]', () => {
      const engine = xyzEngine(netpol('x', 'a-egress-within-x', { podSelector: podA, egress: [{ to: [{ podSelector: {} }] }] }));
      const expected = closedToXA().expect('x/a', 'y', false).expect('x/a', 'z', false);
      assertReachability(engine, expected, tcp(80), udp(81));
      const { explanation } = explain(engine, { from: 'y/a', to: 'x/a', port: 80 });
      assert.deepEqual(explanation.ingress.isolatedBy, [{ policy: 'x/a-egress-within-x', policyTypes: ['Ingress', 'Egress'], defaulted: true }]);
    });

    test('explicit policyTypes [Egress] ignores the ingress rules that are present', () => {
      const engine = xyzEngine(
        netpol('x', 'a-egress-only', {
          podSelector: podA,
          policyTypes: ['Egress'],
          ingress: [{ from: [{ podSelector: podB }] }],
          egress: [{ to: [{ namespaceSelector: nsY }] }],
        }),
      );
      assertReachability(engine, new Reachability().expect('x/a', 'x', false).expect('x/a', 'z', false), tcp(80), sctp(81));
      const { explanation } = explain(engine, { from: 'y/c', to: 'x/a', port: 80 });
      assert.equal(explanation.ingress.isolated, false);
      assert.deepEqual(explanation.ingress.isolatedBy, []);
    });

    test('explicit policyTypes [Ingress] ignores the egress rules that are present', () => {
      const engine = xyzEngine(
        netpol('x', 'a-ingress-only', {
          podSelector: podA,
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: podB }] }],
          egress: [{ to: [{ podSelector: { matchLabels: { pod: 'c' } } }] }],
        }),
      );
      assertReachability(engine, closedToXA().expect('x/b', 'x/a', true), tcp(80), udp(80));
    });

    test('an allow-all ingress rule ({}) next to a default deny allows everything, from anywhere', () => {
      const engine = xyzEngine(netpol('x', 'deny-ingress', denyAllIngress), netpol('x', 'allow-all-ingress', { podSelector: {}, ingress: [{}] }));
      assertReachability(engine, new Reachability({ from: [...PODS, INTERNET] }), ...EVERY_PORT_AND_PROTOCOL);
      const { explanation } = explain(engine, { from: INTERNET, to: 'x/c', port: 81, protocol: 'UDP' });
      assert.deepEqual(allowedBy(explanation.ingress), { policy: 'x/allow-all-ingress', rule: 'ingress[0]' });
    });

    test('an allow-all egress rule ({}) next to a default deny allows everything, to anywhere', () => {
      const engine = xyzEngine(
        netpol('x', 'deny-egress', denyAllEgress),
        netpol('x', 'allow-all-egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] }),
      );
      assertReachability(engine, new Reachability({ to: [...PODS, INTERNET] }), ...EVERY_PORT_AND_PROTOCOL);
    });

    test('ingress and egress are controlled independently', () => {
      const engine = xyzEngine(
        netpol('x', 'a-allow-all-egress', { podSelector: podA, policyTypes: ['Egress'], egress: [{}] }),
        netpol('x', 'a-deny-ingress', { podSelector: podA, policyTypes: ['Ingress'] }),
      );
      assertReachability(engine, closedToXA(), tcp(80));
    });

    test('policies only select pods of their own namespace', () => {
      const engine = xyzEngine(netpol('y', 'isolate-a', { podSelector: podA, policyTypes: ['Ingress', 'Egress'] }));
      assertReachability(engine, new Reachability().expect('*', 'y/a', false).expect('y/a', '*', false), tcp(80), udp(81));
    });
  });

  suite('empty versus missing from, to and ports', () => {
    for (const from of ['omitted', '[]']) {
      test(`ingress rule with from ${from} matches every source, pods and outside addresses alike`, () => {
        const rule = from === '[]' ? { from: [], ports: [{ port: 80 }] } : { ports: [{ port: 80 }] };
        const engine = xyzEngine(netpol('x', 'port-80-from-anywhere', { podSelector: {}, ingress: [rule] }));
        const sources = [...PODS, INTERNET];
        assertReachability(engine, new Reachability({ from: sources }), tcp(80));
        assertReachability(engine, new Reachability({ from: sources }).expect('*', 'x', false), tcp(81), udp(80));
      });
    }

    for (const to of ['omitted', '[]']) {
      test(`egress rule with to ${to} matches every destination, pods and outside addresses alike`, () => {
        const rule = to === '[]' ? { to: [], ports: [{ port: 80 }] } : { ports: [{ port: 80 }] };
        const engine = xyzEngine(netpol('x', 'port-80-to-anywhere', { podSelector: {}, policyTypes: ['Egress'], egress: [rule] }));
        const destinations = [...PODS, INTERNET];
        assertReachability(engine, new Reachability({ to: destinations }), tcp(80));
        assertReachability(engine, new Reachability({ to: destinations }).expect('x', '*', false), tcp(81), udp(80));
      });
    }

    for (const ports of ['omitted', '[]']) {
      test(`rule with ports ${ports} matches every port and protocol`, () => {
        const peers = [{ namespaceSelector: nsY }];
        const rule = ports === '[]' ? { from: peers, ports: [] } : { from: peers };
        const engine = xyzEngine(netpol('x', 'a-from-y', { podSelector: podA, ingress: [rule] }));
        assertReachability(engine, closedToXA().expect('y', 'x/a', true), ...EVERY_PORT_AND_PROTOCOL, tcp(8081));
      });
    }
  });

  suite('peers: podSelector, namespaceSelector, both', () => {
    test('podSelector alone selects pods in the policy namespace only', () => {
      const engine = xyzEngine(netpol('x', 'a-from-b', { podSelector: podA, ingress: [{ from: [{ podSelector: podB }] }] }));
      assertReachability(engine, closedToXA().expect('x/b', 'x/a', true), tcp(80));
    });

    test('namespaceSelector alone selects every pod of the matching namespaces', () => {
      const engine = xyzEngine(netpol('x', 'a-from-y', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: nsY }] }] }));
      assertReachability(engine, closedToXA().expect('y', 'x/a', true), tcp(80));
    });

    test('podSelector and namespaceSelector in one peer are ANDed', () => {
      const engine = xyzEngine(netpol('x', 'a-from-y-b', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: nsY, podSelector: podB }] }] }));
      assertReachability(engine, closedToXA().expect('y/b', 'x/a', true), tcp(80));
    });

    test('podSelector and namespaceSelector in separate peers are ORed', () => {
      const engine = xyzEngine(netpol('x', 'a-from-y-or-b', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: nsY }, { podSelector: podB }] }] }));
      assertReachability(engine, closedToXA().expect('y', 'x/a', true).expect('x/b', 'x/a', true), tcp(80));
    });

    test('empty selectors: namespaceSelector {} is every pod, podSelector {} every pod of the policy namespace, neither an outside address', () => {
      const engine = xyzEngine(
        netpol('x', 'a-from-all-namespaces', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: {} }] }] }),
        netpol('x', 'b-from-own-namespace', { podSelector: podB, ingress: [{ from: [{ podSelector: {} }] }] }),
        netpol('x', 'c-from-all-pods', { podSelector: { matchLabels: { pod: 'c' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: {} }] }] }),
      );
      const expected = new Reachability({ from: [...PODS, INTERNET] })
        .expect(INTERNET.ip, 'x', false)
        .expect('y', 'x/b', false)
        .expect('z', 'x/b', false);
      assertReachability(engine, expected, tcp(80));
    });

    test('namespaces carry kubernetes.io/metadata.name even when the manifest does not set it', () => {
      const engine = xyzEngine(
        netpol('x', 'a-from-z', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'z' } } }] }] }),
      );
      assertReachability(engine, closedToXA().expect('z', 'x/a', true), tcp(80));
    });
  });

  suite('label selector operators', () => {
    const fromAnyNamespace = (podSelector: Record<string, unknown>) => ({
      podSelector: podA,
      ingress: [{ from: [{ namespaceSelector: {}, podSelector }] }],
    });

    test('In on pods with NotIn on namespaces (upstream "multiple PodSelectors and NamespaceSelectors")', () => {
      const engine = xyzEngine(
        netpol('x', 'a-from-b-c-outside-x', {
          podSelector: podA,
          ingress: [
            {
              from: [
                {
                  namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] },
                  podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] },
                },
              ],
            },
          ],
        }),
      );
      const expected = closedToXA().expect('y/b', 'x/a', true).expect('y/c', 'x/a', true).expect('z/b', 'x/a', true).expect('z/c', 'x/a', true);
      assertReachability(engine, expected, tcp(80));
    });

    test('NotIn also matches pods that do not have the key', () => {
      const engine = xyzEngine(netpol('x', 'a-from-not-red', fromAnyNamespace({ matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['red'] }] })));
      assertReachability(engine, closedToXA().expect('*/b', 'x/a', true).expect('*/c', 'x/a', true), tcp(80));
    });

    test('Exists matches pods that have the key, whatever its value', () => {
      const engine = xyzEngine(netpol('x', 'a-from-any-team', fromAnyNamespace({ matchExpressions: [{ key: 'team', operator: 'Exists' }] })));
      assertReachability(engine, closedToXA().expect('*/a', 'x/a', true).expect('*/b', 'x/a', true), tcp(80));
    });

    test('DoesNotExist matches pods without the key', () => {
      const engine = xyzEngine(netpol('x', 'a-from-no-team', fromAnyNamespace({ matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] })));
      assertReachability(engine, closedToXA().expect('*/c', 'x/a', true), tcp(80));
    });

    test('matchLabels and matchExpressions of one selector are ANDed', () => {
      const noTeam = { key: 'team', operator: 'DoesNotExist' };
      const engine = xyzEngine(
        netpol('x', 'a-from-teamless-b-or-c', {
          podSelector: podA,
          ingress: [
            {
              from: [
                { podSelector: { matchLabels: { pod: 'b' }, matchExpressions: [noTeam] } },
                { podSelector: { matchLabels: { pod: 'c' }, matchExpressions: [noTeam] } },
              ],
            },
          ],
        }),
      );
      assertReachability(engine, closedToXA().expect('x/c', 'x/a', true), tcp(80));
    });

    const namespaceExpressions: [string, Record<string, unknown>, string[]][] = [
      ['NotIn (namespaces without the key match)', { key: 'env', operator: 'NotIn', values: ['prod'] }, ['y', 'z']],
      ['Exists', { key: 'env', operator: 'Exists' }, ['x', 'y']],
      ['DoesNotExist', { key: 'env', operator: 'DoesNotExist' }, ['z']],
    ];
    for (const [name, expression, allowedNamespaces] of namespaceExpressions) {
      test(`namespaceSelector matchExpressions ${name} in an egress rule`, () => {
        const engine = xyzEngine(
          netpol('x', 'a-egress', { podSelector: podA, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchExpressions: [expression] } }] }] }),
        );
        const expected = new Reachability().expect('x/a', '*', false);
        for (const ns of allowedNamespaces) {
          expected.expect('x/a', ns, true);
        }
        assertReachability(engine, expected, tcp(80));
      });
    }

    test('matchExpressions in spec.podSelector choose the isolated pods', () => {
      const engine = xyzEngine(netpol('x', 'isolate-teams', { podSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, policyTypes: ['Ingress'] }));
      assertReachability(engine, new Reachability().expect('*', 'x/a', false).expect('*', 'x/b', false), tcp(80));
    });
  });

  suite('ports and protocols', () => {
    test('a numeric port allows exactly that port and protocol', () => {
      const engine = xyzEngine(netpol('x', 'a-from-y-on-81', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: nsY }], ports: [{ port: 81, protocol: 'TCP' }] }] }));
      assertReachability(engine, closedToXA().expect('y', 'x/a', true), tcp(81));
      assertReachability(engine, closedToXA(), tcp(80), udp(81), sctp(81));
    });

    test('protocol defaults to TCP', () => {
      const engine = xyzEngine(netpol('x', 'a-on-80', { podSelector: podA, ingress: [{ ports: [{ port: 80 }] }] }));
      assertReachability(engine, new Reachability(), tcp(80));
      assertReachability(engine, closedToXA(), udp(80), sctp(80), tcp(81));
    });

    test('a UDP rule does not allow TCP or SCTP on the same port', () => {
      const engine = xyzEngine(netpol('x', 'a-udp-81', { podSelector: podA, ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] }));
      assertReachability(engine, new Reachability(), udp(81));
      assertReachability(engine, closedToXA(), tcp(81), sctp(81), udp(80));
    });

    test('an SCTP rule is not mistaken for TCP (upstream security test)', () => {
      const engine = xyzEngine(
        netpol('x', 'deny-ingress', { podSelector: {} }),
        netpol('x', 'a-sctp-81', { podSelector: podA, ingress: [{ ports: [{ port: 81, protocol: 'SCTP' }] }] }),
      );
      assertReachability(engine, new Reachability().expect('*', 'x', false).expect('*', 'x/a', true), sctp(81));
      assertReachability(engine, new Reachability().expect('*', 'x', false), tcp(81), udp(81), sctp(80));
    });

    test('a port entry with a protocol and no port allows every port of that protocol', () => {
      const engine = xyzEngine(netpol('x', 'a-any-udp', { podSelector: podA, ingress: [{ ports: [{ protocol: 'UDP' }] }] }));
      assertReachability(engine, new Reachability(), udp(80), udp(81), udp(53));
      assertReachability(engine, closedToXA(), tcp(80), sctp(81));
    });

    test('endPort ranges are inclusive at both ends', () => {
      const engine = xyzEngine(netpol('x', 'a-81-to-8080', { podSelector: podA, ingress: [{ ports: [{ port: 81, endPort: 8080 }] }] }));
      assertReachability(engine, new Reachability(), tcp(81), tcp(443), tcp(8080));
      assertReachability(engine, closedToXA(), tcp(80), tcp(8081), udp(81));
    });

    test('endPort ranges with UDP in an egress rule', () => {
      const engine = xyzEngine(
        netpol('x', 'egress-udp-53-to-80', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'UDP', port: 53, endPort: 80 }] }] }),
      );
      assertReachability(engine, new Reachability({ to: [...PODS, INTERNET] }), udp(53), udp(80));
      assertReachability(engine, new Reachability({ to: [...PODS, INTERNET] }).expect('x', '*', false), udp(52), udp(81), tcp(80), sctp(53));
    });
  });

  suite('named ports', () => {
    test('a named port in an ingress rule allows only that port (upstream "ingress access on one named port")', () => {
      const engine = xyzEngine(netpol('x', 'allow-serve-81-tcp', { podSelector: {}, ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] }));
      assertReachability(engine, new Reachability(), tcp(81));
      assertReachability(engine, new Reachability().expect('*', 'x', false), tcp(80), udp(81), sctp(81));
    });

    test('a named port in an egress rule resolves on the destination pod; outside addresses have no named ports', () => {
      const engine = xyzEngine(netpol('x', 'egress-serve-80-tcp', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-80-tcp' }] }] }));
      const destinations = [...PODS, INTERNET];
      assertReachability(engine, new Reachability({ to: destinations }).expect('x', INTERNET.ip, false), tcp(80));
      assertReachability(engine, new Reachability({ to: destinations }).expect('x', '*', false), tcp(81), udp(80));
    });

    test('a named port matches only when name and protocol both match a container port', () => {
      const engine = xyzEngine(
        netpol('x', 'a-serve-80-udp-as-tcp', { podSelector: podA, ingress: [{ ports: [{ port: 'serve-80-udp' }] }] }),
        netpol('x', 'b-serve-80-udp', { podSelector: podB, ingress: [{ ports: [{ port: 'serve-80-udp', protocol: 'UDP' }] }] }),
      );
      assertReachability(engine, new Reachability().expect('*', 'x/a', false).expect('*', 'x/b', false), tcp(80));
      assertReachability(engine, closedToXA(), udp(80));
    });

    test('a named port in an ingress rule resolves per destination pod (web: x/a 8080/TCP, x/b 8081/TCP, x/c 8080/UDP)', () => {
      const engine = xyzEngine(
        netpol('x', 'allow-web', { podSelector: {}, ingress: [{ ports: [{ port: 'web' }] }, { ports: [{ port: 'web', protocol: 'UDP' }] }] }),
      );
      assertReachability(engine, new Reachability().expect('*', 'x/b', false).expect('*', 'x/c', false), tcp(8080));
      assertReachability(engine, new Reachability().expect('*', 'x/a', false).expect('*', 'x/c', false), tcp(8081));
      assertReachability(engine, new Reachability().expect('*', 'x/a', false).expect('*', 'x/b', false), udp(8080));
      assertReachability(engine, new Reachability().expect('*', 'x', false), udp(8081), tcp(80));
    });

    test('a named port in an egress rule resolves per destination pod', () => {
      const engine = xyzEngine(netpol('y', 'egress-web', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'web' }] }] }));
      const destinations = [...PODS, INTERNET];
      assertReachability(engine, new Reachability({ to: destinations }).expect('y', '*', false).expect('y', '*/a', true), tcp(8080));
      assertReachability(engine, new Reachability({ to: destinations }).expect('y', '*', false).expect('y', '*/b', true), tcp(8081));
      // The rule's protocol is TCP (the default), so x/c's web port (8080/UDP) does not match it.
      assertReachability(engine, new Reachability({ to: destinations }).expect('y', '*', false), udp(8080));
    });

    test('probes may name the destination port; the name must exist with the probe protocol', () => {
      const engine = xyzEngine(netpol('x', 'a-udp-81', { podSelector: podA, ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] }));
      assertReachability(engine, new Reachability(), udp('serve-81-udp'));
      assertReachability(engine, closedToXA(), udp('serve-80-udp'), tcp('serve-81-tcp'));
      assert.throws(() => engine.prepare({ from: 'y/a', to: 'x/a', port: 'serve-81-udp' }), ProbeError);
      assert.throws(() => engine.prepare({ from: 'y/a', to: 'x/c', port: 'web', protocol: 'TCP' }), ProbeError);
    });
  });

  suite('combining policies and directions', () => {
    test('policies are additive: a pod accepts the union of what its policies allow (stacked policies)', () => {
      const engine = xyzEngine(
        netpol('x', 'a-from-y-on-81', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: nsY }], ports: [{ port: 81 }] }] }),
        netpol('x', 'a-from-y-on-80', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: nsY }], ports: [{ port: 80 }] }] }),
        netpol('x', 'a-from-b-any-udp', { podSelector: podA, ingress: [{ from: [{ podSelector: podB }], ports: [{ protocol: 'UDP' }] }] }),
      );
      assertReachability(engine, closedToXA().expect('y', 'x/a', true), tcp(80), tcp(81));
      assertReachability(engine, closedToXA().expect('x/b', 'x/a', true), udp(80), udp(81));
      assertReachability(engine, closedToXA(), sctp(80));
    });

    test('the egress of the source and the ingress of the destination must both allow (upstream client-side egress deny)', () => {
      const fromXA = [{ namespaceSelector: { matchLabels: { ns: 'x' } }, podSelector: podA }];
      const engine = xyzEngine(
        netpol('x', 'a-to-y-a', { podSelector: podA, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: nsY, podSelector: podA }] }] }),
        netpol('y', 'a-from-x-a', { podSelector: podA, ingress: [{ from: fromXA }] }),
        netpol('y', 'b-from-x-a', { podSelector: podB, ingress: [{ from: fromXA }] }),
      );
      const expected = new Reachability()
        .expect('x/a', '*', false)
        .expect('*', 'y/a', false)
        .expect('*', 'y/b', false)
        .expect('x/a', 'y/a', true);
      assertReachability(engine, expected, tcp(80));
    });
  });

  suite('ipBlock', () => {
    test('an egress ipBlock /32 of a pod IP allows that pod (upstream "egress access to server in CIDR block")', () => {
      const engine = xyzEngine(netpol('x', 'a-to-y-b-ip', { podSelector: podA, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '198.18.2.2/32' } }] }] }));
      assertReachability(engine, new Reachability({ to: [...PODS, INTERNET] }).expect('x/a', '*', false).expect('x/a', 'y/b', true), tcp(80));
    });

    test('except carves addresses out of the block', () => {
      const engine = xyzEngine(
        netpol('x', 'a-to-pods-but-x-b', { podSelector: podA, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '198.18.0.0/16', except: ['198.18.1.2/32'] } }] }] }),
      );
      assertReachability(engine, new Reachability({ to: [...PODS, INTERNET] }).expect('x/a', 'x/b', false).expect('x/a', INTERNET.ip, false), tcp(80));
    });

    test('an address excepted by one policy is allowed when another policy allows it', () => {
      const engine = xyzEngine(
        netpol('x', 'a-to-pods-but-x-b', { podSelector: podA, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '198.18.0.0/16', except: ['198.18.1.2/32'] } }] }] }),
        netpol('x', 'a-to-x-b', { podSelector: podA, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '198.18.1.2/32' } }] }] }),
      );
      assertReachability(engine, new Reachability({ to: [...PODS, INTERNET] }).expect('x/a', INTERNET.ip, false), tcp(80));
    });

    test('an ingress ipBlock admits outside addresses in the block and not in except', () => {
      const inside = { ip: '198.51.100.7' };
      const excepted = { ip: '198.51.100.200' };
      const engine = xyzEngine(
        netpol('x', 'a-from-test-net-3', { podSelector: podA, ingress: [{ from: [{ ipBlock: { cidr: '198.51.100.0/24', except: ['198.51.100.128/25'] } }] }] }),
      );
      assertReachability(engine, new Reachability({ from: [...PODS, inside, excepted] }).expect('*', 'x/a', false).expect(inside.ip, 'x/a', true), tcp(80));
    });

    test('an ingress ipBlock matches source pod IPs', () => {
      const engine = xyzEngine(netpol('x', 'a-from-y-range', { podSelector: podA, ingress: [{ from: [{ ipBlock: { cidr: '198.18.2.0/24' } }] }] }));
      assertReachability(engine, closedToXA().expect('y', 'x/a', true), tcp(80));
    });

    test('dual-stack pods: an IPv4 block matches their IPv4 traffic only, an IPv6 block their IPv6 traffic only', () => {
      const engine = xyzEngine(
        netpol('x', 'a-from-z-v4-y-v6', { podSelector: podA, ingress: [{ from: [{ ipBlock: { cidr: '2001:db8:2::/48' } }, { ipBlock: { cidr: '198.18.3.0/24' } }] }] }),
      );
      assertReachability(engine, new Reachability({ from: [...PODS, INTERNET] }).expect('*', 'x/a', false).expect('z', 'x/a', true), tcp(80));
      assertReachability(engine, new Reachability({ from: [...PODS, INTERNET_V6] }).expect('*', 'x/a', false).expect('y', 'x/a', true), ipv6(tcp(80)));
    });

    test('IPv6 ipBlock with except in an egress rule', () => {
      const engine = xyzEngine(
        netpol('x', 'a-to-v6-but-x', { podSelector: podA, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:1::/48'] } }] }] }),
      );
      assertReachability(engine, new Reachability({ to: [...PODS, INTERNET_V6] }).expect('x/a', 'x', false), ipv6(tcp(80)));
      assertReachability(engine, new Reachability({ to: [...PODS, INTERNET] }).expect('x/a', '*', false), tcp(80));
    });

    test('0.0.0.0/0 allows every IPv4 destination, pods included, and no IPv6 one', () => {
      const engine = xyzEngine(netpol('x', 'a-to-any-v4', { podSelector: podA, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] }));
      assertReachability(engine, new Reachability({ to: [...PODS, INTERNET] }), tcp(80), udp(81));
      assertReachability(engine, new Reachability({ to: [...PODS, INTERNET_V6] }).expect('x/a', '*', false), ipv6(tcp(80)));
    });
  });

  suite('endpoints that are not pods', () => {
    test('outside addresses are never isolated, and selector peers never match them', () => {
      const engine = xyzEngine(
        netpol('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
        netpol('y', 'from-all-pods', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] }),
      );
      const endpoints = [...PODS, INTERNET, { ip: '198.51.100.8' }];
      const expected = new Reachability({ from: endpoints, to: endpoints })
        .expect('*', 'x', false)
        .expect('x', '*', false)
        .expect(INTERNET.ip, 'y', false)
        .expect('198.51.100.8', 'y', false);
      assertReachability(engine, expected, tcp(80));
    });

    test('host-network pods are never selected by podSelector or namespaceSelector; only their own node gets through', () => {
      const engine = xyzEngine(
        netpol('x', 'deny-ingress', { podSelector: {} }),
        netpol('x', 'from-all-pods', {
          podSelector: {},
          ingress: [{ from: [{ namespaceSelector: {} }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: {} }] }],
        }),
      );
      const expected = new Reachability({ from: [...PODS, ...HOST_NETWORK_PODS] })
        .expect('kube-system', 'x', false)
        .expect('kube-system/agent-1', 'x/a', true)
        .expect('kube-system/agent-2', 'x/b', true)
        .expect('kube-system/agent-3', 'x/c', true);
      assertReachability(engine, expected, tcp(80));
    });

    test('host-network pods and nodes are matched by ipBlock on the node address', () => {
      const engine = xyzEngine(
        netpol('x', 'deny-ingress', { podSelector: {} }),
        netpol('x', 'from-nodes', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '198.19.0.0/16' } }] }] }),
      );
      const expected = new Reachability({ from: [...PODS, ...HOST_NETWORK_PODS, ...NODE_ADDRESSES] })
        .expect('x', 'x', false)
        .expect('y', 'x', false)
        .expect('z', 'x', false);
      assertReachability(engine, expected, tcp(80), udp(81));
    });

    test('policies never isolate host-network pods', () => {
      const engine = xyzEngine(netpol('kube-system', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }));
      const endpoints = [...PODS, ...HOST_NETWORK_PODS];
      assertReachability(engine, new Reachability({ from: endpoints, to: endpoints }), tcp(9101), udp(80));
    });

    test("a pod's own node (its address or a host-network pod on it) always reaches it, other nodes do not", () => {
      const engine = xyzEngine(...['x', 'y', 'z'].map((ns) => netpol(ns, 'deny-ingress', { podSelector: {} })));
      const expected = new Reachability({ from: [...PODS, ...HOST_NETWORK_PODS, ...NODE_ADDRESSES, INTERNET], allowed: false });
      NODES.forEach((node, i) => {
        const pod = `*/${'abc'[i]}`;
        expected.expect(`kube-system/agent-${i + 1}`, pod, true).expect(nodeIp(node), pod, true);
      });
      assertReachability(engine, expected, tcp(80), sctp(81));
    });

    test('egress to nodes and host-network pods is matched only by ipBlock; the own-node exception is for ingress only', () => {
      const engine = xyzEngine(
        netpol('x', 'deny-egress', denyAllEgress),
        netpol('x', 'to-all-pods', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: {}, podSelector: {} }] }] }),
        netpol('x', 'to-node-2', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '198.19.0.2/32' } }] }] }),
      );
      const expected = new Reachability({ to: [...PODS, ...HOST_NETWORK_PODS, ...NODE_ADDRESSES] })
        .expect('x', 'kube-system', false)
        .expect('x', nodeIp('node-1'), false)
        .expect('x', nodeIp('node-3'), false)
        .expect('x', 'kube-system/agent-2', true);
      assertReachability(engine, expected, tcp(80));
    });
  });

  suite('explanations', () => {
    const policies = [
      netpol('x', 'deny-ingress', { podSelector: {} }),
      netpol('x', 'a-from-c-or-b', {
        podSelector: podA,
        ingress: [
          { from: [{ podSelector: { matchLabels: { pod: 'c' } } }], ports: [{ port: 81 }] },
          { from: [{ podSelector: { matchLabels: { pod: 'c' } } }, { podSelector: podB }], ports: [{ port: 81 }, { port: 80 }] },
        ],
      }),
      netpol('x', 'c-egress-to-y', { podSelector: { matchLabels: { pod: 'c' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: nsY }] }] }),
    ];
    const isolatingXA = [
      { policy: 'x/a-from-c-or-b', policyTypes: ['Ingress'], defaulted: true },
      { policy: 'x/deny-ingress', policyTypes: ['Ingress'], defaulted: true },
    ];

    test('an allowed verdict names the isolating policies and the policy, rule, peer and port that allowed it', () => {
      const verdict = explain(xyzEngine(...policies), { from: 'x/b', to: 'x/a', port: 80 });
      assert.equal(verdict.allowed, true);
      assert.deepEqual(allowedBy(verdict.explanation.ingress), { policy: 'x/a-from-c-or-b', rule: 'ingress[1]', peer: 'from[1]', port: 'ports[1]' });
      assert.equal(verdict.explanation.ingress.isolated, true);
      assert.deepEqual(byPolicy(verdict.explanation.ingress.isolatedBy), isolatingXA);
      assert.equal(verdict.explanation.egress.isolated, false);
      assert.equal(verdict.explanation.egress.allowedBy, undefined);
    });

    test('a denied verdict names the isolating policies and says that no rule allowed it', () => {
      const verdict = explain(xyzEngine(...policies), { from: 'y/b', to: 'x/a', port: 80 });
      assert.equal(verdict.allowed, false);
      assert.equal(verdict.explanation.ingress.allowed, false);
      assert.equal(verdict.explanation.ingress.allowedBy, undefined);
      assert.deepEqual(byPolicy(verdict.explanation.ingress.isolatedBy), isolatingXA);
      assert.equal(verdict.explanation.egress.allowed, true);
      assert.match(verdict.explanation.ingress.reason, /x\/a-from-c-or-b/);
      assert.match(verdict.explanation.summary, /^deny/);
    });

    test('egress decisions are explained on the egress side, with explicit policyTypes not marked as defaulted', () => {
      const engine = xyzEngine(...policies);
      const allowed = explain(engine, { from: 'x/c', to: 'y/a', port: 81, protocol: 'UDP' });
      assert.equal(allowed.allowed, true);
      assert.deepEqual(allowedBy(allowed.explanation.egress), { policy: 'x/c-egress-to-y', rule: 'egress[0]', peer: 'to[0]' });
      assert.deepEqual(allowed.explanation.egress.isolatedBy, [{ policy: 'x/c-egress-to-y', policyTypes: ['Egress'], defaulted: false }]);
      assert.equal(allowed.explanation.ingress.isolated, false);
      const denied = explain(engine, { from: 'x/c', to: 'z/a', port: 80 });
      assert.equal(denied.allowed, false);
      assert.equal(denied.explanation.egress.allowed, false);
      assert.equal(denied.explanation.egress.allowedBy, undefined);
      assert.equal(denied.explanation.ingress.allowed, true);
    });

    test('own-node traffic is allowed by the node exception, visibly, while the pod stays isolated', () => {
      const verdict = explain(xyzEngine(...policies), { from: nodeAddress('node-1'), to: 'x/a', port: 80 });
      assert.equal(verdict.allowed, true);
      assert.equal(verdict.explanation.ingress.isolated, true);
      assert.equal(verdict.explanation.ingress.allowedBy, undefined);
      assert.match(verdict.explanation.ingress.reason, /node/);
      assert.equal(verdict.explanation.from.kind, 'node');
    });

    test('an ipBlock matching a pod IP, and a host-network pod treated as its node, are called out in the notes', () => {
      const engine = xyzEngine(
        netpol('x', 'a-from-y-range', { podSelector: podA, ingress: [{ from: [{ ipBlock: { cidr: '198.18.2.0/24' } }] }] }),
      );
      const viaIpBlock = explain(engine, { from: 'y/c', to: 'x/a', port: 80 });
      assert.equal(viaIpBlock.allowed, true);
      assert.deepEqual(allowedBy(viaIpBlock.explanation.ingress), { policy: 'x/a-from-y-range', rule: 'ingress[0]', peer: 'from[0]' });
      assert.ok(viaIpBlock.explanation.notes.some((n) => n.includes('ipBlock') && n.includes('y/c')), viaIpBlock.explanation.notes.join('\n'));
      const hostNetwork = explain(engine, { from: 'kube-system/agent-2', to: 'x/a', port: 80 });
      assert.equal(hostNetwork.allowed, false);
      assert.equal(hostNetwork.explanation.from.kind, 'node');
      assert.ok(hostNetwork.explanation.notes.some((n) => n.includes('kube-system/agent-2') && /host network/.test(n)), hostNetwork.explanation.notes.join('\n'));
    });
  });
});
