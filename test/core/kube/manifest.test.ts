import { strict as assert } from 'node:assert';
import { parseManifests } from '../../../src/core/kube/manifest';
import { buildCluster } from '../../../src/core/kube/cluster';
import type { Pod } from '../../../src/core/kube/objects';

const POD = `apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec:
  nodeName: node-1
  containers:
  - ports:
    - {name: serve-80-tcp, containerPort: 80}
    - {name: serve-80-udp, containerPort: 80, protocol: UDP}
  initContainers:
  - restartPolicy: Always
    ports: [{name: sidecar, containerPort: 15001}]
  - ports: [{name: init-only, containerPort: 9999}]
status:
  phase: Running
  podIPs: [{ip: 198.18.0.10}, {ip: "2001:db8::10"}]
`;

suite('manifest loading', () => {
  test('multi-document YAML with every kind FlowLens reads', () => {
    const text = [
      POD,
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {team: red}}',
      'apiVersion: v1\nkind: Node\nmetadata: {name: node-1, labels: {topology.kubernetes.io/zone: zone-a}}\nstatus: {addresses: [{type: InternalIP, address: 198.19.0.1}, {type: Hostname, address: node-1}]}',
      'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: x}\nspec: {selector: {app: a}, clusterIP: 198.19.10.1, ports: [{port: 8080, targetPort: serve-80-tcp}]}',
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-abc, namespace: x, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\nendpoints: [{addresses: [198.18.0.10], targetRef: {kind: Pod, name: a, namespace: x}}]\nports: [{port: 80, protocol: TCP}]',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: x}\nspec: {selector: {matchLabels: {app: a}}, template: {metadata: {labels: {app: a}}}}',
      'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly, namespace: x}\nspec: {jobTemplate: {spec: {template: {metadata: {labels: {job: nightly}}}}}}',
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\nspec: {podSelector: {}}',
      '', // an empty document is skipped
    ].join('\n---\n');
    const parsed = parseManifests(text, 'all.yaml');
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.objects.map((o) => o.kind), ['Pod', 'Namespace', 'Node', 'Service', 'EndpointSlice', 'Workload', 'Workload', 'NetworkPolicy']);
    const pod = parsed.objects[0].value as Pod;
    assert.deepEqual(pod.ips.map((i) => i.text), ['198.18.0.10', '2001:db8::10']);
    assert.deepEqual(pod.ports.map((p) => `${p.name}:${p.port}/${p.protocol}`), ['serve-80-tcp:80/TCP', 'serve-80-udp:80/UDP', 'sidecar:15001/TCP']);
    assert.deepEqual(pod.source, { file: 'all.yaml', line: 1 });
    const ns = parsed.objects[1].value as unknown as { labels: Map<string, string> };
    assert.equal(ns.labels.get('kubernetes.io/metadata.name'), 'x', 'the API server sets this label on every namespace');
    assert.equal(parsed.objects[7].value.source?.line, text.split('\n').indexOf('apiVersion: networking.k8s.io/v1') + 1);
  });

  test('kind: List, typed lists whose items omit kind, and JSON as kubectl writes it', () => {
    const list = parseManifests('apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: "y"}\n', 'l.yaml');
    assert.match(parseManifests('apiVersion: v1\nkind: Namespace\nmetadata: {name: y}\n', 'l.yaml').errors[0].message, /metadata\.name: expected string, received boolean \(YAML reads unquoted y, n, yes, no, on and off as booleans: quote the value\)/);
    assert.deepEqual(list.objects.map((o) => o.kind), ['Namespace']);
    const typed = parseManifests(JSON.stringify({ apiVersion: 'v1', kind: 'PodList', items: [{ metadata: { name: 'p', namespace: 'y' } }] }, null, '\t'), 'pods.json');
    assert.deepEqual(typed.errors, []);
    assert.deepEqual(typed.objects.map((o) => `${o.kind} ${o.value.name}`), ['Pod p']);
  });

  test('kinds FlowLens does not read are skipped with a note naming file and line', () => {
    const parsed = parseManifests(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: calico}\n',
      'mixed.yaml',
    );
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.notes.map((n) => `${n.line}: ${n.message}`), [
      '1: ignoring v1 ConfigMap c: FlowLens does not read this kind',
      '5: ignoring projectcalico.org/v3 NetworkPolicy calico: FlowLens does not read this kind (a projectcalico.org/v3 NetworkPolicy is not a Kubernetes networking.k8s.io/v1 NetworkPolicy)',
    ]);
  });

  test('malformed input: every error names the file, the line and the field', () => {
    const messages = (text: string) => parseManifests(text, 'bad.yaml').errors.map((e) => `${e.file}:${e.line}: ${e.message}`);
    assert.deepEqual(
      messages('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/33\n'),
      ['bad.yaml:8: NetworkPolicy x/p: spec.ingress[0].from[0].ipBlock.cidr: "10.0.0.0/33" is not a valid CIDR: prefix length must be 0 to 32'],
    );
    assert.match(messages('a: [1, 2\nb: 3\n')[0], /^bad\.yaml:\d: invalid YAML\/JSON: /);
    assert.deepEqual(messages('apiVersion: v1\nmetadata: {name: x}\n'), ['bad.yaml:1: missing "kind"']);
    assert.deepEqual(messages('kind: Pod\n'), ['bad.yaml:1: Pod: missing "apiVersion"']);
    assert.deepEqual(messages('- 1\n- 2\n'), ['bad.yaml:1: expected a Kubernetes object (a mapping with apiVersion and kind)']);
    assert.match(messages('apiVersion: v1\nkind: Pod\nkind: Pod\n')[0], /^bad\.yaml:3: invalid YAML\/JSON: Map keys must be unique/);
    assert.deepEqual(messages('apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    enabled: yes\n'), [
      'bad.yaml:6: Pod p: metadata.labels.enabled: label values must be strings (quote numbers and booleans)',
    ]);
    assert.deepEqual(messages('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIP: 999.1.1.1}\n'), ['bad.yaml:4: Pod p: status.podIP: "999.1.1.1" is not a valid IP address']);
    assert.deepEqual(messages('apiVersion: v1\nkind: List\nitems: 3\n'), ['bad.yaml:3: List.items must be a list']);
    assert.deepEqual(parseManifests('', 'empty.yaml'), { objects: [], notes: [], errors: [] });
  });

  test('a billion-laughs alias bomb is refused, not expanded', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
    const parsed = parseManifests(bomb, 'bomb.yaml');
    assert.equal(parsed.objects.length, 0);
    assert.match(parsed.errors[0].message, /invalid YAML: .*alias/i);
  });

  test('cluster: duplicates are errors; namespaces used but not defined are assumed with a note', () => {
    const parsed = parseManifests(`${POD}---\n${POD}`, 'dup.yaml');
    const built = buildCluster(parsed.objects);
    assert.deepEqual(built.errors, [`Pod x/a is defined twice (dup.yaml:1 and dup.yaml:${POD.split('\n').length + 1})`]);
    const single = buildCluster(parseManifests(POD, 'p.yaml').objects);
    assert.deepEqual(single.notes, ['namespace(s) x are used but not defined in the input; assuming they carry only the kubernetes.io/metadata.name label']);
    assert.equal(single.cluster.namespaces.get('x')?.labels.get('kubernetes.io/metadata.name'), 'x');
  });
});
