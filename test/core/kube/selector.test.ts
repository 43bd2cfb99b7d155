import { strict as assert } from 'node:assert';
import { formatSelector, selectorMatches, type LabelSelector } from '../../../src/core/kube/selector';
import { labelKeyError, labelValueError, toLabelSelector } from '../../../src/core/kube/metadata';
import type { FieldError } from '../../../src/core/kube/field-error';

const labels = (o: Record<string, string>) => new Map(Object.entries(o));

function selector(raw: Parameters<typeof toLabelSelector>[0]): LabelSelector {
  const errors: FieldError[] = [];
  const sel = toLabelSelector(raw, [], errors);
  assert.deepEqual(errors, []);
  return sel;
}

suite('label selectors', () => {
  test('empty selector matches everything, including pods without labels', () => {
    assert.ok(selectorMatches(selector({}), labels({})));
    assert.ok(selectorMatches(selector(null), labels({ a: 'b' })));
  });

  test('matchLabels and matchExpressions are ANDed', () => {
    const sel = selector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] });
    assert.ok(selectorMatches(sel, labels({ app: 'web', tier: 'b' })));
    assert.ok(!selectorMatches(sel, labels({ app: 'web', tier: 'c' })));
    assert.ok(!selectorMatches(sel, labels({ app: 'db', tier: 'a' })));
  });

  test('operators: In, NotIn (matches absent keys), Exists, DoesNotExist', () => {
    const m = (operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', values: string[], l: Record<string, string>) =>
      selectorMatches(selector({ matchExpressions: [{ key: 'k', operator, values }] }), labels(l));
    assert.ok(m('In', ['v'], { k: 'v' }));
    assert.ok(!m('In', ['v'], {}));
    assert.ok(m('NotIn', ['v'], {}));
    assert.ok(m('NotIn', ['v'], { k: 'w' }));
    assert.ok(!m('NotIn', ['v'], { k: 'v' }));
    assert.ok(m('Exists', [], { k: '' }));
    assert.ok(!m('Exists', [], { j: 'v' }));
    assert.ok(m('DoesNotExist', [], { j: 'v' }));
    assert.ok(!m('DoesNotExist', [], { k: 'v' }));
  });

  test('hostile keys are plain data', () => {
    assert.ok(!selectorMatches(selector({ matchLabels: { constructor: 'x' } }), labels({})));
    assert.ok(selectorMatches(selector({ matchExpressions: [{ key: 'toString', operator: 'DoesNotExist' }] }), labels({})));
  });

  test('operator/value consistency is validated as the API server does', () => {
    const errors: FieldError[] = [];
    toLabelSelector({ matchExpressions: [{ key: 'k', operator: 'In', values: [] }, { key: 'k', operator: 'Exists', values: ['x'] }] }, ['spec', 'podSelector'], errors);
    assert.deepEqual(
      errors.map((e) => [e.path.join('.'), e.message]),
      [
        ['spec.podSelector.matchExpressions.0.values', 'must be non-empty when operator is In'],
        ['spec.podSelector.matchExpressions.1.values', 'must be empty when operator is Exists'],
      ],
    );
  });

  test('label key and value syntax', () => {
    assert.equal(labelKeyError('app.kubernetes.io/name'), undefined);
    assert.equal(labelKeyError('kubernetes.io/metadata.name'), undefined);
    assert.match(labelKeyError('-app') ?? '', /name part/);
    assert.match(labelKeyError('Bad_Prefix/app') ?? '', /prefix/);
    assert.match(labelKeyError('a'.repeat(64)) ?? '', /1-63/);
    assert.equal(labelValueError(''), undefined);
    assert.match(labelValueError('<img src=x>') ?? '', /invalid/);
  });

  test('format is canonical: equal selectors, equal text', () => {
    const a = selector({ matchLabels: { b: '2', a: '1' }, matchExpressions: [{ key: 'z', operator: 'In', values: ['y', 'x'] }] });
    const b = selector({ matchLabels: { a: '1', b: '2' }, matchExpressions: [{ key: 'z', operator: 'In', values: ['x', 'y'] }] });
    assert.equal(formatSelector(a), 'a=1,b=2,z in (x,y)');
    assert.equal(formatSelector(a), formatSelector(b));
  });
});
