import { strict as assert } from 'node:assert';
import { parse } from 'yaml';
import { decodeNetworkPolicy, type NetworkPolicy } from '../../../src/core/policy/network-policy';

function decode(specYaml: string, extra: Record<string, unknown> = {}) {
  return decodeNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'x' }, spec: parse(specYaml), ...extra });
}

function ok(specYaml: string): NetworkPolicy {
  const d = decode(specYaml);
  assert.ok(d.ok, JSON.stringify(!d.ok && d.errors));
  return d.value;
}

function errors(specYaml: string): string[] {
  const d = decode(specYaml);
  assert.ok(!d.ok, 'expected errors');
  return d.errors.map((e) => `${e.path.join('.')}: ${e.message}`);
}

suite('NetworkPolicy decoding', () => {
  test('policyTypes defaulting follows the API server: Ingress always, Egress only with egress rules', () => {
    assert.deepEqual(ok('podSelector: {}').isolates, { ingress: true, egress: false });
    assert.deepEqual(ok('podSelector: {}\negress: []').isolates, { ingress: true, egress: false });
    assert.deepEqual(ok('podSelector: {}\negress: [{}]').isolates, { ingress: true, egress: true });
    assert.deepEqual(ok('podSelector: {}\npolicyTypes: []\negress: [{}]').isolates, { ingress: true, egress: true });
    assert.deepEqual(ok('podSelector: {}\npolicyTypes: [Egress]\ningress: [{}]').isolates, { ingress: false, egress: true });
    assert.equal(ok('podSelector: {}').policyTypesDefaulted, true);
    assert.equal(ok('podSelector: {}\npolicyTypes: [Ingress]').policyTypesDefaulted, false);
  });

  test('protocol defaults to TCP; missing namespace defaults to "default"; missing podSelector selects all', () => {
    const p = ok('ingress: [{ports: [{port: 80}]}]');
    assert.deepEqual(p.ingress[0].ports, [{ protocol: 'TCP', port: 80, endPort: undefined }]);
    assert.equal(p.podSelector.matchLabels.size, 0);
    const d = decodeNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p' }, spec: {} });
    assert.ok(d.ok && d.value.namespace === 'default');
  });

  test('empty and missing from/to/ports both mean "all"', () => {
    const p = ok('ingress: [{from: [], ports: []}, {}]\negress: [{to: null}]');
    assert.deepEqual(p.ingress.map((r) => [r.peers.length, r.ports.length]), [[0, 0], [0, 0]]);
    assert.equal(p.egress[0].peers.length, 0);
  });

  test('peers: ipBlock with except parsed; selector peers keep which selectors were given', () => {
    const p = ok(`ingress:
- from:
  - ipBlock: {cidr: 198.18.0.0/16, except: [198.18.1.0/24]}
  - podSelector: {matchLabels: {app: a}}
  - namespaceSelector: {}
    podSelector: {}`);
    const [block, pods, both] = p.ingress[0].peers;
    assert.ok(block.kind === 'ipBlock' && block.cidr.text === '198.18.0.0/16' && block.except[0].text === '198.18.1.0/24');
    assert.ok(pods.kind === 'selector' && pods.podSelector && !pods.namespaceSelector);
    assert.ok(both.kind === 'selector' && both.podSelector && both.namespaceSelector);
  });

  test('every API-server validation rule is reported at its field', () => {
    assert.deepEqual(errors('ingress: [{from: [{}]}]'), [
      'spec.ingress.0.from.0: must specify a peer: podSelector, namespaceSelector or ipBlock (an empty peer is rejected by the API server; omit `from`/`to` to allow everything)',
    ]);
    assert.deepEqual(errors('egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]'), ['spec.egress.0.to.0: may not specify both ipBlock and another peer']);
    assert.deepEqual(errors('ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]'), ['spec.ingress.0.from.0.ipBlock.cidr: "10.0.0.0/33" is not a valid CIDR: prefix length must be 0 to 32']);
    assert.deepEqual(errors('ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16, 10.0.0.0/8]}}]}]'), [
      'spec.ingress.0.from.0.ipBlock.except.0: 11.0.0.0/16 must be a strict subset of cidr 10.0.0.0/8',
      'spec.ingress.0.from.0.ipBlock.except.1: 10.0.0.0/8 must be a strict subset of cidr 10.0.0.0/8',
    ]);
    assert.deepEqual(errors('ingress: [{ports: [{port: 0}, {port: 70000}]}]'), ['spec.ingress.0.ports.0.port: 0 must be between 1 and 65535', 'spec.ingress.0.ports.1.port: 70000 must be between 1 and 65535']);
    assert.deepEqual(errors('ingress: [{ports: [{port: http, endPort: 90}]}]'), ['spec.ingress.0.ports.0.endPort: may not be specified when port is a named port ("http")']);
    assert.deepEqual(errors('ingress: [{ports: [{endPort: 90}]}]'), ['spec.ingress.0.ports.0.endPort: may not be specified when port is not specified']);
    assert.deepEqual(errors('ingress: [{ports: [{port: 90, endPort: 80}]}]'), ['spec.ingress.0.ports.0.endPort: 80 must be greater than or equal to port 90']);
    assert.deepEqual(errors('ingress: [{ports: [{port: Http_Port}]}]').length, 1);
    assert.match(errors('ingress: [{ports: [{port: 80, protocol: ICMP}]}]')[0], /^spec\.ingress\.0\.ports\.0\.protocol: expected one of "TCP"\|"UDP"\|"SCTP"/);
    assert.match(errors('policyTypes: [Ingress, Sideways]')[0], /^spec\.policyTypes\.1: expected one of/);
    assert.deepEqual(errors('policyTypes: [Ingress, Egress, Ingress]'), ['spec.policyTypes: may not specify more than two policyTypes']);
  });

  test('unknown fields and wrong types are errors (typos must not silently widen a policy)', () => {
    assert.deepEqual(errors('ingress: [{form: [{podSelector: {}}]}]'), ['spec.ingress.0.form: unknown field "form"']);
    assert.deepEqual(errors('podSelector: {matchLabel: {app: a}}'), ['spec.podSelector.matchLabel: unknown field "matchLabel"']);
    assert.match(errors('ingress: {from: []}')[0], /^spec\.ingress: expected array/);
    assert.match(errors('podSelector: {matchLabels: {app: 1}}')[0], /^spec\.podSelector\.matchLabels\.app: label values must be strings/);
  });

  test('apiVersion and names are checked', () => {
    const d = decodeNetworkPolicy({ apiVersion: 'extensions/v1beta1', kind: 'NetworkPolicy', metadata: { name: 'p' }, spec: {} });
    assert.ok(!d.ok && d.errors[0].message === 'apiVersion must be networking.k8s.io/v1');
    const bad = decodeNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'Bad_Name', namespace: 'X' }, spec: {} });
    assert.ok(!bad.ok);
    assert.deepEqual(bad.errors.map((e) => e.path.join('.')), ['metadata.name', 'metadata.namespace']);
  });
});
