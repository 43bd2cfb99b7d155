import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAwsIpRanges } from '../../../src/core/flows/cloud-ranges';
import { FlowEnricher } from '../../../src/core/flows/enrich';
import { clusterFromYaml } from '../fixtures';
import { cloudRangesFixture, FIXTURES, record } from './flow-fixtures';

suite('flow enrichment', () => {
  const cluster = clusterFromYaml(readFileSync(join(FIXTURES, 'flows', 'cluster.yaml'), 'utf8'), 'cluster.yaml');
  const enricher = new FlowEnricher(cluster, { cloudRanges: cloudRangesFixture() });

  test('pods resolve to their workload through the owner chain, with node and zone', () => {
    const f = enricher.enrich(record('198.18.1.10', '198.18.1.30', 5432));
    assert.deepEqual(f.client.workload, { kind: 'Deployment', namespace: 'shop', name: 'web' });
    assert.deepEqual([f.client.kind, f.client.node, f.client.zone], ['pod', 'node-a', 'zone-a']);
    assert.deepEqual(f.server.workload, { kind: 'StatefulSet', namespace: 'data', name: 'db' });
    assert.equal(f.portName, 'pg');
    assert.equal(f.category, 'intra-node');
  });

  test('without the ReplicaSet object, the Deployment is found from the pod-template-hash naming', () => {
    const f = enricher.enrich(record('198.18.2.20', '198.18.1.30', 5432));
    assert.deepEqual(f.client.workload, { kind: 'Deployment', namespace: 'shop', name: 'api' });
    assert.equal(f.category, 'inter-zone');
  });

  test('a ClusterIP maps to the Service, its backends and the targetPort (named), never the Service port', () => {
    const f = enricher.enrich(record('198.18.1.10', '198.19.128.20', 80));
    assert.deepEqual(f.server.service, { namespace: 'shop', name: 'api', port: 80 });
    assert.equal(f.port, 9090, 'the targetPort grpc, resolved through the EndpointSlice');
    assert.equal(f.portName, 'grpc');
    assert.deepEqual(f.server.pods.map((p) => p.name).sort(), ['api-7c9d-bbbbb', 'api-7c9d-ccccc']);
    assert.deepEqual(f.server.workload, { kind: 'Deployment', namespace: 'shop', name: 'api' });
    assert.equal(f.server.node, undefined, 'the backends are on two nodes');
    assert.equal(f.category, 'inter-zone', 'one backend is in another zone');
  });

  test('a single-backend Service resolves to that pod; no EndpointSlices: the selector decides', () => {
    const f = enricher.enrich(record('198.18.2.20', '198.19.128.30', 5432));
    assert.deepEqual(f.server.pods.map((p) => p.name), ['db-0']);
    assert.equal(f.server.node, 'node-a');
    assert.deepEqual(f.server.service, { namespace: 'data', name: 'db', port: 5432 });
  });

  test('a pod behind several Services: each ClusterIP maps to its own Service and port', () => {
    const grpc = enricher.enrich(record('198.18.1.10', '198.19.128.20', 80));
    const metrics = enricher.enrich(record('198.18.1.10', '198.19.128.21', 9100));
    assert.equal(grpc.server.service?.name, 'api');
    assert.equal(metrics.server.service?.name, 'api-metrics');
    assert.deepEqual([metrics.port, metrics.portName], [9100, 'metrics']);
  });

  test('a reused IP resolves to the pod that held it during the flow', () => {
    const early = enricher.enrich(record('198.18.1.40', '198.18.1.30', 5432, { start: '2026-11-21T09:01:00Z', end: '2026-11-21T09:01:05Z' }));
    const late = enricher.enrich(record('198.18.1.40', '198.18.1.30', 5432, { start: '2026-11-21T10:00:00Z', end: '2026-11-21T10:00:05Z' }));
    assert.deepEqual(early.client.workload, { kind: 'CronJob', namespace: 'data', name: 'report' });
    assert.deepEqual(late.client.workload, { kind: 'Deployment', namespace: 'shop', name: 'web' });
    const between = enricher.enrich(record('198.18.1.40', '198.18.1.30', 5432, { start: '2026-11-21T09:10:00Z', end: '2026-11-21T09:10:05Z' }));
    assert.equal(between.client.kind, 'external', 'nobody held the address then: it is not attributed to a pod');
  });

  test('node addresses are nodes; on the server side the host-network pod declaring the port is named', () => {
    const toExporter = enricher.enrich(record('198.18.1.10', '198.19.0.2', 9100));
    assert.equal(toExporter.server.kind, 'node');
    assert.equal(toExporter.server.node, 'node-b');
    assert.deepEqual(toExporter.server.workload, { kind: 'DaemonSet', namespace: 'monitoring', name: 'node-exporter' });
    assert.equal(toExporter.portName, 'metrics');
    const kubelet = enricher.enrich(record('198.18.1.10', '198.19.0.2', 10250));
    assert.deepEqual([kubelet.server.kind, kubelet.server.workload, kubelet.server.pods.length], ['node', undefined, 0]);
    const fromNode = enricher.enrich(record('198.19.0.3', '198.18.3.21', 9090));
    assert.deepEqual([fromNode.client.kind, fromNode.client.node, fromNode.category], ['node', 'node-c', 'intra-node']);
  });

  test('cloud services by ip-ranges.json (the most specific service, not AMAZON), everything else external', () => {
    const s3 = enricher.enrich(record('198.18.1.10', '203.0.113.10', 443));
    const ddb = enricher.enrich(record('198.18.1.10', '203.0.113.20', 443));
    const amazon = enricher.enrich(record('198.18.1.10', '203.0.113.200', 443));
    const internet = enricher.enrich(record('198.18.1.10', '198.51.100.10', 443));
    const inbound = enricher.enrich(record('198.51.100.99', '198.18.1.10', 8080, { observedAt: 'server' }));
    assert.deepEqual([s3.server.kind, s3.server.cloudService, s3.category], ['cloud-service', 'S3', 'cloud-service']);
    assert.equal(ddb.server.cloudService, 'DYNAMODB');
    assert.equal(amazon.server.cloudService, 'AMAZON');
    assert.deepEqual([internet.server.kind, internet.category], ['external', 'external']);
    assert.deepEqual([inbound.client.kind, inbound.category], ['external', 'external']);
  });
});

suite('cloud ranges', () => {
  test('IPv6 ranges and malformed files', () => {
    assert.equal(cloudRangesFixture().serviceOf('2001:db8:aaaa::5'), 'S3');
    assert.equal(cloudRangesFixture().serviceOf('2001:db8:bbbb::5'), undefined);
    const bad = (text: string) => {
      const r = parseAwsIpRanges(text, 'r.json');
      assert.ok(!r.ok);
      return r.error;
    };
    assert.match(bad('{'), /^r\.json: not JSON/);
    assert.match(bad('{"prefixes": 1}'), /^r\.json: not in the ip-ranges\.json format: prefixes: /);
    assert.equal(bad('{"prefixes": [{"ip_prefix": "10.0.0.1/8", "service": "S3"}]}'), 'r.json: prefixes[0]: "10.0.0.1/8" has host bits set after the prefix; the subnet is 10.0.0.0/8');
  });
});
