import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';

const ROOT = join(__dirname, '..', '..', '..');
const SHOP = join(ROOT, 'examples', 'shop');

function run(args: string[]): { code: number; stdout: string; stderr: string[] } {
  let stdout = '';
  const stderr: string[] = [];
  // Synchronous commands return their exit code directly.
  const code = main(args, { stdout: (t) => (stdout += t), stderr: (t) => stderr.push(t) }) as number;
  return { code, stdout, stderr };
}

suite('flowlens verdicts', () => {
  let dir: string;
  const file = (name: string, text: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  setup(() => (dir = mkdtempSync(join(tmpdir(), 'flowlens-cli-'))));
  teardown(() => rmSync(dir, { recursive: true, force: true }));

  test('the built bin prints the contract JSON, results in probe order', () => {
    const out = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'verdicts', '--cluster', join(SHOP, 'cluster.yaml'), '--policies', join(SHOP, 'policies.yaml'), '--probes', join(SHOP, 'probes.json')], {
      encoding: 'utf8',
    });
    assert.equal(out.status, 0, out.stderr);
    const { results } = JSON.parse(out.stdout);
    assert.deepEqual(
      results.map((r: { verdict: string }) => r.verdict),
      ['allow', 'deny', 'deny', 'allow', 'deny', 'deny', 'allow'],
    );
    assert.deepEqual(Object.keys(results[0]), ['from', 'to', 'port', 'protocol', 'verdict', 'explanation']);
    assert.equal(results[0].from, 'shop/ui-7d4b9c-x2k4p');
    assert.deepEqual(results[4].to, { ip: '198.51.100.7' });
    assert.equal(results[5].protocol, 'TCP', 'protocol defaults to TCP');
    assert.deepEqual(results[0].explanation.ingress.allowedBy, { policy: 'shop/catalog-from-ui', rule: 'ingress[0]', peer: 'from[0]', port: 'ports[0]' });
    assert.deepEqual(results[2].explanation.ingress.isolatedBy.map((p: { policy: string }) => p.policy), ['shop/default-deny-ingress', 'shop/catalog-from-ui']);
    assert.equal(results[2].explanation.ingress.allowedBy, undefined);
  });

  test('candidate policies replace in-force ones of the same name, with a note', () => {
    const replacement = file('replace.yaml', 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny-ingress, namespace: shop}\nspec: {podSelector: {matchLabels: {app: none}}}\n');
    const probes = file('p.json', JSON.stringify([{ from: 'shop/orders-6c7f9-qwert', to: 'shop/ui-7d4b9c-x2k4p', port: 8080 }]));
    const r = run(['verdicts', '--cluster', join(SHOP, 'cluster.yaml'), '--policies', replacement, '--probes', probes]);
    assert.equal(r.code, 0);
    assert.equal(JSON.parse(r.stdout).results[0].verdict, 'allow');
    assert.ok(r.stderr.some((l) => /replace\.yaml:1: NetworkPolicy shop\/default-deny-ingress replaces the policy of the same name in --cluster/.test(l)), r.stderr.join('\n'));
  });

  test('files may be listed after one flag, repeated, or given as a directory', () => {
    const manifestDir = () => {
      const sub = join(dir, 'manifests');
      mkdirSync(sub);
      copyFileSync(join(SHOP, 'cluster.yaml'), join(sub, 'a.yaml'));
      copyFileSync(join(SHOP, 'policies.yaml'), join(sub, 'b.yml'));
      writeFileSync(join(sub, 'README.md'), 'not a manifest');
      return sub;
    };
    const probes = file('p.json', '{"probes": [{"from": "shop/ui-7d4b9c-x2k4p", "to": "shop/catalog-5f6d8-abcde", "port": "http"}]}');
    for (const args of [
      ['--cluster', join(SHOP, 'cluster.yaml'), '--policies', join(SHOP, 'policies.yaml')],
      ['--cluster', join(SHOP, 'cluster.yaml'), join(SHOP, 'policies.yaml')],
      ['--cluster', manifestDir()],
    ]) {
      const r = run(['verdicts', ...args, '--probes', probes, '--quiet']);
      assert.equal(r.code, 0, r.stderr.join('\n'));
      const [result] = JSON.parse(r.stdout).results;
      assert.equal(result.verdict, 'allow');
      assert.equal(result.port, 'http');
      assert.deepEqual(r.stderr, []);
    }
  });

  test('bad input: one precise line on stderr, non-zero exit, never a stack trace', () => {
    const cluster = join(SHOP, 'cluster.yaml');
    const probes = file('ok.json', '[{"from": "shop/ui-7d4b9c-x2k4p", "to": "shop/catalog-5f6d8-abcde", "port": 8080}]');
    const cases: [string[], number, RegExp][] = [
      [['verdicts', '--probes', probes], 2, /^flowlens: verdicts: --cluster is required/],
      [['verdicts', '--cluster', cluster], 2, /^flowlens: verdicts: --probes is required/],
      [['verdicts', '--cluster', cluster, '--probes', probes, '--colour'], 2, /^flowlens: verdicts: Unknown option '--colour'/],
      [['verdicts', '--cluster', join(dir, 'missing.yaml'), '--probes', probes], 1, /^flowlens: --cluster: cannot read .*missing\.yaml: no such file or directory$/],
      [['verdicts', '--cluster', file('bad.yaml', 'kind: Pod\napiVersion: v1\nmetadata: {name: [}\n'), '--probes', probes], 1, /^flowlens: .*bad\.yaml:3: invalid YAML\/JSON: /],
      [['verdicts', '--cluster', cluster, '--policies', file('cidr.yaml', 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  egress:\n  - to:\n    - ipBlock: {cidr: 198.51.100.0/33}\n'), '--probes', probes], 1, /^flowlens: .*cidr\.yaml:7: NetworkPolicy shop\/p: spec\.egress\[0\]\.to\[0\]\.ipBlock\.cidr: "198\.51\.100\.0\/33" is not a valid CIDR: prefix length must be 0 to 32$/],
      [['verdicts', '--cluster', cluster, '--policies', cluster, '--probes', probes], 1, /^flowlens: --policies: .*cluster\.yaml:\d+: expected NetworkPolicies only, found a Namespace/],
      [['verdicts', '--cluster', cluster, file('twice.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n'), '--probes', probes], 1, /^flowlens: --cluster: Namespace shop is defined twice \(.*cluster\.yaml:\d+ and .*twice\.yaml:1\)$/],
      [['verdicts', '--cluster', cluster, '--probes', file('p1.json', '[\n{"from": "shop/nope", "to": "shop/ui-7d4b9c-x2k4p", "port": 80}\n]')], 1, /^flowlens: .*p1\.json:2: probe 0: from: pod shop\/nope is not in the cluster input$/],
      [['verdicts', '--cluster', cluster, '--probes', file('p2.json', '[{"from": "shop/ui-7d4b9c-x2k4p", "to": "shop/catalog-5f6d8-abcde",\n "port": 80, "protocol": "tcp"}]')], 1, /^flowlens: .*p2\.json:2: probe 0: protocol: expected one of "TCP"\|"UDP"\|"SCTP"$/],
      [['verdicts', '--cluster', cluster, '--probes', file('p3.json', '[{"from": {"ip": "198.51.100.300"}, "to": "shop/ui-7d4b9c-x2k4p", "port": 80}]')], 1, /^flowlens: .*p3\.json:1: probe 0: from: "198\.51\.100\.300" is not a valid IP address$/],
      [['verdicts', '--cluster', cluster, '--probes', file('p4.json', '[{"from": "ui", "to": "shop/ui-7d4b9c-x2k4p", "port": 80}]')], 1, /probe 0: from: "ui" must be "namespace\/pod" or \{"ip": "..."\}$/],
      [['verdicts', '--cluster', cluster, '--probes', file('p5.json', '[{"from": "shop/ui-7d4b9c-x2k4p", "to": "shop/catalog-5f6d8-abcde", "port": "grpc"}]')], 1, /probe 0: port "grpc" is not a named TCP port of shop\/catalog-5f6d8-abcde$/],
      [['verdicts', '--cluster', cluster, '--probes', file('p6.json', '[{"from": "shop/ui-7d4b9c-x2k4p", "to": "shop/catalog-5f6d8-abcde", "port": 0}]')], 1, /probe 0: port: must be a port number \(1-65535\) or a named port$/],
      [['verdicts', '--cluster', cluster, '--probes', file('p7.json', '{"from": "a/b"}')], 1, /p7\.json: expected a JSON list of probes or \{"probes": \[\.\.\.\]\}$/],
      [['verdicts', '--cluster', cluster, '--probes', file('bin.json', Buffer.from([0x5b, 0x00, 0x5d]))], 1, /--probes: .*bin\.json is not a text file$/],
      [['verdicts', '--cluster', dir, '--probes', probes], 1, /.*\.yaml:\d+: /],
      [['nonsense'], 2, /^flowlens: unknown command "nonsense"/],
    ];
    for (const [args, code, pattern] of cases) {
      const r = run(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr.join('\n')}`);
      assert.match(r.stderr[0] ?? '', pattern);
      assert.ok(!r.stderr.join('\n').includes('    at '), 'no stack trace');
      assert.equal(r.stdout, '');
    }
  });

  test('huge inputs are refused before reading them', () => {
    const huge = join(dir, 'huge.yaml');
    writeFileSync(huge, '');
    truncateSync(huge, 200 * 1024 * 1024);
    const r = run(['verdicts', '--cluster', huge, '--probes', join(SHOP, 'probes.json')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr[0], /^flowlens: --cluster: .*huge\.yaml is 200 MiB; the limit is 128 MiB$/);
  });

  test('unknown kinds are skipped with a note on stderr; --quiet silences notes', () => {
    const extra = file('extra.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: shop}\n');
    const args = ['verdicts', '--cluster', join(SHOP, 'cluster.yaml'), extra, '--probes', join(SHOP, 'probes.json')];
    const r = run(args);
    assert.equal(r.code, 0);
    assert.deepEqual(r.stderr.filter((l) => l.includes('ConfigMap')), [`note: ${extra}:1: ignoring v1 ConfigMap shop/cm: FlowLens does not read this kind`]);
    assert.deepEqual(run([...args, '--quiet']).stderr, []);
  });
});
