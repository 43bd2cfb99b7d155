import { strict as assert } from 'node:assert';
import type { EnrichedFlow } from '../../../src/core/flows/enriched-flow';
import type { Cluster } from '../../../src/core/kube/cluster';
import {
  CODE_BLOCKS_OBSERVED_FLOW,
  CODE_DUPLICATE_POLICY,
  CODE_INVALID_POLICY,
  CODE_MISSING_DNS_EGRESS,
  CODE_PEER_MATCHES_NOTHING,
  CODE_SELECTS_NO_POD,
  CODE_UNUSED_RULE,
  CODE_YAML_SYNTAX,
  diagnosePolicyDocument,
  hoverAt,
  md,
  type PolicyDiagnostic,
} from '../../../src/core/policy/policy-diagnostics';
import { parsePolicyDocument, type TextEdit } from '../../../src/core/policy/policy-document';
import { whatIf } from '../../../src/core/policy/what-if';
import { clusterFromYaml, policiesFromYaml } from '../fixtures';
import { FlowBuilder } from './flow-builder';

const CLUSTER = `
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: demo, labels: {kubernetes.io/metadata.name: demo, team: web}}}
- {apiVersion: v1, kind: Namespace, metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop, team: pay}}}
- {apiVersion: v1, kind: Namespace, metadata: {name: kube-system, labels: {kubernetes.io/metadata.name: kube-system}}}
- {apiVersion: v1, kind: Namespace, metadata: {name: empty, labels: {kubernetes.io/metadata.name: empty, team: none}}}
- {apiVersion: v1, kind: Node, metadata: {name: node-a}, status: {addresses: [{type: InternalIP, address: 198.19.0.1}]}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: ui, namespace: demo}
  spec: {selector: {matchLabels: {app: ui}}, template: {metadata: {labels: {app: ui}}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: ui-aa-1, namespace: demo, labels: {app: ui, pod-template-hash: aa}, ownerReferences: [{kind: ReplicaSet, name: ui-aa, controller: true}]}
  spec: {nodeName: node-a}
  status: {phase: Running, podIP: 198.18.0.10}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: catalog, namespace: demo}
  spec: {selector: {matchLabels: {app: catalog}}, template: {metadata: {labels: {app: catalog}}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: catalog-bb-1, namespace: demo, labels: {app: catalog, pod-template-hash: bb}, ownerReferences: [{kind: ReplicaSet, name: catalog-bb, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: http, containerPort: 8080}]}]}
  status: {phase: Running, podIP: 198.18.0.20}
- apiVersion: v1
  kind: Pod
  metadata: {name: catalog-bb-2, namespace: demo, labels: {app: catalog, track: canary, pod-template-hash: bb}, ownerReferences: [{kind: ReplicaSet, name: catalog-bb, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: http, containerPort: 8080}]}]}
  status: {phase: Running, podIP: 198.18.0.21}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: orders, namespace: demo}
  spec: {selector: {matchLabels: {app: orders}}, template: {metadata: {labels: {app: orders}}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: orders-cc-1, namespace: demo, labels: {app: orders, pod-template-hash: cc}, ownerReferences: [{kind: ReplicaSet, name: orders-cc, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: grpc, containerPort: 9090}]}]}
  status: {phase: Running, podIP: 198.18.0.30}
- apiVersion: v1
  kind: Pod
  metadata: {name: report-1, namespace: demo, labels: {app: report}}
  spec: {nodeName: node-a}
  status: {phase: Succeeded, podIP: 198.18.0.40}
- apiVersion: apps/v1
  kind: StatefulSet
  metadata: {name: db, namespace: shop}
  spec: {selector: {matchLabels: {app: db}}, template: {metadata: {labels: {app: db}}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: db-0, namespace: shop, labels: {app: db, controller-revision-hash: db-1}, ownerReferences: [{kind: StatefulSet, name: db, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{containerPort: 5432}]}]}
  status: {phase: Running, podIP: 198.18.1.10}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: coredns, namespace: kube-system}
  spec: {selector: {matchLabels: {k8s-app: kube-dns}}, template: {metadata: {labels: {k8s-app: kube-dns}}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: coredns-ee-1, namespace: kube-system, labels: {k8s-app: kube-dns, pod-template-hash: ee}, ownerReferences: [{kind: ReplicaSet, name: coredns-ee, controller: true}]}
  spec: {nodeName: node-a, containers: [{ports: [{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53}]}]}
  status: {phase: Running, podIP: 198.18.2.2}
- apiVersion: v1
  kind: Service
  metadata: {name: kube-dns, namespace: kube-system}
  spec: {selector: {k8s-app: kube-dns}, clusterIP: 198.19.128.10, ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53}]}
`;

const WINDOW = 'the last 15m of live flows';

/** Applies non-overlapping edits of the original text, as an editor does. */
function applyEdits(text: string, edits: readonly TextEdit[]): string {
  let out = text;
  for (const e of [...edits].sort((x, y) => y.start - x.start)) {
    out = out.slice(0, e.start) + e.newText + out.slice(e.end);
  }
  return out;
}
const cluster = clusterFromYaml(CLUSTER);
const b = new FlowBuilder(cluster);
const CATALOG_SERVICE = { namespace: 'demo', name: 'catalog', port: 80, ip: '198.19.128.20' };

const uiToCatalog = [
  b.flow({ client: 'demo/ui-aa-1', server: 'demo/catalog-bb-1', port: 8080, connections: 6, bytes: 1741 }),
  b.flow({ client: 'demo/ui-aa-1', server: 'demo/catalog-bb-1', port: 8080, connections: 6, bytes: 1741, start: '2026-11-21T10:00:05Z', end: '2026-11-21T10:00:10Z' }),
];
const ordersToCatalog = b.flow({ client: 'demo/orders-cc-1', server: 'demo/catalog-bb-1', port: 8080 });
// Attempts: nothing ever answered.
const dbToCatalogAttempt = b.flow({ client: 'shop/db-0', server: 'demo/catalog-bb-1', port: 8080, connections: 0, failed: 3, bytes: 0 });
const uiToDb = b.flow({ client: 'demo/ui-aa-1', server: 'shop/db-0', port: 5432, connections: 2, bytes: 300 });
const uiToExternal = b.flow({ client: 'demo/ui-aa-1', server: { ip: '203.0.113.5', kind: 'external' }, port: 443, connections: 1, bytes: 5000 });
const uiDns = b.flow({ client: 'demo/ui-aa-1', server: 'kube-system/coredns-ee-1', port: 53, protocol: 'UDP', connections: 0, bytes: 200 });
const uiToCatalogService = b.flow({ client: 'demo/ui-aa-1', server: ['demo/catalog-bb-1', 'demo/catalog-bb-2'], service: CATALOG_SERVICE, port: 8080, connections: 4, bytes: 2048 });

const HEADER = (name: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: demo\nspec:\n`;

/** The catalog accepts orders only: the UI's traffic is newly denied. */
const CATALOG_FROM_ORDERS = `${HEADER('catalog-ingress')}  podSelector:
    matchLabels:
      app: catalog
  policyTypes:
  - Ingress
  ingress:
  # orders only
  - from:
    - podSelector:
        matchLabels:
          app: orders
    ports:
    - port: 8080
`;

/** The UI may only resolve names. */
const UI_DNS_ONLY = `${HEADER('ui-egress')}  podSelector:
    matchLabels:
      app: ui
  policyTypes:
  - Egress
  egress:
  - to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
    ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
`;

function diagnose(text: string, flows: readonly EnrichedFlow[] = [], c: Cluster = cluster): PolicyDiagnostic[] {
  return diagnosePolicyDocument(parsePolicyDocument(text), { cluster: c, flows, windowLabel: WINDOW });
}

/** The diagnostics of a code as [covered text, message]. */
function shown(text: string, diagnostics: readonly PolicyDiagnostic[], code: string): [string, string][] {
  return diagnostics.filter((d) => d.code === code).map((d) => [text.slice(d.start, d.end), d.message]);
}

/** Applies the only fix of the only diagnostic of `code` (checking its title), and checks the result parses and decodes. */
function fixed(text: string, diagnostics: readonly PolicyDiagnostic[], code: string, title: string, index = 0): string {
  const d = diagnostics.filter((x) => x.code === code)[index];
  assert.ok(d, `a ${code} diagnostic`);
  assert.equal(d.fixes?.length, 1);
  const fix = d.fixes![0];
  assert.equal(fix.title, title);
  for (let i = 1; i < fix.edits.length; i++) {
    assert.ok(fix.edits[i - 1].end <= fix.edits[i].start, 'sorted, non-overlapping edits');
  }
  const out = applyEdits(text, fix.edits);
  const doc = parsePolicyDocument(out);
  assert.deepEqual(doc.errors, [], out);
  assert.ok(doc.policies.every((p) => p.policy), out);
  return out;
}

/** The groups whatIf reports newly denied for the policies of a text. */
function newlyDenied(text: string, flows: readonly EnrichedFlow[], c: Cluster = cluster): string[] {
  const candidates = parsePolicyDocument(text).policies.map((p) => p.policy!);
  return whatIf({ cluster: c, flows, candidates }).newlyDenied.map((g) => `${g.client.label} -> ${g.server.label}:${g.port}`);
}

suite('policy diagnostics: without a cluster', () => {
  test('only the YAML and validation errors, as errors', () => {
    const text = `${CATALOG_FROM_ORDERS}  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/33}}]\n---\nkind: NetworkPolicy\nmetadata: {name: [x}\n`;
    const diagnostics = diagnosePolicyDocument(parsePolicyDocument(text));
    assert.deepEqual(
      diagnostics.map((d) => [d.severity, d.code, text.slice(d.start, d.end), d.message]),
      [
        ['error', CODE_INVALID_POLICY, 'cidr: 10.0.0.0/33', 'spec.egress[0].to[0].ipBlock.cidr: "10.0.0.0/33" is not a valid CIDR: prefix length must be 0 to 32'],
        ...diagnostics.slice(1).map((d) => ['error', CODE_YAML_SYNTAX, text.slice(d.start, d.end), d.message]),
      ],
    );
    assert.ok(diagnostics.length > 1);
    assert.deepEqual(diagnosePolicyDocument(parsePolicyDocument(CATALOG_FROM_ORDERS)), []);
  });

  test('a Deployment, or text that is not YAML, produces nothing, with or without a cluster', () => {
    const text = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ui, namespace: demo}\nspec: {selector: {matchLabels: {app: ui}}}\n';
    assert.deepEqual(diagnosePolicyDocument(parsePolicyDocument(text)), []);
    assert.deepEqual(diagnose(text, [...uiToCatalog]), []);
    // Nor does text that is not YAML, or YAML that is not Kubernetes objects: the extension shows nothing for them.
    assert.deepEqual(diagnosePolicyDocument(parsePolicyDocument('{{{ not: [yaml')), []);
    assert.deepEqual(diagnosePolicyDocument(parsePolicyDocument('Just prose.')), []);
  });

  test('a policy defined twice: the earlier one is said to be replaced', () => {
    const text = `${CATALOG_FROM_ORDERS}---\n${CATALOG_FROM_ORDERS}`;
    const diagnostics = diagnosePolicyDocument(parsePolicyDocument(text));
    assert.deepEqual(shown(text, diagnostics, CODE_DUPLICATE_POLICY), [['catalog-ingress', 'NetworkPolicy demo/catalog-ingress is defined again further down: applying this file keeps only the last definition']]);
    assert.equal(diagnostics[0].start, text.indexOf('catalog-ingress'));
  });
});

suite('policy diagnostics: selectors that match nothing', () => {
  test('the policy\'s podSelector, and in a namespace the cluster lacks', () => {
    const text = CATALOG_FROM_ORDERS.replace('app: catalog', 'app: catalogue');
    assert.deepEqual(shown(text, diagnose(text), CODE_SELECTS_NO_POD), [['podSelector:\n    matchLabels:\n      app: catalogue', 'podSelector app=catalogue matches no pod in namespace demo: this policy applies to nothing']]);
    const elsewhere = CATALOG_FROM_ORDERS.replace('namespace: demo', 'namespace: staging');
    const d = diagnose(elsewhere);
    assert.deepEqual(shown(elsewhere, d, CODE_SELECTS_NO_POD), [['podSelector:\n    matchLabels:\n      app: catalog', 'podSelector app=catalog matches no pod in namespace staging (not in the cluster): this policy applies to nothing']]);
    // Finished pods do not count.
    const finished = CATALOG_FROM_ORDERS.replace('app: catalog', 'app: report');
    assert.equal(shown(finished, diagnose(finished), CODE_SELECTS_NO_POD).length, 1);
  });

  test('peers: podSelector, namespaceSelector, and both', () => {
    const text = `${HEADER('peers')}  podSelector: {}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: ghost}}
    - namespaceSelector: {matchLabels: {team: nobody}}
    - namespaceSelector: {matchLabels: {team: pay}}
      podSelector: {matchLabels: {app: ui}}
    - namespaceSelector: {matchLabels: {team: none}}
    - namespaceSelector: {matchLabels: {team: pay}}
      podSelector: {matchLabels: {app: db}}
    - podSelector: {matchLabels: {app: orders}}
`;
    assert.deepEqual(shown(text, diagnose(text), CODE_PEER_MATCHES_NOTHING), [
      ['podSelector: {matchLabels: {app: ghost}}', 'podSelector app=ghost matches no pod in namespace demo'],
      ['namespaceSelector: {matchLabels: {team: nobody}}', 'namespaceSelector team=nobody matches no namespace'],
      ['podSelector: {matchLabels: {app: ui}}', 'podSelector app=ui matches no pod in namespace shop (the namespaces of namespaceSelector team=pay)'],
      ['namespaceSelector: {matchLabels: {team: none}}', 'namespaceSelector team=none matches only namespace empty, without pods'],
    ]);
  });
});

suite('policy diagnostics: observed flows the document would block', () => {
  const flows = [...uiToCatalog, ordersToCatalog, dbToCatalogAttempt];

  test('an ingress rule list that leaves out a working client: a warning on it, counted and named; attempts are not warnings', () => {
    const d = diagnose(CATALOG_FROM_ORDERS, flows);
    assert.deepEqual(shown(CATALOG_FROM_ORDERS, d, CODE_BLOCKS_OBSERVED_FLOW), [
      ['ingress', 'Blocks observed traffic: Deployment demo/ui → Deployment demo/catalog TCP 8080 (12 connections, 3.4 KiB in the last 15m of live flows)'],
    ]);
    assert.equal(d.find((x) => x.code === CODE_BLOCKS_OBSERVED_FLOW)!.severity, 'warning');
    assert.deepEqual(d.map((x) => x.code), [CODE_BLOCKS_OBSERVED_FLOW]);
  });

  test('"Allow": a rule for exactly that peer and port, appended in the text\'s style; the warning is gone and what-if agrees', () => {
    const out = fixed(CATALOG_FROM_ORDERS, diagnose(CATALOG_FROM_ORDERS, flows), CODE_BLOCKS_OBSERVED_FLOW, 'Allow Deployment demo/ui → Deployment demo/catalog TCP 8080');
    assert.equal(
      out,
      `${CATALOG_FROM_ORDERS}  - from:
    - podSelector:
        matchLabels:
          app: ui
    ports:
    - protocol: TCP
      port: http
`,
    );
    assert.deepEqual(diagnose(out, flows), []);
    assert.deepEqual(newlyDenied(out, flows), []);
  });

  test('"Allow" where the rule list is missing, is [], or is null', () => {
    const variants: [string, string][] = [
      ['missing', CATALOG_FROM_ORDERS.replace(/ {2}ingress:[\s\S]*$/, '')],
      ['[]', CATALOG_FROM_ORDERS.replace(/ {2}ingress:[\s\S]*$/, '  ingress: []\n')],
      ['null', CATALOG_FROM_ORDERS.replace(/ {2}ingress:[\s\S]*$/, '  ingress:\n')],
    ];
    for (const [what, text] of variants) {
      const d = diagnose(text, uiToCatalog);
      // Without the key, the warning is on the podSelector.
      assert.deepEqual(shown(text, d, CODE_BLOCKS_OBSERVED_FLOW).map(([t]) => t), [what === 'missing' ? 'podSelector' : 'ingress'], what);
      const out = fixed(text, d, CODE_BLOCKS_OBSERVED_FLOW, 'Allow Deployment demo/ui → Deployment demo/catalog TCP 8080');
      assert.ok(out.endsWith('  - Ingress\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          app: ui\n    ports:\n    - protocol: TCP\n      port: http\n'), `${what}: ${out}`);
      assert.deepEqual(diagnose(out, uiToCatalog), [], what);
      assert.deepEqual(newlyDenied(out, uiToCatalog), [], what);
    }
  });

  test('egress: to a pod of the namespace (by its named port), of another namespace, and outside the cluster', () => {
    const egressFlows = [...uiToCatalog, uiToDb, uiToExternal];
    const d = diagnose(UI_DNS_ONLY, egressFlows);
    assert.deepEqual(shown(UI_DNS_ONLY, d, CODE_BLOCKS_OBSERVED_FLOW), [
      ['egress', 'Blocks observed traffic: Deployment demo/ui → 203.0.113.5 TCP 443 (1 connection, 4.9 KiB in the last 15m of live flows)'],
      ['egress', 'Blocks observed traffic: Deployment demo/ui → Deployment demo/catalog TCP 8080 (12 connections, 3.4 KiB in the last 15m of live flows)'],
      ['egress', 'Blocks observed traffic: Deployment demo/ui → StatefulSet shop/db TCP 5432 (2 connections, 300 B in the last 15m of live flows)'],
    ]);
    const added = [
      '  - to:\n    - ipBlock:\n        cidr: 203.0.113.5/32\n    ports:\n    - protocol: TCP\n      port: 443\n',
      '  - to:\n    - podSelector:\n        matchLabels:\n          app: catalog\n    ports:\n    - protocol: TCP\n      port: http\n',
      '  - to:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: shop\n      podSelector:\n        matchLabels:\n          app: db\n    ports:\n    - protocol: TCP\n      port: 5432\n',
    ];
    const titles = ['Allow Deployment demo/ui → 203.0.113.5 TCP 443', 'Allow Deployment demo/ui → Deployment demo/catalog TCP 8080', 'Allow Deployment demo/ui → StatefulSet shop/db TCP 5432'];
    const groups = ['Deployment demo/ui -> 203.0.113.5:443', 'Deployment demo/ui -> Deployment demo/catalog:8080', 'Deployment demo/ui -> StatefulSet shop/db:5432'];
    assert.deepEqual(newlyDenied(UI_DNS_ONLY, egressFlows), groups);
    titles.forEach((title, i) => {
      const out = fixed(UI_DNS_ONLY, d, CODE_BLOCKS_OBSERVED_FLOW, title, i);
      assert.equal(out, UI_DNS_ONLY + added[i]);
      // That warning gone, the others still there; what-if agrees.
      assert.deepEqual(
        shown(out, diagnose(out, egressFlows), CODE_BLOCKS_OBSERVED_FLOW).map(([, m]) => m),
        shown(UI_DNS_ONLY, d, CODE_BLOCKS_OBSERVED_FLOW).map(([, m]) => m).filter((_, j) => j !== i),
      );
      assert.deepEqual(newlyDenied(out, egressFlows), groups.filter((_, j) => j !== i));
    });
  });

  test('both ends denied by policies of the document: one warning, on the server\'s policy, and a fix adding both rules', () => {
    const text = `${CATALOG_FROM_ORDERS}---\n${UI_DNS_ONLY}`;
    const flows = [...uiToCatalog, ordersToCatalog];
    const d = diagnose(text, flows);
    assert.deepEqual(shown(text, d, CODE_BLOCKS_OBSERVED_FLOW), [
      ['ingress', 'Blocks observed traffic: Deployment demo/ui → Deployment demo/catalog TCP 8080 (12 connections, 3.4 KiB in the last 15m of live flows)'],
    ]);
    assert.equal(d[0].start, text.indexOf('ingress:'));
    const out = fixed(text, d, CODE_BLOCKS_OBSERVED_FLOW, 'Allow Deployment demo/ui → Deployment demo/catalog TCP 8080');
    assert.equal(d[0].fixes![0].edits.length, 2);
    assert.deepEqual(diagnose(out, flows), []);
    assert.deepEqual(newlyDenied(out, flows), []);
  });

  test('a Service with several backends, of which the document denies one', () => {
    const text = `${HEADER('canary')}  podSelector: {matchLabels: {track: canary}}\n  ingress: []\n`;
    const d = diagnose(text, [uiToCatalogService]);
    assert.deepEqual(shown(text, d, CODE_BLOCKS_OBSERVED_FLOW), [
      ['ingress', 'Blocks observed traffic: Deployment demo/ui → Deployment demo/catalog TCP 8080 (4 connections, 2.0 KiB in the last 15m of live flows; 1 of its 2 backends: demo/catalog-bb-2)'],
    ]);
    const out = fixed(text, d, CODE_BLOCKS_OBSERVED_FLOW, 'Allow Deployment demo/ui → Deployment demo/catalog TCP 8080');
    assert.equal(out, `${HEADER('canary')}  podSelector: {matchLabels: {track: canary}}\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          app: ui\n    ports:\n    - protocol: TCP\n      port: http\n`);
    assert.deepEqual(diagnose(out, [uiToCatalogService]), []);
  });

  test('editing a policy in force: the same policy says nothing, a narrower one warns about what it takes away', () => {
    const inForce = policiesFromYaml(CATALOG_FROM_ORDERS.replace('          app: orders\n', '          app: orders\n    - podSelector:\n        matchLabels:\n          app: ui\n'));
    const withPolicy: Cluster = { ...cluster, policies: inForce };
    const same = CATALOG_FROM_ORDERS.replace('          app: orders\n', '          app: orders\n    - podSelector:\n        matchLabels:\n          app: ui\n');
    assert.deepEqual(diagnose(same, flows, withPolicy), []);
    assert.deepEqual(shown(CATALOG_FROM_ORDERS, diagnose(CATALOG_FROM_ORDERS, flows, withPolicy), CODE_BLOCKS_OBSERVED_FLOW).map(([, m]) => m), [
      'Blocks observed traffic: Deployment demo/ui → Deployment demo/catalog TCP 8080 (12 connections, 3.4 KiB in the last 15m of live flows)',
    ]);
    // Traffic the policies in force already deny is not the document's doing.
    const denyAll: Cluster = { ...cluster, policies: policiesFromYaml(`${HEADER('deny-all')}  podSelector: {}\n  policyTypes: [Ingress]\n`) };
    assert.deepEqual(shown(CATALOG_FROM_ORDERS, diagnose(CATALOG_FROM_ORDERS, flows, denyAll), CODE_BLOCKS_OBSERVED_FLOW), []);
  });

  test('only flows of the window count', () => {
    const d = diagnosePolicyDocument(parsePolicyDocument(CATALOG_FROM_ORDERS), {
      cluster,
      flows,
      windowLabel: WINDOW,
      window: { fromMs: Date.parse('2026-11-21T11:00:00Z') },
    });
    assert.deepEqual(d, []);
  });
});

suite('policy diagnostics: unused rules', () => {
  const text = `${CATALOG_FROM_ORDERS}  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: shop
      podSelector:
        matchLabels:
          app: db
    ports:
    - port: 8080
  # the UI
  - from:
    - podSelector:
        matchLabels:
          app: ui
`;
  const flows = [...uiToCatalog, ordersToCatalog];

  test('an information at the rule, with a fix removing its lines', () => {
    const d = diagnose(text, flows);
    assert.deepEqual(
      d.map((x) => [x.severity, x.code, text.slice(x.start, x.end), x.message]),
      [
        [
          'information',
          CODE_UNUSED_RULE,
          'from:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: shop\n      podSelector:\n        matchLabels:\n          app: db\n    ports:\n    - port: 8080',
          'No observed flow uses ingress[1] (from pods app=db in namespace shop; on 8080/TCP) in the last 15m of live flows',
        ],
      ],
    );
    const out = fixed(text, d, CODE_UNUSED_RULE, 'Remove unused rule');
    assert.equal(out, text.replace('  - from:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: shop\n      podSelector:\n        matchLabels:\n          app: db\n    ports:\n    - port: 8080\n', ''));
    assert.deepEqual(diagnose(out, flows), []);
    assert.deepEqual(newlyDenied(out, flows), []);
  });

  test('no flow in the window: no rule is called unused', () => {
    assert.deepEqual(diagnose(text, []), []);
  });

  test('the last egress rule of a policy without policyTypes: removing it states the types, so egress stays isolated', () => {
    const egress = `${HEADER('ui')}  podSelector:\n    matchLabels:\n      app: ui\n  egress:\n  - to:\n    - podSelector: {matchLabels: {app: orders}}\n`;
    const d = diagnose(egress, uiToCatalog);
    assert.deepEqual(shown(egress, d, CODE_UNUSED_RULE), [['to:\n    - podSelector: {matchLabels: {app: orders}}', 'No observed flow uses egress[0] (to pods app=orders in namespace demo; on every port) in the last 15m of live flows']]);
    const out = fixed(egress, d, CODE_UNUSED_RULE, 'Remove unused rule');
    assert.equal(out, `${HEADER('ui')}  podSelector:\n    matchLabels:\n      app: ui\n  policyTypes:\n  - Ingress\n  - Egress\n  egress: []\n`);
    const policy = parsePolicyDocument(out).policies[0].policy!;
    assert.deepEqual(policy.isolates, { ingress: true, egress: true });
  });

  test('an unused DNS rule is not reported', () => {
    assert.deepEqual(shown(UI_DNS_ONLY, diagnose(UI_DNS_ONLY, [ordersToCatalog]), CODE_UNUSED_RULE), []);
  });
});

suite('policy diagnostics: DNS', () => {
  const noDns = `${HEADER('ui-egress')}  podSelector:
    matchLabels:
      app: ui
  policyTypes:
  - Egress
  egress:
  - to:
    - podSelector:
        matchLabels:
          app: catalog
`;

  test('egress isolation without DNS: a warning, with a fix adding DNS to the cluster DNS on UDP and TCP 53', () => {
    const d = diagnose(noDns, uiToCatalog);
    assert.deepEqual(shown(noDns, d, CODE_MISSING_DNS_EGRESS), [
      ['egress', 'No DNS: this policy isolates egress of 1 pod (Deployment demo/ui) and no rule allows DNS to the cluster DNS (kube-system pods k8s-app=kube-dns, UDP 53), so name lookups will fail'],
    ]);
    const out = fixed(noDns, d, CODE_MISSING_DNS_EGRESS, 'Add DNS egress rule');
    assert.equal(
      out,
      `${noDns}  - to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
    ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
`,
    );
    assert.deepEqual(diagnose(out, uiToCatalog), []);
  });

  test('observed DNS traffic it would block is told in the DNS warning, not apart', () => {
    const d = diagnose(noDns, [...uiToCatalog, uiDns]);
    assert.deepEqual(d.map((x) => [noDns.slice(x.start, x.end), x.code, x.message]), [
      [
        'egress',
        CODE_MISSING_DNS_EGRESS,
        'No DNS: this policy isolates egress of 1 pod (Deployment demo/ui) and no rule allows DNS to the cluster DNS (kube-system pods k8s-app=kube-dns, UDP 53), so name lookups will fail; it blocks observed DNS traffic (1 flow record, 200 B in the last 15m of live flows)',
      ],
    ]);
    const out = fixed(noDns, d, CODE_MISSING_DNS_EGRESS, 'Add DNS egress rule');
    assert.deepEqual(newlyDenied(out, [...uiToCatalog, uiDns]), []);
  });

  test('DNS allowed by another policy (in force, or of the document): no warning', () => {
    const allowDns = UI_DNS_ONLY.replace('name: ui-egress', 'name: allow-dns').replace('app: ui', 'app: nothing-here').replace('    matchLabels:\n      app: nothing-here', '    {}');
    assert.ok(allowDns.includes('podSelector:\n    {}'), allowDns);
    assert.deepEqual(shown(noDns, diagnose(noDns, uiToCatalog, { ...cluster, policies: policiesFromYaml(allowDns) }), CODE_MISSING_DNS_EGRESS), []);
    const both = `${noDns}---\n${allowDns}`;
    assert.deepEqual(shown(both, diagnose(both, uiToCatalog), CODE_MISSING_DNS_EGRESS), []);
  });

  test('a default-deny egress (no rules at all): the fix adds the egress list', () => {
    const deny = `${HEADER('deny-egress')}  podSelector: {}\n  policyTypes: [Egress]\n`;
    const d = diagnose(deny);
    assert.deepEqual(shown(deny, d, CODE_MISSING_DNS_EGRESS), [
      [
        'podSelector',
        'No DNS: this policy isolates egress of 4 pods (Deployment demo/catalog, Deployment demo/orders, Deployment demo/ui) and no rule allows DNS to the cluster DNS (kube-system pods k8s-app=kube-dns, UDP 53), so name lookups will fail',
      ],
    ]);
    const out = fixed(deny, d, CODE_MISSING_DNS_EGRESS, 'Add DNS egress rule');
    assert.ok(out.startsWith(`${deny}  egress:\n  - to:\n    - namespaceSelector:`), out);
    assert.deepEqual(diagnose(out), []);
  });

  test('CRLF text: the fixes keep CRLF and valid YAML', () => {
    const crlf = noDns.replace(/\n/g, '\r\n');
    const out = fixed(crlf, diagnose(crlf, uiToCatalog), CODE_MISSING_DNS_EGRESS, 'Add DNS egress rule');
    assert.ok(!/[^\r]\n/.test(out));
    assert.deepEqual(diagnose(out, uiToCatalog), []);
  });
});

suite('policy diagnostics: hover', () => {
  const text = `${HEADER('hover')}  podSelector:
    matchLabels:
      app: catalog
  ingress:
  - from:
    - podSelector: {matchLabels: {app: ui}}
    - namespaceSelector: {matchLabels: {team: pay}}
      podSelector: {}
    - namespaceSelector: {matchLabels: {team: nobody}}
    - ipBlock: {cidr: 10.0.0.0/8}
`;
  const doc = parsePolicyDocument(text);
  const at = (needle: string, delta = 1) => hoverAt(doc, text.indexOf(needle) + delta, cluster);

  test('the policy\'s podSelector: the pods it applies to', () => {
    assert.equal(at('app: catalog'), '**podSelector** app=catalog: this policy applies to 2 pods in namespace demo:\n\n- catalog\\-bb\\-1\n- catalog\\-bb\\-2');
    assert.equal(at('podSelector:\n    matchLabels', 0), at('app: catalog'));
  });

  test('a peer: the pods it allows; its namespaceSelector: the namespaces', () => {
    assert.equal(at('{app: ui}'), '**Peer** podSelector app=ui matches 1 pod in namespace demo:\n\n- ui\\-aa\\-1');
    assert.equal(at('- podSelector: {matchLabels: {app: ui}}', 0), at('{app: ui}'));
    assert.equal(at('{team: pay}'), '**namespaceSelector** team=pay matches 1 namespace:\n\n- shop\n\nThe peer (podSelector \\{\\} \\(everything\\) within namespaceSelector team=pay) matches 1 pod in namespace shop:\n\n- db\\-0');
    assert.equal(at('podSelector: {}\n'), '**Peer** podSelector \\{\\} \\(everything\\) within namespaceSelector team=pay matches 1 pod in namespace shop:\n\n- db\\-0');
    assert.equal(at('{team: nobody}'), '**namespaceSelector** team=nobody matches no namespace\n\nThe peer (namespaceSelector team=nobody) matches no pod in any namespace');
  });

  test('elsewhere, on ipBlocks, on invalid policies: nothing', () => {
    assert.equal(at('10.0.0.0/8'), undefined);
    assert.equal(at('name: hover'), undefined);
    assert.equal(hoverAt(doc, 0, cluster), undefined);
    const invalid = parsePolicyDocument(text.replace('app: catalog', 'app: "-bad-"'));
    assert.equal(hoverAt(invalid, text.indexOf('app: ui'), cluster), undefined);
  });

  test('at most 20 pods listed, then how many more; names from the cluster are escaped', () => {
    const many = clusterFromYaml(
      `apiVersion: v1\nkind: List\nitems:\n${Array.from({ length: 25 }, (_, i) => `- {apiVersion: v1, kind: Pod, metadata: {name: w${String(i).padStart(2, '0')}.x, namespace: demo, labels: {app: catalog}}, status: {phase: Running, podIP: 198.18.3.${i + 1}}}`).join('\n')}\n`,
    );
    const hover = hoverAt(doc, text.indexOf('app: catalog') + 1, many)!;
    const lines = hover.split('\n');
    assert.equal(lines[0], '**podSelector** app=catalog: this policy applies to 25 pods in namespace demo:');
    assert.deepEqual(lines.slice(2, 4), ['- w00\\.x', '- w01\\.x']);
    assert.equal(lines.length, 2 + 21);
    assert.equal(lines[lines.length - 1], '- and 5 more');
    assert.equal(md('<img src=x onerror=alert(1)> [a](javascript:x) *b* `c`\n# d'), '\\<img src=x onerror=alert\\(1\\)\\> \\[a\\]\\(javascript:x\\) \\*b\\* \\`c\\` \\# d');
  });
});

suite('policy diagnostics: a large document', () => {
  test('40 policies (1,000 lines) with flows: diagnosed quickly, fixes on the last one still right', () => {
    const policies = Array.from({ length: 40 }, (_, i) => CATALOG_FROM_ORDERS.replace('name: catalog-ingress', `name: catalog-${i}`).replace('  # orders only\n', `  # orders only (${i})\n  # ${'-'.repeat(40)}\n`));
    const text = policies.join('---\n');
    const flows = [...uiToCatalog, ordersToCatalog, dbToCatalogAttempt];
    const start = Date.now();
    const d = diagnose(text, flows);
    const ms = Date.now() - start;
    assert.ok(ms < 1000, `${ms} ms`);
    assert.equal(d.filter((x) => x.code === CODE_BLOCKS_OBSERVED_FLOW).length, 1, 'one group, on the first policy that isolates the catalog');
    const out = fixed(text, d, CODE_BLOCKS_OBSERVED_FLOW, 'Allow Deployment demo/ui → Deployment demo/catalog TCP 8080');
    assert.deepEqual(newlyDenied(out, flows), []);
  });
});
