import { strict as assert } from 'node:assert';
import { ClusterError } from '../../src/cluster/cluster-error';
import { listClusterObjects, snapshotCluster } from '../../src/cluster/cluster-snapshot';
import { enrichFlows } from '../../src/core/flows/enrich';
import { buildCluster, type Cluster } from '../../src/core/kube/cluster';
import { decoderFor, type ClusterObject } from '../../src/core/kube/decode';
import { parseManifests } from '../../src/core/kube/manifest';
import { record } from '../core/flows/flow-fixtures';
import { fakeApiServer, type FakeApi, type FakeRequest, type FakeResponse } from './fake-api-server';

const NOISE = {
  uid: '0d4c2a5e-1111-4222-8333-944455556666',
  resourceVersion: '4711',
  generation: 3,
  managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:metadata': {} } }],
};

function pod(name: string, ip: string, created: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    metadata: {
      name,
      namespace: 'shop',
      creationTimestamp: created,
      labels: { app: 'web' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f', uid: 'rs-uid', controller: true }],
      ...NOISE,
    },
    spec: {
      nodeName: 'node-a',
      containers: [{ name: 'web', image: 'web:1', env: [{ name: 'DB_PASSWORD', value: 'hunter2' }], ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
    },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
    ...extra,
  };
}

/** The API's lists: typed (PodList, ...), items without kind and apiVersion. */
function lists(pods: Record<string, unknown>[]): Record<string, Record<string, unknown>[]> {
  return {
    '/api/v1/namespaces': [
      {
        metadata: {
          name: 'shop',
          creationTimestamp: '2026-11-21T09:00:00Z',
          labels: { team: 'web' },
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"secret":"yes"}', owner: 'platform' },
          ...NOISE,
        },
        spec: { finalizers: ['kubernetes'] },
      },
    ],
    '/api/v1/pods': pods,
    '/api/v1/nodes': [
      {
        metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-a' }, ...NOISE },
        status: { addresses: [{ type: 'InternalIP', address: '192.168.0.10' }, { type: 'Hostname', address: 'node-a' }] },
      },
    ],
    '/api/v1/services': [
      {
        metadata: { name: 'web', namespace: 'shop', ...NOISE },
        spec: { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
      },
    ],
    '/apis/networking.k8s.io/v1/networkpolicies': [
      {
        metadata: { name: 'web-ingress', namespace: 'shop', ...NOISE },
        spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'ui' } } }], ports: [{ port: 8080 }] }] },
      },
    ],
    '/apis/apps/v1/deployments': [
      {
        metadata: { name: 'web', namespace: 'shop', ...NOISE },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:1', env: [{ name: 'DB_PASSWORD', value: 'hunter2' }] }] } },
        },
      },
    ],
    '/apis/batch/v1/cronjobs': [
      {
        metadata: { name: 'report', namespace: 'shop', ...NOISE },
        spec: {
          schedule: '0 * * * *',
          jobTemplate: { spec: { template: { metadata: { labels: { job: 'report' } }, spec: { containers: [{ name: 'r', image: 'r:1', env: [{ name: 'TOKEN', value: 'hunter2' }] }] } } } },
        },
      },
    ],
  };
}

/** Serves the lists, pods in pages of one (the client asks for 500; paging must not depend on the size). */
function serve(current: () => Record<string, Record<string, unknown>[]>): (req: FakeRequest) => FakeResponse | undefined {
  const kinds: Record<string, string> = { '/api/v1/pods': 'PodList' };
  return (req) => {
    const items = current()[req.path];
    if (!items) {
      return undefined;
    }
    if (req.path !== '/api/v1/pods') {
      return { body: { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '9' }, items } };
    }
    const at = Number(req.query.get('continue') ?? '0');
    const next = at + 1 < items.length ? String(at + 1) : undefined;
    return { body: { kind: kinds[req.path], apiVersion: 'v1', metadata: { resourceVersion: '9', ...(next ? { continue: next } : {}) }, items: items.slice(at, at + 1) } };
  };
}

function decodeRaw(state: Record<string, Record<string, unknown>[]>): Cluster {
  const kinds: Record<string, [string, string]> = {
    '/api/v1/namespaces': ['v1', 'Namespace'],
    '/api/v1/pods': ['v1', 'Pod'],
    '/api/v1/nodes': ['v1', 'Node'],
    '/api/v1/services': ['v1', 'Service'],
    '/apis/networking.k8s.io/v1/networkpolicies': ['networking.k8s.io/v1', 'NetworkPolicy'],
    '/apis/apps/v1/deployments': ['apps/v1', 'Deployment'],
    '/apis/batch/v1/cronjobs': ['batch/v1', 'CronJob'],
  };
  const objects: ClusterObject[] = Object.entries(state).flatMap(([path, items]) =>
    items.map((item) => {
      const [apiVersion, kind] = kinds[path];
      const decoded = decoderFor(apiVersion, kind)!({ ...item, apiVersion, kind });
      assert.ok(decoded.ok, `${kind}: ${JSON.stringify(decoded)}`);
      return decoded.value;
    }),
  );
  return buildCluster(objects).cluster;
}

/** The model without source positions, maps as sorted entries: comparable across inputs. */
function comparable(cluster: Cluster): unknown {
  return JSON.parse(
    JSON.stringify(cluster, (key, value: unknown) => {
      if (key === 'source') {
        return undefined;
      }
      return value instanceof Map ? [...value.entries()].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)) : value;
    }),
  );
}

suite('cluster snapshot', () => {
  let api: FakeApi | undefined;
  teardown(async () => {
    await api?.close();
    api = undefined;
  });

  test('is the API objects as one List, without server bookkeeping or env values, and loads into the model the raw objects give', async () => {
    const state = lists([pod('web-1', '10.0.0.5', '2026-11-21T09:00:00Z'), pod('web-2', '10.0.0.6', '2026-11-21T09:00:00Z'), pod('web-3', '10.0.0.7', '2026-11-21T09:00:00Z')]);
    api = await fakeApiServer(serve(() => state));
    const yaml = await snapshotCluster(api.kc);

    assert.match(yaml, /^# FlowLens cluster snapshot of context fake, \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: namespaces, pods, nodes, services, endpointslices, networkpolicies, deployments, replicasets, statefulsets, daemonsets, jobs, cronjobs\.\n/);
    for (const gone of ['managedFields', 'resourceVersion', 'generation', NOISE.uid, 'last-applied-configuration', 'hunter2', 'DB_PASSWORD']) {
      assert.ok(!yaml.includes(gone), `${gone} is left in the snapshot`);
    }
    // What is not bookkeeping stays: other annotations, owner references (with their uid), the pod spec.
    assert.match(yaml, /owner: platform/);
    assert.match(yaml, /uid: rs-uid/);
    assert.match(yaml, /image: web:1/);
    assert.match(yaml, /^kind: List$/m);

    const parsed = parseManifests(yaml, 'snap.yaml');
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.notes, []);
    const built = buildCluster(parsed.objects);
    assert.deepEqual(built.errors, []);
    assert.deepEqual(comparable(built.cluster), comparable(decodeRaw(state)));
    assert.deepEqual(built.cluster.pods.map((p) => p.name), ['web-1', 'web-2', 'web-3']);
    // The API's `from` (the typed client calls it `_from`) survives: the policy admits ui only.
    assert.equal(built.cluster.policies[0].ingress[0].peers.length, 1);

    const podRequests = api.requests.filter((r) => r.path === '/api/v1/pods');
    assert.deepEqual(podRequests.map((r) => [r.query.get('limit'), r.query.get('continue')]), [['500', null], ['500', '1'], ['500', '2']]);
    assert.ok(api.requests.every((r) => r.headers.authorization === 'Bearer fake-token'));
  });

  test('keeps the pods deleted since an earlier listing, ended when a newer pod took their address or at the latest by now', async () => {
    const minutesAgo = (m: number) => new Date(Math.floor(Date.now() / 60_000 - m) * 60_000).toISOString().replace('.000Z', 'Z');
    const created = minutesAgo(120);
    const old = pod('web-old', '10.0.0.5', created);
    const gone = pod('web-gone', '10.0.0.6', created);
    const stay = pod('web-stay', '10.0.0.7', created);
    const successor = pod('web-new', '10.0.0.5', minutesAgo(30));
    let state = lists([old, gone, stay]);
    api = await fakeApiServer(serve(() => state));
    const before = await listClusterObjects(api.kc);
    state = lists([stay, successor]);
    const t0 = Date.now();
    const yaml = await snapshotCluster(api.kc, before);
    const t1 = Date.now();

    const parsed = parseManifests(yaml, 'snap.yaml');
    assert.deepEqual(parsed.errors, []);
    const built = buildCluster(parsed.objects);
    assert.deepEqual(built.errors, []);
    const pods = new Map(built.cluster.pods.map((p) => [p.name, p]));
    assert.deepEqual([...pods.keys()], ['web-stay', 'web-new', 'web-old', 'web-gone']);
    assert.equal(pods.get('web-old')!.lifetime.toMs, Date.parse(minutesAgo(30)));
    const goneEnd = pods.get('web-gone')!.lifetime.toMs!;
    assert.ok(goneEnd >= Math.floor(t0 / 1000) * 1000 && goneEnd <= t1, `web-gone ended at ${new Date(goneEnd).toISOString()}`);
    assert.equal(pods.get('web-stay')!.lifetime.toMs, undefined);
    assert.match(yaml, /flowlens\.dev\/ended: deleted while recording; deletionTimestamp is the latest time it can have ended/);

    // The same address resolves to the pod that held it at the time.
    const [early, late] = enrichFlows(built.cluster, [
      record('10.0.0.5', '10.96.0.20', 80, { start: minutesAgo(60), end: minutesAgo(59) }),
      record('10.0.0.5', '10.96.0.20', 80, { start: minutesAgo(20), end: minutesAgo(19) }),
    ]);
    assert.equal(early.client.pods[0]?.name, 'web-old');
    assert.equal(late.client.pods[0]?.name, 'web-new');
  });

  test('a list the API refuses is a classified error naming the resource', async () => {
    api = await fakeApiServer((req) =>
      req.path === '/apis/batch/v1/cronjobs'
        ? { status: 403, body: { kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message: 'cronjobs.batch is forbidden: User "dev" cannot list resource "cronjobs"' } }
        : undefined,
    );
    const server = api.kc.getCurrentCluster()!.server;
    await assert.rejects(snapshotCluster(api.kc), (e: ClusterError) => {
      assert.ok(e instanceof ClusterError);
      assert.equal(e.kind, 'forbidden');
      assert.equal(e.message, `cannot list cronjobs: forbidden by RBAC (context fake, ${server}): cronjobs.batch is forbidden: User "dev" cannot list resource "cronjobs"`);
      return true;
    });
  });
});
