import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { parseManifests } from '../../src/core/kube/manifest';
import { fakeApiServer, type FakeApi } from '../cluster/fake-api-server';

const ROOT = join(__dirname, '..', '..', '..');
const DEMO_CLUSTER = join(ROOT, 'examples', 'demo', 'demo.cluster.yaml');
const DEMO_FLOWS = join(ROOT, 'examples', 'demo', 'demo.flows.jsonl');

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string[] }> {
  let stdout = '';
  const stderr: string[] = [];
  const code = await main(args, { stdout: (t) => (stdout += `${t}\n`), stderr: (t) => stderr.push(t) });
  return { code, stdout, stderr };
}

function kubeconfig(path: string, server: string, insecure = false): string {
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${server}"${insecure ? ', insecure-skip-tls-verify: true' : ''}}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
`,
  );
  return path;
}

suite('flowlens record', () => {
  let dir: string;
  let api: FakeApi | undefined;
  setup(() => (dir = mkdtempSync(join(tmpdir(), 'flowlens-record-'))));
  teardown(async () => {
    await api?.close();
    api = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  test('bad options are one-line usage errors; existing files are kept unless --force', async () => {
    const out = join(dir, 'r.flows.jsonl');
    const cases: [string[], number, RegExp][] = [
      [[], 2, /^flowlens: record: --out is required \(the \.flows\.jsonl file to write\)$/],
      [['--out', out, '--duration', 'soon'], 2, /^flowlens: record: --duration "soon" must be a duration such as 5m, 15m, 1h or 1h30m$/],
      [['--out', out, '--duration', '0s'], 2, /^flowlens: record: --duration must be longer than 0s$/],
      [['--out', out, '--cluster-snapshot', out], 2, /^flowlens: record: --cluster-snapshot and --out name the same file$/],
      [['--out', out, '--bogus'], 2, /^flowlens: record: Unknown option '--bogus'/],
      [['--out', join(dir, 'no', 'r.flows.jsonl')], 1, /^flowlens: record: --out: .*\/no\/r\.flows\.jsonl: no such directory$/],
      [['--out', out, '--cluster-snapshot', join(dir, 'no', 'r.yaml')], 1, /^flowlens: record: --cluster-snapshot: .*\/no\/r\.yaml: no such directory$/],
    ];
    for (const [args, code, message] of cases) {
      const r = await run(['record', ...args]);
      assert.equal(r.code, code, args.join(' '));
      assert.equal(r.stderr.length, 1, r.stderr.join('\n'));
      assert.match(r.stderr[0], message);
    }
    writeFileSync(join(dir, 'r.cluster.yaml'), 'kept');
    const r = await run(['record', '--out', out]);
    assert.deepEqual([r.code, r.stderr], [1, [`flowlens: record: --cluster-snapshot: ${join(dir, 'r.cluster.yaml')} exists (--force replaces it)`]]);
    assert.equal(readFileSync(join(dir, 'r.cluster.yaml'), 'utf8'), 'kept');
    assert.match((await run(['record', '--help'])).stdout, /^flowlens record --out <file\.flows\.jsonl> \[options\]/);
  });

  test('an unreachable cluster is one classified line, before anything is written', async () => {
    const config = kubeconfig(join(dir, 'kc'), 'https://127.0.0.1:1');
    const out = join(dir, 'r.flows.jsonl');
    const r = await run(['record', '--out', out, '--kubeconfig', config, '--duration', '5s']);
    assert.equal(r.code, 1);
    assert.deepEqual(r.stderr, [
      'flowlens: record: cannot list namespaces: the API server is unreachable (context ctx, https://127.0.0.1:1) (ECONNREFUSED). Check that the cluster is running and the kubeconfig points at it; FlowLens retries by itself',
    ]);
    assert.equal(existsSync(out), false);
    const missing = await run(['record', '--out', out, '--kubeconfig', config, '--context', 'nope']);
    assert.deepEqual([missing.code, missing.stderr], [1, ['flowlens: record: kubeconfig has no context "nope" (it has ctx)']]);
  });

  test('without a running agent it says so and leaves no empty recording behind', async () => {
    api = await fakeApiServer(() => undefined);
    const config = kubeconfig(join(dir, 'kc'), api.kc.getCurrentCluster()!.server, true);
    const out = join(dir, 'r.flows.jsonl');
    const r = await run(['record', '--out', out, '--kubeconfig', config, '--duration', '5s']);
    assert.deepEqual([r.code, r.stderr], [1, ['flowlens: record: no FlowLens agent pod is running (namespace flowlens-system): deploy the agent first (FlowLens: Deploy Agent)']]);
    assert.equal(existsSync(out), false);
    assert.equal(existsSync(join(dir, 'r.cluster.yaml')), false);
  });

  test('policy generate and validate read the demo recording and its snapshot as they are', async () => {
    const generated = await run(['policy', 'generate', '--cluster', DEMO_CLUSTER, '--flows', DEMO_FLOWS]);
    assert.equal(generated.code, 0, generated.stderr.join('\n'));
    const parsed = parseManifests(generated.stdout, 'generated.yaml');
    assert.deepEqual(parsed.errors, []);
    const names = parsed.objects.map((o) => o.value.name);
    for (const expected of ['ui-egress', 'catalog-ingress', 'carts-ingress', 'checkout-ingress', 'checkout-egress', 'orders-ingress', 'photos-egress', 'coredns-ingress']) {
      assert.ok(names.includes(expected), `${expected} not in ${names.join(', ')}`);
    }
    const policies = join(dir, 'policies.yaml');
    writeFileSync(policies, generated.stdout);
    const validated = await run(['policy', 'validate', '--cluster', DEMO_CLUSTER, '--flows', DEMO_FLOWS, '--policies', policies]);
    assert.equal(validated.code, 0, validated.stdout);
    assert.match(validated.stdout, /PASS: no working flow would be newly denied\./);
  });
});
