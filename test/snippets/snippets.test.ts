import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifests } from '../../src/core/kube/manifest';
import type { LabelSelector } from '../../src/core/kube/selector';
import type { NetworkPolicy, PolicyRule } from '../../src/core/policy/network-policy';

const ROOT = join(__dirname, '..', '..', '..');

/** Expands a snippet body as the editor would with every placeholder left at its default, and choice `pick` (or the last) of each choice. */
function expand(body: string[], pick = 0): string {
  return body
    .join('\n')
    .replace(/\$\{\d+:([^}]*)\}/g, '$1')
    .replace(/\$\{\d+\|([^|]*)\|\}/g, (_, choices: string) => {
      const options = choices.split(',');
      return options[Math.min(pick, options.length - 1)];
    })
    .replace(/\$\{\d+\}|\$\d+/g, '');
}

function labels(selector: LabelSelector | undefined): Record<string, string> | undefined {
  return selector && Object.fromEntries(selector.matchLabels);
}

/** A rule's peers and ports in plain terms. */
function rule(r: PolicyRule): { peers: unknown[]; ports: string[] } {
  return {
    peers: r.peers.map((p) =>
      p.kind === 'ipBlock' ? { cidr: p.cidr.text, except: p.except.map((c) => c.text) } : { namespaceSelector: labels(p.namespaceSelector), podSelector: labels(p.podSelector) },
    ),
    ports: r.ports.map((p) => `${p.port}/${p.protocol}`),
  };
}

suite('snippets', () => {
  const snippets: Record<string, { prefix: string; body: string[]; description: string }> = JSON.parse(readFileSync(join(ROOT, 'snippets', 'networkpolicy.json'), 'utf8'));

  test('package.json contributes the snippet file for YAML', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.contributes.snippets, [{ language: 'yaml', path: './snippets/networkpolicy.json' }]);
  });

  test('every snippet expands to a valid NetworkPolicy that does what its name says', () => {
    const policies = new Map<string, NetworkPolicy>();
    for (const [name, snippet] of Object.entries(snippets)) {
      const parsed = parseManifests(expand(snippet.body), name);
      assert.deepEqual(parsed.errors, [], name);
      assert.equal(parsed.objects.length, 1, name);
      policies.set(snippet.prefix, parsed.objects[0].value as NetworkPolicy);
      for (const pick of [1, 2]) {
        assert.deepEqual(parseManifests(expand(snippet.body, pick), name).errors, [], `${name}, choice ${pick}`);
      }
    }
    assert.deepEqual(policies.get('netpol-deny-ingress')?.isolates, { ingress: true, egress: false });
    assert.deepEqual(policies.get('netpol-deny-egress')?.isolates, { ingress: false, egress: true });
    assert.deepEqual(policies.get('netpol-deny-all')?.isolates, { ingress: true, egress: true });
    const dns = policies.get('netpol-allow-dns')!;
    assert.deepEqual(dns.egress[0].ports.map((p) => `${p.port}/${p.protocol}`), ['53/UDP', '53/TCP']);

    const fromNamespace = policies.get('netpol-allow-from-namespace')!;
    assert.deepEqual(fromNamespace.isolates, { ingress: true, egress: false });
    assert.deepEqual(labels(fromNamespace.podSelector), {}, 'every pod of the policy namespace');
    assert.deepEqual(fromNamespace.ingress.map(rule), [{ peers: [{ namespaceSelector: { 'kubernetes.io/metadata.name': 'monitoring' }, podSelector: undefined }], ports: [] }]);

    const fromWorkload = policies.get('netpol-allow-from-workload')!;
    assert.deepEqual(fromWorkload.isolates, { ingress: true, egress: false });
    assert.deepEqual(labels(fromWorkload.podSelector), { app: 'backend' });
    // A podSelector without namespaceSelector: the client pods of the policy's own namespace.
    assert.deepEqual(fromWorkload.ingress.map(rule), [{ peers: [{ namespaceSelector: undefined, podSelector: { app: 'frontend' } }], ports: ['8080/TCP'] }]);
    assert.deepEqual(
      [1, 2].map((pick) => (parseManifests(expand(snippets['NetworkPolicy: allow ingress from a workload on a port'].body, pick), 'w').objects[0].value as NetworkPolicy).ingress[0].ports[0].protocol),
      ['UDP', 'SCTP'],
    );

    const egressCidr = policies.get('netpol-allow-egress-cidr')!;
    assert.deepEqual(egressCidr.isolates, { ingress: false, egress: true });
    assert.deepEqual(egressCidr.egress.map(rule), [{ peers: [{ cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] }], ports: [] }]);
  });
});
