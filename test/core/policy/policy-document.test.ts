import { strict as assert } from 'node:assert';
import { parsePolicyDocument, type PolicyDocument, type TextEdit, type TextRange } from '../../../src/core/policy/policy-document';

/** The text a range covers. */
function covered(text: string, r: TextRange): string {
  return text.slice(r.start, r.end);
}

/** Applies non-overlapping edits of the original text, as an editor does. */
function applyEdits(text: string, edits: readonly TextEdit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, e.start) + e.newText + out.slice(e.end);
  }
  return out;
}

/** The errors as [covered text, message]. */
function errorsOf(doc: PolicyDocument): [string, string][] {
  return doc.errors.map((e) => [covered(doc.text, e), e.message]);
}

/** Parses text that must hold exactly one valid policy, and returns it. */
function onlyPolicy(text: string) {
  const doc = parsePolicyDocument(text);
  assert.deepEqual(errorsOf(doc), []);
  assert.equal(doc.policies.length, 1);
  assert.ok(doc.policies[0].policy);
  return { doc, object: doc.policies[0], policy: doc.policies[0].policy };
}

const POLICY = `# The catalog accepts the UI.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: catalog
  namespace: demo
spec:
  podSelector:
    matchLabels:
      app: catalog
  policyTypes:
  - Ingress
  ingress:
  # from the UI
  - from:
    - podSelector:
        matchLabels:
          app: ui
    ports:
    - protocol: TCP
      port: 8080 # http
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ui
  namespace: demo
spec:
  selector:
    matchLabels: {app: ui}
  template:
    metadata:
      labels: {app: ui}
`;

const RULE = { from: [{ podSelector: { matchLabels: { app: 'orders' } } }], ports: [{ protocol: 'TCP', port: 9090 }] };

suite('policy document: parsing', () => {
  test('a NetworkPolicy: decoded, with the range of the object and of its fields', () => {
    const { doc, object, policy } = onlyPolicy(POLICY);
    assert.equal(doc.containsNetworkPolicy, true);
    assert.equal(policy.namespace, 'demo');
    assert.equal(policy.name, 'catalog');
    assert.ok(covered(POLICY, object.range).startsWith('apiVersion: networking.k8s.io/v1\nkind'));
    assert.ok(covered(POLICY, object.range).endsWith('port: 8080'), 'the object ends at its last value, not at the trailing comment');
    assert.equal(covered(POLICY, object.rangeOf(['metadata', 'name'])), 'catalog');
    assert.equal(covered(POLICY, object.rangeOf(['metadata', 'name'], 'key')), 'name');
    assert.equal(covered(POLICY, object.rangeOf(['metadata', 'name'], 'pair')), 'name: catalog');
    assert.equal(covered(POLICY, object.rangeOf(['spec', 'podSelector'], 'pair')), 'podSelector:\n    matchLabels:\n      app: catalog');
    assert.equal(covered(POLICY, object.rangeOf(['spec', 'ingress', 0, 'ports', 0])), 'protocol: TCP\n      port: 8080');
    assert.equal(covered(POLICY, object.rangeOf(['spec', 'ingress', 0, 'from', 0, 'podSelector', 'matchLabels', 'app'], 'pair')), 'app: ui');
  });

  test('a missing field: the nearest existing parent, not exact', () => {
    const { object } = onlyPolicy(POLICY);
    const egress = object.rangeOf(['spec', 'egress', 0]);
    assert.equal(egress.exact, false);
    assert.equal(covered(POLICY, egress), 'spec');
    const port = object.rangeOf(['spec', 'ingress', 0, 'ports', 3, 'port']);
    assert.equal(port.exact, false);
    assert.equal(covered(POLICY, port), 'ports');
    // The object itself: its first line.
    assert.equal(covered(POLICY, object.rangeOf(['status'])), 'apiVersion: networking.k8s.io/v1');
    assert.equal(object.rangeOf(['spec', 'ingress']).exact, true);
  });

  test('an empty value is given by its key', () => {
    const text = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec:\n  podSelector: {}\n  ingress:\n';
    const { object } = onlyPolicy(text);
    const r = object.rangeOf(['spec', 'ingress']);
    assert.deepEqual([covered(text, r), r.exact], ['ingress', true]);
  });

  test('the field at an offset', () => {
    const { object } = onlyPolicy(POLICY);
    assert.deepEqual(object.pathAt(POLICY.indexOf('app: ui') + 1), ['spec', 'ingress', 0, 'from', 0, 'podSelector', 'matchLabels', 'app']);
    assert.deepEqual(object.pathAt(POLICY.indexOf('- podSelector')), ['spec', 'ingress', 0, 'from', 0]);
    assert.deepEqual(object.pathAt(POLICY.indexOf('podSelector:\n    matchLabels')), ['spec', 'podSelector']);
    assert.deepEqual(object.pathAt(POLICY.indexOf('8080')), ['spec', 'ingress', 0, 'ports', 0, 'port']);
    assert.deepEqual(object.pathAt(0), []);
  });

  test('a file with only a Deployment holds no NetworkPolicy and says nothing', () => {
    const doc = parsePolicyDocument(DEPLOYMENT);
    assert.deepEqual([doc.containsNetworkPolicy, doc.policies.length, doc.errors.length], [false, 0, 0]);
  });

  test('an empty text, blank lines, comments, empty documents', () => {
    for (const text of ['', '\n\n', '# nothing here\n', '---\n---\n', '--- \n...\n']) {
      const doc = parsePolicyDocument(text);
      assert.deepEqual([doc.containsNetworkPolicy, doc.policies.length, doc.errors.length], [false, 0, 0], JSON.stringify(text));
    }
  });

  test('text that is not YAML: syntax errors at their position, and no NetworkPolicy', () => {
    const text = 'this: is: not yaml\n\t- {[\n';
    const doc = parsePolicyDocument(text);
    assert.equal(doc.containsNetworkPolicy, false);
    assert.ok(doc.errors.length > 0);
    assert.ok(doc.errors.every((e) => e.kind === 'syntax' && e.message.startsWith('invalid YAML: ') && e.start >= 0 && e.end <= text.length && e.start <= e.end));
    const prose = parsePolicyDocument('Just some prose, not a manifest.');
    assert.deepEqual(errorsOf(prose), [['Just some prose, not a manifest.', 'expected a Kubernetes object (a mapping with apiVersion and kind)']]);
    assert.equal(prose.containsNetworkPolicy, false);
    const binary = parsePolicyDocument('\u0000\u0001\u0002PK\u0003\u0004 \uFFFD\uFFFD {{{');
    assert.equal(binary.containsNetworkPolicy, false);
    assert.ok(binary.errors.length > 0);
  });

  test('a NetworkPolicy with a YAML syntax error still counts as one, with the error where it is', () => {
    const text = POLICY.replace('  policyTypes:\n', '  podSelector: {}\n  policyTypes:\n');
    const doc = parsePolicyDocument(text);
    assert.equal(doc.containsNetworkPolicy, true);
    assert.equal(doc.policies.length, 0);
    assert.deepEqual(errorsOf(doc), [['p', 'invalid YAML: Map keys must be unique']]);
    assert.equal(doc.errors[0].start, text.indexOf('podSelector: {}'));
    const unclosed = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a\n';
    const d2 = parsePolicyDocument(unclosed);
    assert.equal(d2.containsNetworkPolicy, true);
    assert.ok(d2.errors.length > 0 && d2.errors.every((e) => e.kind === 'syntax'));
    // One mistake, one message per place.
    assert.equal(new Set(d2.errors.map((e) => `${e.start} ${e.message}`)).size, d2.errors.length);
  });

  test('an alias bomb is refused', () => {
    const text = `kind: NetworkPolicy\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n`;
    const doc = parsePolicyDocument(text);
    assert.equal(doc.errors.length, 1);
    assert.equal(doc.errors[0].kind, 'syntax');
    assert.match(doc.errors[0].message, /^invalid YAML: .*alias/i);
    assert.equal(covered(text, doc.errors[0]), 'kind: NetworkPolicy');
  });

  test('several documents of several kinds: only Kubernetes NetworkPolicies are read', () => {
    const calico = 'apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: calico, namespace: demo}\nspec: {selector: all(), types: [Ingress]}\n';
    const invalid = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: broken, namespace: demo}\nspec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.1}}]}]}\n';
    const text = [DEPLOYMENT, POLICY, calico, invalid, 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n'].join('---\n');
    const doc = parsePolicyDocument(text);
    assert.equal(doc.containsNetworkPolicy, true);
    assert.deepEqual(doc.policies.map((p) => p.policy?.name), ['catalog', undefined]);
    assert.deepEqual(errorsOf(doc), [['cidr: 10.0.0.1', 'spec.ingress[0].from[0].ipBlock.cidr: "10.0.0.1" has no prefix length (for a single address write 10.0.0.1/32)']]);
    assert.ok(covered(text, doc.policies[1].range).startsWith('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: broken'));
    // A Calico NetworkPolicy alone is not a Kubernetes one.
    assert.equal(parsePolicyDocument(calico).containsNetworkPolicy, false);
  });

  test('a kind: List and a NetworkPolicyList (whose items omit kind)', () => {
    const list = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: demo}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: one, namespace: demo}
  spec:
    podSelector: {}
    ingress:
    - from: [{podSelector: {matchLabels: {app: ui}}}]
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: two, namespace: demo}
  spec: {podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/8]}}]}]}
`;
    const doc = parsePolicyDocument(list);
    assert.deepEqual(doc.policies.map((p) => p.policy?.name), ['one', undefined]);
    assert.deepEqual(errorsOf(doc), [['11.0.0.0/8', 'spec.egress[0].to[0].ipBlock.except[0]: 11.0.0.0/8 must be a strict subset of cidr 10.0.0.0/8']]);
    assert.equal(covered(list, doc.policies[0].rangeOf(['metadata', 'name'])), 'one');
    assert.ok(covered(list, doc.policies[0].range).startsWith('apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  metadata: {name: one'));
    const typed = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicyList
items:
- metadata: {name: typed, namespace: demo}
  spec: {podSelector: {matchLabels: {app: ui}}}
`;
    const t = parsePolicyDocument(typed);
    assert.deepEqual([t.containsNetworkPolicy, t.policies.map((p) => p.policy?.name), t.errors.length], [true, ['typed'], 0]);
    const bad = parsePolicyDocument('apiVersion: v1\nkind: List\nitems: 3\n');
    assert.deepEqual(errorsOf(bad), [['items: 3', 'List.items must be a list']]);
  });

  test('the namespace of a policy without one is the default namespace given', () => {
    const text = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec: {podSelector: {}}\n';
    assert.equal(parsePolicyDocument(text).policies[0].policy?.namespace, 'default');
    assert.equal(parsePolicyDocument(text, { defaultNamespace: 'demo' }).policies[0].policy?.namespace, 'demo');
  });

  test('CRLF line endings: the same ranges', () => {
    const text = POLICY.replace(/\n/g, '\r\n');
    const { object } = onlyPolicy(text);
    assert.equal(covered(text, object.rangeOf(['spec', 'ingress', 0, 'ports', 0])), 'protocol: TCP\r\n      port: 8080');
    assert.equal(covered(text, object.rangeOf(['metadata', 'namespace'], 'pair')), 'namespace: demo');
    assert.ok(covered(text, object.range).endsWith('port: 8080'));
  });
});

suite('policy document: validation errors at the offending field', () => {
  const policy = (spec: string, metadata = '{name: p, namespace: demo}') => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: ${metadata}\nspec:\n${spec}`;
  const errors = (text: string) => errorsOf(parsePolicyDocument(text));

  test('unknown fields: their key', () => {
    const text = policy('  podSelector: {}\n  ingres:\n  - from: []\n  ingress:\n  - form: []\n');
    assert.deepEqual(errors(text), [
      ['ingres', 'spec.ingres: unknown field "ingres"'],
      ['form', 'spec.ingress[0].form: unknown field "form"'],
    ]);
  });

  test('wrong types, invalid protocols', () => {
    assert.deepEqual(errors(policy('  podSelector: {}\n  ingress:\n  - ports:\n    - port: true\n    - protocol: ICMP\n')), [
      ['port: true', 'spec.ingress[0].ports[0].port: must be a port number or a port name'],
      ['protocol: ICMP', 'spec.ingress[0].ports[1].protocol: expected one of "TCP"|"UDP"|"SCTP"'],
    ]);
    assert.deepEqual(errors(policy('  podSelector: {}\n  ingress: {from: []}\n')), [['{from: []}', 'spec.ingress: expected array, received object']]);
    // YAML 1.1, as kubectl reads it: an unquoted yes is a boolean.
    assert.deepEqual(errors(policy('  podSelector: {matchLabels: {enabled: yes}}\n')), [
      ['enabled: yes', 'spec.podSelector.matchLabels.enabled: label values must be strings (quote numbers and booleans)'],
    ]);
  });

  test('CIDRs: invalid, and except outside its cidr', () => {
    assert.deepEqual(errors(policy('  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 10.0.0.0/33\n    - ipBlock:\n        cidr: 10.0.0.0/8\n        except:\n        - 10.1.0.0/16\n        - 192.168.0.0/16\n')), [
      ['cidr: 10.0.0.0/33', 'spec.egress[0].to[0].ipBlock.cidr: "10.0.0.0/33" is not a valid CIDR: prefix length must be 0 to 32'],
      ['192.168.0.0/16', 'spec.egress[0].to[1].ipBlock.except[1]: 192.168.0.0/16 must be a strict subset of cidr 10.0.0.0/8'],
    ]);
  });

  test('ports: out of range, endPort below port or without port, named port with endPort', () => {
    assert.deepEqual(errors(policy('  podSelector: {}\n  ingress:\n  - ports:\n    - {port: 70000}\n    - {port: 80, endPort: 70}\n    - {endPort: 90}\n    - {port: http, endPort: 90}\n    - {port: Not_A_Name}\n')), [
      ['port: 70000', 'spec.ingress[0].ports[0].port: 70000 must be between 1 and 65535'],
      ['endPort: 70', 'spec.ingress[0].ports[1].endPort: 70 must be greater than or equal to port 80'],
      ['endPort: 90', 'spec.ingress[0].ports[2].endPort: may not be specified when port is not specified'],
      ['endPort: 90', 'spec.ingress[0].ports[3].endPort: may not be specified when port is a named port ("http")'],
      ['port: Not_A_Name', 'spec.ingress[0].ports[4].port: port name "Not_A_Name" is invalid: lowercase letters, digits and "-", at least one letter, no "--", not starting or ending with "-"'],
    ]);
  });

  test('selectors and peers', () => {
    const text = policy(
      '  podSelector:\n    matchExpressions:\n    - {key: app, operator: In}\n    - {key: tier, operator: Sideways}\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {"bad key!": x, app: "-x-"}}\n    - {}\n    - {ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}\n',
    );
    assert.deepEqual(errors(text), [['operator: Sideways', 'spec.podSelector.matchExpressions[1].operator: expected one of "In"|"NotIn"|"Exists"|"DoesNotExist"']]);
    const semantic = policy(
      '  podSelector:\n    matchExpressions:\n    - {key: app, operator: In}\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {"bad key!": x, app: "-x-"}}\n    - {}\n    - {ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}\n',
    );
    assert.deepEqual(errors(semantic), [
      ['{key: app, operator: In}', 'spec.podSelector.matchExpressions[0].values: must be non-empty when operator is In'],
      ['"bad key!": x', 'spec.ingress[0].from[0].podSelector.matchLabels.bad key!: label key "bad key!" is invalid: the name part must be 1-63 characters of letters, digits, "-", "_" or ".", starting and ending with a letter or digit'],
      ['app: "-x-"', 'spec.ingress[0].from[0].podSelector.matchLabels.app: label value "-x-" is invalid: must be at most 63 characters of letters, digits, "-", "_" or ".", starting and ending with a letter or digit'],
      ['{}', 'spec.ingress[0].from[1]: must specify a peer: podSelector, namespaceSelector or ipBlock (an empty peer is rejected by the API server; omit `from`/`to` to allow everything)'],
      ['{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}', 'spec.ingress[0].from[2]: may not specify both ipBlock and another peer'],
    ]);
  });

  test('names, namespaces, apiVersion and missing fields', () => {
    assert.deepEqual(errors(policy('  podSelector: {}\n', '\n  name: Web_Policy\n  namespace: Demo')), [
      ['name: Web_Policy', 'metadata.name: "Web_Policy" is not a valid name: lowercase letters, digits, "-" and ".", at most 253 characters, starting and ending with a letter or digit'],
      ['namespace: Demo', 'metadata.namespace: "Demo" is not a valid namespace name: lowercase letters, digits and "-", at most 63 characters, starting and ending with a letter or digit'],
    ]);
    // A missing name: the nearest existing parent, metadata.
    assert.deepEqual(errors(policy('  podSelector: {}\n', '\n  namespace: demo')), [['metadata', 'metadata.name: is required']]);
    const v1beta1 = 'apiVersion: networking.k8s.io/v1beta1\nkind: NetworkPolicy\nmetadata: {name: a}\n';
    assert.deepEqual(errors(v1beta1), [['apiVersion: networking.k8s.io/v1beta1', 'apiVersion: apiVersion must be networking.k8s.io/v1']]);
    const noVersion = 'kind: NetworkPolicy\nmetadata: {name: a}\n';
    assert.deepEqual(errors(noVersion), [['kind: NetworkPolicy', 'apiVersion: apiVersion must be networking.k8s.io/v1']]);
  });
});

suite('policy document: edits', () => {
  /** Applies the edit, and returns the new text with its only policy decoded. */
  const after = (text: string, edits: readonly TextEdit[] | TextEdit | undefined) => {
    assert.ok(edits, 'an edit');
    const out = applyEdits(text, Array.isArray(edits) ? edits : [edits as TextEdit]);
    const doc = parsePolicyDocument(out);
    assert.deepEqual(errorsOf(doc), [], out);
    assert.equal(doc.policies.length, 1, out);
    return { out, policy: doc.policies[0].policy! };
  };

  test('append to a block sequence: the siblings\' indentation, comments kept', () => {
    const { object } = onlyPolicy(POLICY);
    const { out, policy } = after(POLICY, object.appendItems(['spec', 'ingress'], [RULE]));
    assert.equal(
      out,
      POLICY +
        `  - from:
    - podSelector:
        matchLabels:
          app: orders
    ports:
    - protocol: TCP
      port: 9090
`,
    );
    assert.equal(policy.ingress.length, 2);
    assert.equal(policy.ingress[1].ports[0].port, 9090);
    assert.ok(out.includes('# from the UI') && out.includes('port: 8080 # http') && out.startsWith('# The catalog accepts the UI.'));
  });

  test('the text\'s style: indented sequences and four-space indentation', () => {
    const text = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
    name: catalog
    namespace: demo
spec:
    podSelector: {}
    ingress:
        - from:
              - podSelector: {matchLabels: {app: ui}}
    egress: []
`;
    const { object } = onlyPolicy(text);
    const { out } = after(text, object.appendItems(['spec', 'ingress'], [RULE]));
    assert.ok(
      out.includes(`        - from:
              - podSelector: {matchLabels: {app: ui}}
        - from:
              - podSelector:
                    matchLabels:
                        app: orders
          ports:
              - protocol: TCP
                port: 9090
    egress: []`),
      out,
    );
    const { out: out2, policy } = after(text, object.appendItems(['spec', 'egress'], [{ to: [{ ipBlock: { cidr: '203.0.113.5/32' } }] }]));
    assert.ok(out2.endsWith(`    egress:
        - to:
              - ipBlock:
                    cidr: 203.0.113.5/32
`), out2);
    assert.equal(policy.egress.length, 1);
  });

  test('an empty flow sequence [] becomes a block sequence under its key', () => {
    const text = POLICY.replace(/ {2}ingress:[\s\S]*$/, '  ingress: [] # none yet\n');
    const { object } = onlyPolicy(text);
    const { out, policy } = after(text, object.appendItems(['spec', 'ingress'], [RULE]));
    assert.ok(out.endsWith('  - Ingress\n  ingress: # none yet\n  - from:\n    - podSelector:\n        matchLabels:\n          app: orders\n    ports:\n    - protocol: TCP\n      port: 9090\n'), out);
    assert.equal(policy.ingress.length, 1);
  });

  test('a missing key goes under spec; a missing spec under the object', () => {
    const text = POLICY.replace(/ {2}ingress:[\s\S]*$/, '');
    const { object } = onlyPolicy(text);
    const { out, policy } = after(text, object.appendItems(['spec', 'ingress'], [RULE]));
    assert.equal(out, `${text}  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          app: orders\n    ports:\n    - protocol: TCP\n      port: 9090\n`);
    assert.equal(policy.ingress.length, 1);

    const bare = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: all\n  namespace: demo\n';
    const { object: o2 } = onlyPolicy(bare);
    const { out: out2, policy: p2 } = after(bare, o2.appendItems(['spec', 'ingress'], [RULE]));
    assert.equal(out2, `${bare}spec:\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          app: orders\n    ports:\n    - protocol: TCP\n      port: 9090\n`);
    assert.equal(p2.ingress.length, 1);
  });

  test('an empty value (ingress: with nothing, or null)', () => {
    for (const [empty, expected] of [
      ['  ingress: # later\n', '  ingress: # later\n  - from:\n'],
      ['  ingress: null\n', '  ingress:\n  - from:\n'],
      ['  ingress: ~', '  ingress:\n  - from:\n'],
    ]) {
      const text = POLICY.replace(/ {2}ingress:[\s\S]*$/, empty);
      const { object } = onlyPolicy(text);
      const { out, policy } = after(text, object.appendItems(['spec', 'ingress'], [RULE]));
      assert.ok(out.includes(expected), out);
      assert.equal(policy.ingress.length, 1);
    }
  });

  test('flow style: items and keys added in flow style', () => {
    const text = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: demo}\nspec: {podSelector: {}, ingress: [{from: [{podSelector: {}}]}]}\n';
    const { object } = onlyPolicy(text);
    const { out, policy } = after(text, object.appendItems(['spec', 'ingress'], [RULE]));
    assert.equal(out, 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: demo}\nspec: {podSelector: {}, ingress: [{from: [{podSelector: {}}]}, { from: [ { podSelector: { matchLabels: { app: orders } } } ], ports: [ { protocol: TCP, port: 9090 } ] }]}\n');
    assert.equal(policy.ingress.length, 2);
    const { out: out2, policy: p2 } = after(text, object.appendItems(['spec', 'egress'], [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }]));
    assert.ok(out2.includes('ingress: [{from: [{podSelector: {}}]}], egress: [ { to: [ { ipBlock: { cidr: 10.0.0.0/8 } } ] } ]}'), out2);
    assert.equal(p2.egress.length, 1);
    const { out: out3 } = after(text, object.appendItems(['spec', 'policyTypes'], ['Ingress'], 'podSelector'));
    assert.ok(out3.includes('spec: {podSelector: {}, policyTypes: [ Ingress ], ingress'), out3);
  });

  test('a key placed after a sibling, or first when the sibling is missing too', () => {
    const { object } = onlyPolicy(POLICY.replace('  policyTypes:\n  - Ingress\n', ''));
    const text = POLICY.replace('  policyTypes:\n  - Ingress\n', '');
    const { out } = after(text, object.appendItems(['spec', 'policyTypes'], ['Ingress', 'Egress'], 'podSelector'));
    assert.ok(out.includes('      app: catalog\n  policyTypes:\n  - Ingress\n  - Egress\n  ingress:\n'), out);
    const noSelector = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec:\n  egress:\n  - {}\n';
    const o2 = parsePolicyDocument(noSelector).policies[0];
    const { out: out2 } = after(noSelector, o2.appendItems(['spec', 'policyTypes'], ['Egress'], 'podSelector'));
    assert.equal(out2, 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec:\n  policyTypes:\n  - Egress\n  egress:\n  - {}\n');
  });

  test('an object inside a kind: List', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  metadata: {name: a, namespace: demo}\n  spec:\n    podSelector: {}\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: demo}\n';
    const object = parsePolicyDocument(text).policies[0];
    const { out, policy } = after(text, object.appendItems(['spec', 'ingress'], [RULE]));
    assert.ok(out.includes('  spec:\n    podSelector: {}\n    ingress:\n    - from:\n      - podSelector:\n          matchLabels:\n            app: orders\n      ports:\n      - protocol: TCP\n        port: 9090\n- apiVersion: v1\n'), out);
    assert.equal(policy.ingress.length, 1);
  });

  test('CRLF: edits use the text\'s line breaks', () => {
    const text = POLICY.replace(/\n/g, '\r\n');
    const { object } = onlyPolicy(text);
    const { out, policy } = after(text, object.appendItems(['spec', 'ingress'], [RULE]));
    assert.ok(!/[^\r]\n/.test(out), 'no bare line feed');
    assert.equal(policy.ingress.length, 2);
    const { out: removed, policy: p2 } = after(text, object.removeItem(['spec', 'ingress', 0]));
    assert.ok(removed.endsWith('  - Ingress\r\n  ingress: []\r\n'), JSON.stringify(removed));
    assert.equal(p2.ingress.length, 0);
  });

  test('remove a block item: its lines and the comments above it', () => {
    const text = POLICY + '  - from:\n    - podSelector: {matchLabels: {app: orders}}\n';
    const { object } = onlyPolicy(text);
    const { out, policy } = after(text, object.removeItem(['spec', 'ingress', 0]));
    assert.equal(out, text.replace('  # from the UI\n  - from:\n    - podSelector:\n        matchLabels:\n          app: ui\n    ports:\n    - protocol: TCP\n      port: 8080 # http\n', ''));
    assert.equal(policy.ingress.length, 1);
    const { out: out2 } = after(text, object.removeItem(['spec', 'ingress', 1]));
    assert.equal(out2, POLICY);
  });

  test('remove the only block item: the sequence becomes []', () => {
    const { object } = onlyPolicy(POLICY);
    const { out, policy } = after(POLICY, object.removeItem(['spec', 'ingress', 0]));
    assert.equal(out, POLICY.replace(/ {2}ingress:[\s\S]*$/, '  ingress: []\n'));
    assert.deepEqual([policy.isolates.ingress, policy.ingress.length], [true, 0]);
  });

  test('remove flow items: with their comma', () => {
    const text = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec: {podSelector: {}, ingress: [{ports: [{port: 1}]}, {ports: [{port: 2}]}, {ports: [{port: 3}]}]}\n';
    const object = parsePolicyDocument(text).policies[0];
    const ports = (edits: TextEdit[] | undefined) => after(text, edits).policy.ingress.map((r) => r.ports[0].port);
    assert.deepEqual(ports(object.removeItem(['spec', 'ingress', 0])), [2, 3]);
    assert.deepEqual(ports(object.removeItem(['spec', 'ingress', 1])), [1, 3]);
    assert.deepEqual(ports(object.removeItem(['spec', 'ingress', 2])), [1, 2]);
    const one = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec: {podSelector: {}, ingress: [{ports: [{port: 1}]}]}\n';
    const o1 = parsePolicyDocument(one).policies[0];
    assert.equal(after(one, o1.removeItem(['spec', 'ingress', 0])).out, one.replace('[{ports: [{port: 1}]}]', '[]'));
    assert.equal(o1.removeItem(['spec', 'ingress', 5]), undefined);
    assert.equal(o1.removeItem(['spec', 'podSelector']), undefined);
  });
});

suite('policy document: a huge file', () => {
  test('1,000 policies (22,000 lines) parse in well under 1.5 s', () => {
    const doc = Array.from({ length: 1000 }, (_, i) => POLICY.replace('name: catalog', `name: catalog-${i}`).replace('app: ui', `app: ui-${i % 50}`)).join('---\n');
    const start = Date.now();
    const parsed = parsePolicyDocument(doc);
    const ms = Date.now() - start;
    assert.equal(parsed.policies.length, 1000);
    assert.equal(parsed.errors.length, 0);
    assert.ok(ms < 1500, `${ms} ms`);
    assert.equal(covered(doc, parsed.policies[999].rangeOf(['metadata', 'name'])), 'catalog-999');
  });
});
