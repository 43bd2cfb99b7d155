import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifests } from '../../src/core/kube/manifest';
import type { NetworkPolicy } from '../../src/core/policy/network-policy';

const ROOT = join(__dirname, '..', '..', '..');

/** Expands a snippet body as the editor would with every placeholder left at its default. */
function expand(body: string[]): string {
  return body
    .join('\n')
    .replace(/\$\{\d+:([^}]*)\}/g, '$1')
    .replace(/\$\{\d+\}|\$\d+/g, '');
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
    }
    assert.deepEqual(policies.get('netpol-deny-ingress')?.isolates, { ingress: true, egress: false });
    assert.deepEqual(policies.get('netpol-deny-egress')?.isolates, { ingress: false, egress: true });
    assert.deepEqual(policies.get('netpol-deny-all')?.isolates, { ingress: true, egress: true });
    const dns = policies.get('netpol-allow-dns')!;
    assert.deepEqual(dns.egress[0].ports.map((p) => `${p.port}/${p.protocol}`), ['53/UDP', '53/TCP']);
  });
});
