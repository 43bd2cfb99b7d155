/**
 * `npm run bench:flows` (part 1): enrichment throughput — flow records resolved against a cluster of
 * 5,000 pods in 100 namespaces with Services, EndpointSlices and Deployments — and .flows.jsonl parsing.
 * Deterministic: a seeded generator.
 */
import { buildCluster } from '../src/core/kube/cluster';
import type { ClusterObject } from '../src/core/kube/decode';
import { decodeEndpointSlice, decodeNamespace, decodeNode, decodePod, decodeService, decodeWorkload } from '../src/core/kube/decode';
import { FlowEnricher } from '../src/core/flows/enrich';
import { parseFlowsJsonl, type FlowRecord } from '../src/core/flows/flow-record';
import { parseAwsIpRanges } from '../src/core/flows/cloud-ranges';
import { must, timed, seeded } from './bench-support';

const { random, int } = seeded(7);

const NAMESPACES = 100;
const PODS_PER_NAMESPACE = 50;
const WORKLOADS_PER_NAMESPACE = 10;
const RECORDS = 200_000;
const ROUNDS = 5;



const podIp = (i: number) => `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
const serviceIp = (n: number, w: number) => `198.19.${128 + Math.floor((n * WORKLOADS_PER_NAMESPACE + w) / 250)}.${((n * WORKLOADS_PER_NAMESPACE + w) % 250) + 1}`;

const objects: ClusterObject[] = [];
for (let z = 0; z < 3; z++) {
  for (let k = 0; k < 10; k++) {
    objects.push({ kind: 'Node', value: must(decodeNode({ metadata: { name: `node-${z}-${k}`, labels: { 'topology.kubernetes.io/zone': `zone-${z}` } }, status: { addresses: [{ type: 'InternalIP', address: `198.19.${z}.${k + 1}` }] } })) });
  }
}
for (let n = 0; n < NAMESPACES; n++) {
  const ns = `ns-${n}`;
  objects.push({ kind: 'Namespace', value: must(decodeNamespace({ metadata: { name: ns } })) });
  for (let w = 0; w < WORKLOADS_PER_NAMESPACE; w++) {
    objects.push({ kind: 'Workload', value: must(decodeWorkload('Deployment', { metadata: { name: `app-${w}`, namespace: ns }, spec: { template: { metadata: { labels: { app: `app-${w}` } } } } })) });
    objects.push({ kind: 'Workload', value: must(decodeWorkload('ReplicaSet', { metadata: { name: `app-${w}-abc`, namespace: ns, ownerReferences: [{ kind: 'Deployment', name: `app-${w}`, controller: true }] } })) });
    objects.push({ kind: 'Service', value: must(decodeService({ metadata: { name: `app-${w}`, namespace: ns }, spec: { selector: { app: `app-${w}` }, clusterIP: serviceIp(n, w), ports: [{ name: 'http', port: 80, targetPort: 'http' }] } })) });
    const endpoints = [];
    for (let r = 0; r < PODS_PER_NAMESPACE / WORKLOADS_PER_NAMESPACE; r++) {
      const i = n * PODS_PER_NAMESPACE + w * (PODS_PER_NAMESPACE / WORKLOADS_PER_NAMESPACE) + r;
      objects.push({
        kind: 'Pod',
        value: must(
          decodePod({
            metadata: { name: `app-${w}-abc-${r}`, namespace: ns, labels: { app: `app-${w}`, 'pod-template-hash': 'abc' }, ownerReferences: [{ kind: 'ReplicaSet', name: `app-${w}-abc`, controller: true }] },
            spec: { nodeName: `node-${i % 3}-${i % 10}`, containers: [{ ports: [{ name: 'http', containerPort: 8080 }] }] },
            status: { phase: 'Running', podIP: podIp(i) },
          }),
        ),
      });
      endpoints.push({ addresses: [podIp(i)], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `app-${w}-abc-${r}`, namespace: ns } });
    }
    objects.push({ kind: 'EndpointSlice', value: must(decodeEndpointSlice({ metadata: { name: `app-${w}-x`, namespace: ns, labels: { 'kubernetes.io/service-name': `app-${w}` } }, addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints })) });
  }
}
const cluster = buildCluster(objects).cluster;
const ranges = parseAwsIpRanges(JSON.stringify({ prefixes: [{ ip_prefix: '203.0.113.0/28', service: 'S3' }, { ip_prefix: '203.0.113.0/24', service: 'AMAZON' }] }), 'ranges');
if (!ranges.ok) {
  throw new Error(ranges.error);
}

const totalPods = NAMESPACES * PODS_PER_NAMESPACE;
const records: FlowRecord[] = Array.from({ length: RECORDS }, (_, k) => {
  const client = podIp(int(totalPods));
  const roll = random();
  const n = int(NAMESPACES);
  const server =
    roll < 0.4 ? { ip: serviceIp(n, int(WORKLOADS_PER_NAMESPACE)), port: 80 } : roll < 0.8 ? { ip: podIp(int(totalPods)), port: 8080 } : roll < 0.9 ? { ip: `203.0.113.${int(16)}`, port: 443 } : { ip: `198.51.100.${int(250) + 1}`, port: 443 };
  const second = k % 60;
  return {
    v: 1,
    start: `2026-11-21T10:00:${String(second).padStart(2, '0')}Z`,
    end: `2026-11-21T10:00:${String(second).padStart(2, '0')}Z`,
    node: 'node-0-0',
    protocol: 'TCP',
    client: { ip: client },
    server,
    observedAt: k % 2 ? 'client' : 'server',
    bytesToServer: int(10000),
    bytesToClient: int(100000),
    packetsToServer: 10,
    packetsToClient: 20,
    connections: 1,
    retransmits: 0,
    rto: 0,
    rttUs: 300,
    resets: 0,
    failedConnections: 0,
  };
});


console.log(`cluster: ${cluster.pods.length} pods, ${cluster.services.length} Services, ${cluster.namespaces.size} namespaces; ${RECORDS.toLocaleString('en-US')} distinct records`);
const [enricher, buildMs] = timed(() => new FlowEnricher(cluster, { cloudRanges: ranges.ranges }));
console.log(`enricher index: ${buildMs.toFixed(0)} ms`);
records.forEach((r) => enricher.enrich(r)); // warm-up
const [checks, enrichMs] = timed(() => {
  let resolved = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of records) {
      if (enricher.enrich(r).server.workload) {
        resolved++;
      }
    }
  }
  return resolved;
});
const rate = (ROUNDS * RECORDS) / (enrichMs / 1000);
console.log(`enrichment: ${Math.round(rate).toLocaleString('en-US')} records/s (${((100 * checks) / (ROUNDS * RECORDS)).toFixed(1)}% with a server workload)`);
console.log(`target: >= 500,000 records/s: ${rate >= 500_000 ? 'met' : 'NOT met'}`);
const jsonl = records.map((r) => JSON.stringify(r)).join('\n');
const [parsed, parseMs] = timed(() => parseFlowsJsonl(jsonl, 'bench.flows.jsonl'));
console.log(`parsing .flows.jsonl (validated): ${Math.round(parsed.records.length / (parseMs / 1000)).toLocaleString('en-US')} records/s (${(jsonl.length / 1048576).toFixed(0)} MiB)`);
