import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, NetworkingV1Api, PatchStrategy, RbacAuthorizationV1Api, type KubernetesObject, type V1ClusterRole, type V1PolicyRule } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { applyPolicies, dryRunPolicies, type PolicyChange, type PolicyFailure, type PolicyOutcome } from '../../src/cluster/policy-apply';
import { adminConfig, powerlessConfig, requireSandbox } from './sandbox-cluster';

const RBAC_FILE = join(__dirname, '..', '..', '..', 'agent-manifests', 'flowlens-user-rbac.yaml');

function changed(outcomes: PolicyOutcome[]): PolicyChange {
  assert.equal(outcomes.length, 1);
  assert.ok(outcomes[0].ok, JSON.stringify(outcomes[0]));
  return outcomes[0];
}

function failed(outcomes: PolicyOutcome[], index = 0): PolicyFailure['error'] {
  const o = outcomes[index];
  assert.ok(!o.ok, JSON.stringify(o));
  return o.error;
}

async function until<T>(what: string, attempt: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (done(value)) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

suite('policy apply (sandbox)', function () {
  this.timeout(60_000);
  const ns = `apply-test-${randomBytes(4).toString('hex')}`;
  const serviceAccounts: string[] = [];
  let kc: KubeConfig | undefined;

  function admin(): KubeConfig {
    return kc!;
  }

  function policy(name: string, spec: object, metadata: object = {}, namespace = ns): KubernetesObject {
    return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace, ...metadata }, spec } as KubernetesObject;
  }

  const web = (port: number) =>
    policy('web', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port }] }] });

  async function read(name: string) {
    return admin().makeApiClient(NetworkingV1Api).readNamespacedNetworkPolicy({ name, namespace: ns });
  }

  async function userConfig(suffix: string): Promise<KubeConfig> {
    const name = `${ns}-${suffix}`;
    serviceAccounts.push(name);
    return powerlessConfig(admin(), name);
  }

  suiteSetup(async function () {
    kc = adminConfig(requireSandbox(this));
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
  });

  suiteTeardown(async () => {
    if (!kc) {
      return;
    }
    const core = kc.makeApiClient(CoreV1Api);
    // The namespace takes the policies, Roles and RoleBindings with it; powerlessConfig's accounts live in default.
    const results = await Promise.allSettled([
      core.deleteNamespace({ name: ns }),
      ...serviceAccounts.map((name) => core.deleteNamespacedServiceAccount({ name, namespace: 'default' })),
    ]);
    const failures = results.filter((r) => r.status === 'rejected');
    assert.deepEqual(failures, [], 'teardown');
  });

  test('a dry run of a new policy says create and creates nothing', async () => {
    const outcomes = await dryRunPolicies(admin(), [web(8080)]);
    assert.deepEqual(outcomes, [
      {
        namespace: ns,
        name: 'web',
        ok: true,
        action: 'create',
        resultYaml: [
          'apiVersion: networking.k8s.io/v1',
          'kind: NetworkPolicy',
          'metadata:',
          '  name: web',
          `  namespace: ${ns}`,
          'spec:',
          '  podSelector:',
          '    matchLabels:',
          '      app: web',
          '  policyTypes:',
          '    - Ingress',
          '  ingress:',
          '    - from:',
          '        - podSelector:',
          '            matchLabels:',
          '              app: client',
          '      ports:',
          '        - port: 8080',
          '          protocol: TCP',
          '',
        ].join('\n'),
      },
    ]);
    await assert.rejects(read('web'), (e: { code?: number }) => e.code === 404);
  });

  test('apply creates it as field manager flowlens, and says what it created', async () => {
    const [dry] = await dryRunPolicies(admin(), [web(8080)]);
    const applied = changed(await applyPolicies(admin(), [web(8080)]));
    assert.equal(applied.action, 'create');
    assert.equal(applied.currentYaml, undefined);
    assert.equal(applied.resultYaml, (dry as PolicyChange).resultYaml, 'the dry run showed exactly what apply created');
    const live = await read('web');
    assert.deepEqual(
      live.metadata?.managedFields?.map((f) => [f.manager, f.operation]),
      [['flowlens', 'Apply']],
    );
  });

  test('the same policy again is unchanged, and applying it modifies nothing', async () => {
    const again = changed(await dryRunPolicies(admin(), [web(8080)]));
    assert.equal(again.action, 'unchanged');
    assert.equal(again.currentYaml, again.resultYaml);
    const before = (await read('web')).metadata?.resourceVersion;
    assert.equal(changed(await applyPolicies(admin(), [web(8080)])).action, 'unchanged');
    assert.equal((await read('web')).metadata?.resourceVersion, before);
  });

  test('a changed policy is an update whose two texts differ only in the changed field', async () => {
    const update = changed(await dryRunPolicies(admin(), [web(9090)]));
    assert.equal(update.action, 'update');
    const current = update.currentYaml!.split('\n');
    const result = update.resultYaml.split('\n');
    assert.equal(current.length, result.length);
    const differing = current.flatMap((line, i) => (line === result[i] ? [] : [[line, result[i]]]));
    assert.deepEqual(differing, [['        - port: 8080', '        - port: 9090']]);
    assert.equal((await read('web')).spec?.ingress?.[0].ports?.[0].port, 8080, 'the dry run changed nothing');
  });

  test('an invalid policy is explained with the field paths the API server names, and stops the whole apply', async () => {
    const bad = policy('bad', {
      podSelector: {},
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } }], ports: [{ port: 'http', endPort: 90 }] }],
    });
    const outcomes = await dryRunPolicies(admin(), [bad]);
    assert.deepEqual(failed(outcomes), {
      kind: 'invalid',
      causes: [
        { path: ['spec', 'ingress', 0, 'ports', 0, 'endPort'], message: 'Invalid value: 90: may not be specified when `port` is non-numeric' },
        { path: ['spec', 'ingress', 0, 'from', 0, 'ipBlock', 'except', 0], message: 'Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`' },
      ],
      message:
        `cannot dry-run NetworkPolicy ${ns}/bad: the API server rejected it: spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when \`port\` is non-numeric; ` +
        'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`; correct the manifest and try again',
    });

    const fine = policy('fine', { podSelector: {}, policyTypes: ['Ingress'] });
    const applied = await applyPolicies(admin(), [fine, bad]);
    assert.deepEqual(failed(applied, 0), {
      kind: 'skipped',
      message: `NetworkPolicy ${ns}/fine was not applied, and neither was any other, because NetworkPolicy ${ns}/bad failed its dry run; fix that and apply again`,
    });
    assert.equal(failed(applied, 1).kind, 'invalid');
    assert.ok(failed(applied, 1).message.startsWith(`cannot apply NetworkPolicy ${ns}/bad: the API server rejected it: `));
    await assert.rejects(read('fine'), (e: { code?: number }) => e.code === 404);
  });

  test('a field the schema does not know is reported at its place, not silently dropped', async () => {
    const typo = policy('typo', { podSelector: {}, ingres: [{}] });
    assert.deepEqual(failed(await dryRunPolicies(admin(), [typo])), {
      kind: 'invalid',
      causes: [{ path: ['spec', 'ingres'], message: 'field not declared in schema' }],
      message: `cannot dry-run NetworkPolicy ${ns}/typo: the API server rejected it: spec.ingres: field not declared in schema; correct the manifest and try again`,
    });
  });

  test('when a real apply fails after its dry run passed, the policies after it are not applied', async () => {
    // An admission policy that lets dry runs through but rejects real writes of "late-*" in this namespace only.
    const admission = admin().makeApiClient(AdmissionregistrationV1Api);
    const name = ns;
    await admission.createValidatingAdmissionPolicy({
      body: {
        metadata: { name },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: ['networking.k8s.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['networkpolicies'] }] },
          validations: [{ expression: "request.dryRun == true || !object.metadata.name.startsWith('late-')", message: 'no late policies' }],
        },
      },
    });
    try {
      await admission.createValidatingAdmissionPolicyBinding({
        body: {
          metadata: { name },
          spec: { policyName: name, validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } } },
        },
      });
      let probe = 0;
      await until(
        'the admission policy',
        () => applyPolicies(admin(), [policy(`late-probe-${probe++}`, { podSelector: {} })]),
        (o) => !o[0].ok,
      );
      const outcomes = await applyPolicies(admin(), [policy('early', { podSelector: {} }), policy('late-one', { podSelector: {} }), policy('after', { podSelector: {} })]);
      assert.equal(outcomes[0].ok && outcomes[0].action, 'create');
      const denied = `ValidatingAdmissionPolicy '${name}' with binding '${name}' denied request: no late policies`;
      assert.deepEqual(failed(outcomes, 1), {
        kind: 'invalid',
        causes: [{ path: [], message: denied }],
        message: `cannot apply NetworkPolicy ${ns}/late-one: the API server rejected it: ${denied}; correct the manifest and try again`,
      });
      assert.deepEqual(failed(outcomes, 2), {
        kind: 'skipped',
        message: `NetworkPolicy ${ns}/after was not applied because applying NetworkPolicy ${ns}/late-one failed; fix that and apply again`,
      });
      await read('early');
      await assert.rejects(read('after'), (e: { code?: number }) => e.code === 404);
    } finally {
      await Promise.allSettled([admission.deleteValidatingAdmissionPolicyBinding({ name }), admission.deleteValidatingAdmissionPolicy({ name })]);
    }
  });

  test('fields another field manager owns are a conflict naming it, until the user takes ownership', async () => {
    const theirs = policy('shared', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'] }, { labels: { 'app.kubernetes.io/part-of': 'shop', team: 'a' } });
    await KubernetesObjectApi.makeApiClient(admin()).patch(theirs, undefined, undefined, 'kubectl-edit', undefined, PatchStrategy.ServerSideApply);
    const before = (await read('shared')).metadata?.resourceVersion;
    const ours = policy('shared', { podSelector: { matchLabels: { app: 'api' } }, policyTypes: ['Ingress'] }, { labels: { 'app.kubernetes.io/part-of': 'store', team: 'a' } });

    const conflict = {
      kind: 'conflict',
      conflicts: [
        { manager: 'kubectl-edit', path: ['metadata', 'labels', 'app.kubernetes.io/part-of'] },
        { manager: 'kubectl-edit', path: ['spec', 'podSelector'] },
      ],
      message:
        `cannot dry-run NetworkPolicy ${ns}/shared: it would change fields that another field manager owns ("kubectl-edit" owns metadata.labels.app.kubernetes.io/part-of, spec.podSelector); ` +
        'keep their values from the cluster or leave them out of the manifest, or take ownership (force) to make flowlens their manager',
    };
    assert.deepEqual(failed(await dryRunPolicies(admin(), [ours])), conflict);
    assert.deepEqual(failed(await applyPolicies(admin(), [ours])), { ...conflict, message: conflict.message.replace('cannot dry-run', 'cannot apply') });
    assert.equal((await read('shared')).metadata?.resourceVersion, before, 'nothing was applied');

    const preview = changed(await dryRunPolicies(admin(), [ours], { force: true }));
    assert.equal(preview.action, 'update');
    const forced = changed(await applyPolicies(admin(), [ours], { force: true }));
    assert.equal(forced.resultYaml, preview.resultYaml);
    const live = await read('shared');
    assert.deepEqual(live.spec?.podSelector?.matchLabels, { app: 'api' });
    assert.deepEqual(live.metadata?.labels, { 'app.kubernetes.io/part-of': 'store', team: 'a' });
    const owners = Object.fromEntries((live.metadata?.managedFields ?? []).map((f) => [f.manager, JSON.stringify(f.fieldsV1)]));
    assert.ok(owners.flowlens.includes('"f:podSelector"') && owners.flowlens.includes('"f:app.kubernetes.io/part-of"'), owners.flowlens);
    assert.ok(!owners['kubectl-edit'].includes('"f:podSelector"'), owners['kubectl-edit']);
  });

  test('a user without RBAC permission is told what was denied and which rule grants it', async () => {
    const user = await userConfig('powerless');
    const account = `system:serviceaccount:default:${ns}-powerless`;
    const error = failed(await dryRunPolicies(user, [web(8080)]));
    assert.deepEqual(error, {
      kind: 'forbidden',
      user: account,
      verb: 'get',
      resource: 'networkpolicies',
      namespace: ns,
      rule: { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'create', 'patch'] },
      message:
        `cannot dry-run NetworkPolicy ${ns}/web: ${account} may not get networkpolicies in namespace ${ns}; ` +
        'a cluster admin can grant get, create, patch on networkpolicies (API group networking.k8s.io) there, as the ClusterRole flowlens-user does',
    });
    assert.equal(failed(await applyPolicies(user, [web(8080)])).kind, 'forbidden');
  });

  test('a namespace that does not exist is named', async () => {
    const missing = `${ns}-missing`;
    assert.deepEqual(failed(await dryRunPolicies(admin(), [policy('web', { podSelector: {} }, {}, missing)])), {
      kind: 'namespace-not-found',
      namespace: missing,
      message: `cannot dry-run NetworkPolicy ${missing}/web: namespace ${missing} does not exist; create it first (kubectl create namespace ${missing}) or set metadata.namespace to an existing one`,
    });
  });

  test('a policy without a name is rejected before any request', async () => {
    const unnamed = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: ns }, spec: { podSelector: {} } };
    assert.deepEqual(failed(await applyPolicies(admin(), [unnamed])), {
      kind: 'invalid',
      causes: [{ path: ['metadata', 'name'], message: 'is required' }],
      message: `cannot apply NetworkPolicy ${ns}/(no name): metadata.name is missing; set it in the manifest`,
    });
  });

  test('an unreachable cluster or rejected credentials fail every policy, and the rest are not tried', async () => {
    const cluster = admin().getCurrentCluster()!;
    const make = (server: string, token: string) => {
      const k = new KubeConfig();
      k.loadFromOptions({
        clusters: [{ name: 'c', server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: false }],
        users: [{ name: 'u', token }],
        contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
        currentContext: 'ctx',
      });
      return k;
    };
    // A server that hangs up on every connection, and counts them.
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const down = await dryRunPolicies(make(url, 'x'), [web(8080), policy('other', { podSelector: {} })]);
      assert.deepEqual(
        down.map((o) => (o.ok ? o : [o.error.kind, o.error.kind === 'cluster' ? o.error.error.kind : '', o.error.message])),
        ['web', 'other'].map((name) => [
          'cluster',
          'unreachable',
          `cannot dry-run NetworkPolicy ${ns}/${name}: the API server is unreachable (context ctx, ${url}) (ECONNRESET). ` +
            'Check that the cluster is running and the kubeconfig points at it; FlowLens retries by itself',
        ]),
      );
      assert.equal(connections, 1, 'the second policy was not tried');
    } finally {
      server.close();
    }
    const expired = failed(await applyPolicies(make(cluster.server, 'expired-token'), [web(8080)]));
    assert.equal(expired.kind === 'cluster' && expired.error.kind, 'unauthorized');
    assert.equal(
      expired.message,
      `cannot apply NetworkPolicy ${ns}/web: the cluster rejected the credentials (context ctx, ${cluster.server}). ` +
        'They may have expired: log in again (for EKS: `aws sso login`, then `aws eks update-kubeconfig`); FlowLens reconnects by itself',
    );
  });

  test('the networkpolicy rule of flowlens-user-rbac.yaml alone is enough to dry-run and apply, and create is part of it', async () => {
    const docs = parseAllDocuments(readFileSync(RBAC_FILE, 'utf8')).map((d) => d.toJS() as KubernetesObject);
    const role = docs.find((d) => d.kind === 'ClusterRole' && d.metadata?.name === 'flowlens-user') as V1ClusterRole;
    const applyRules = role.rules!.filter((r) => r.resources?.includes('networkpolicies') && r.verbs.includes('patch'));
    assert.equal(applyRules.length, 1, 'one rule for applying NetworkPolicies');
    const rule: V1PolicyRule = applyRules[0];

    const user = await userConfig('applier');
    const denied = failed(await dryRunPolicies(user, [web(8080)]));
    assert.equal(denied.kind, 'forbidden');
    assert.deepEqual(denied.kind === 'forbidden' && [...denied.rule.verbs].sort(), [...rule.verbs].sort(), 'the error asks for exactly the documented rule');

    const rbac = admin().makeApiClient(RbacAuthorizationV1Api);
    // Without create, server-side apply can change an existing policy but not create a new one.
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: 'applier' }, rules: [{ ...rule, verbs: rule.verbs.filter((v) => v !== 'create') }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'applier' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'applier' },
        subjects: [{ kind: 'ServiceAccount', name: `${ns}-applier`, namespace: 'default' }],
      },
    });
    const noCreate = failed(
      await until(
        'the partial Role',
        () => dryRunPolicies(user, [policy('new', { podSelector: {} })]),
        (o) => !o[0].ok && o[0].error.kind === 'forbidden' && o[0].error.verb !== 'get',
      ),
    );
    assert.equal(noCreate.kind === 'forbidden' && noCreate.verb, 'create');
    assert.equal(changed(await dryRunPolicies(user, [web(7070)])).action, 'update', 'an existing policy needs no create');

    await rbac.replaceNamespacedRole({ name: 'applier', namespace: ns, body: { metadata: { name: 'applier' }, rules: [rule] } });
    const dry = changed(await until('the full Role', () => dryRunPolicies(user, [policy('new', { podSelector: {} })]), (o) => o[0].ok));
    assert.equal(dry.action, 'create');
    const applied = changed(await applyPolicies(user, [policy('new', { podSelector: {} })]));
    assert.equal(applied.action, 'create');
    assert.deepEqual((await read('new')).metadata?.managedFields?.map((f) => f.manager), ['flowlens']);
  });
});
