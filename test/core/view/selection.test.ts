import { strict as assert } from 'node:assert';
import { endpointRef } from '../../../src/core/view/protocol';
import { flowsOfEdges, policySelection } from '../../../src/core/view/selection';
import { shopFlows, shopSnapshot } from '../../webview/fixtures';

suite('view selection: the flows behind what the user selected', () => {
  const flows = shopFlows();
  const s = shopSnapshot();
  const ref = (id: string) => endpointRef(s.endpoints.find((e) => e.id === id)!);

  test('a workload edge selects the flows of all its pods on that port', () => {
    const edge = { key: 'k', client: ref('wl:Deployment/ui/ui'), server: ref('wl:Deployment/orders/orders'), protocol: 'TCP' as const, port: 8080 };
    const got = flowsOfEdges(flows, [edge], 'workload');
    assert.deepEqual(got.map((f) => `${f.client.ip}->${f.record.server.ip}`).sort(), ['198.18.1.10->198.18.1.40', '198.18.2.10->198.18.3.40']);
  });

  test('a pod edge selects that pod pair only', () => {
    const edge = { key: 'k', client: ref('pod:ui/ui-6d9f-a1'), server: ref('pod:orders/orders-8d2e-a1'), protocol: 'TCP' as const, port: 8080 };
    assert.equal(flowsOfEdges(flows, [edge], 'pod').length, 1);
  });

  test('edges only: scope "all"; with nodes: the nodes\' and the edges\' workloads', () => {
    const edge = { key: 'k', client: ref('wl:Deployment/gallery/gallery'), server: ref('cloud:S3'), protocol: 'TCP' as const, port: 443 };
    const a = policySelection(flows, { level: 'workload', edges: [edge], nodes: [] });
    assert.deepEqual(a.scope, { kind: 'all' });
    assert.equal(a.flows.length, 1);
    const b = policySelection(flows, { level: 'workload', edges: [edge], nodes: [ref('wl:StatefulSet/orders/orders-db')] });
    assert.deepEqual(b.scope, {
      kind: 'workloads',
      workloads: [
        { kind: 'StatefulSet', namespace: 'orders', name: 'orders-db' },
        { kind: 'Deployment', namespace: 'gallery', name: 'gallery' },
      ],
    });
    // gallery->S3, and orders->orders-db from both orders pods.
    assert.equal(b.flows.length, 3);
  });
});
