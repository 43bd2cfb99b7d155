/**
 * The flow table's filter language. A query is terms separated by spaces; a row must match all of them.
 *
 *   word              any text column contains "word" (case-insensitive)
 *   field:value       text: the field contains value; numbers: equals. `a,b` means a or b.
 *   field=value       text: equals exactly (case-insensitive)
 *   field>N  >=  <  <=  !=   numeric comparison
 *   -term  or  !term  negation
 *   "two words"       quotes keep spaces in a value or a word
 *   is:unhealthy  is:failing  is:degraded  is:healthy  is:cross-zone  is:ingress  is:egress
 *
 * Fields: every column id (`localPod`, `remoteNamespace`, `port`, `bytesOut`, `rtt`, ...) and short names
 * that match either end: `pod`, `workload`/`wl`, `namespace`/`ns`, `ip`, `zone`, `node`; prefix `local.` or
 * `remote.` for one end (`remote.ns:orders`). `bytes` and `packets` are both directions summed.
 * Numbers take units: bytes `1.5kB`, `10MB`, `2GB` (decimal, as shown); RTT `250us`, `10ms` (the default
 * unit), `1s`; counts `2k`, `1M`.
 *
 * Examples: `ns:orders port:5432 retransmits>0`, `-ns:kube-system bytes>10MB`, `is:cross-zone rtt>5ms`.
 */
import { COLUMNS, type Column, type FlowRow } from './flow-table';

export type RowPredicate = (row: FlowRow) => boolean;
export type QueryParse = { ok: true; predicate: RowPredicate; terms: number } | { ok: false; error: string };

type Op = ':' | '=' | '!=' | '>' | '>=' | '<' | '<=';

interface NumericField {
  readonly unit: 'bytes' | 'rtt' | 'count';
  readonly get: (r: FlowRow) => number;
}

const SUM_FIELDS: Readonly<Record<string, NumericField>> = {
  bytes: { unit: 'bytes', get: (r) => r.edge.totals.bytesToServer + r.edge.totals.bytesToClient },
  packets: { unit: 'count', get: (r) => r.edge.totals.packetsToServer + r.edge.totals.packetsToClient },
};

const IS_VALUES: Readonly<Record<string, RowPredicate>> = {
  unhealthy: (r) => r.health !== 'healthy',
  failing: (r) => r.health === 'failing',
  degraded: (r) => r.health === 'degraded',
  healthy: (r) => r.health === 'healthy',
  'cross-zone': (r) => r.crossZone,
  crosszone: (r) => r.crossZone,
  ingress: (r) => r.direction === 'ingress',
  egress: (r) => r.direction === 'egress',
};

/** Field name (lowercase) -> columns it reads. */
const FIELD_COLUMNS: ReadonlyMap<string, readonly Column[]> = (() => {
  const m = new Map<string, Column[]>();
  const add = (name: string, c: Column) => {
    const list = m.get(name.toLowerCase()) ?? [];
    if (!list.includes(c)) {
      list.push(c);
    }
    m.set(name.toLowerCase(), list);
  };
  for (const c of COLUMNS) {
    add(c.id, c);
    for (const a of c.aliases ?? []) {
      add(a, c);
      if (c.id.startsWith('local')) {
        add(`local.${a}`, c);
      } else if (c.id.startsWith('remote')) {
        add(`remote.${a}`, c);
      }
    }
  }
  return m;
})();

export const QUERY_FIELDS: readonly string[] = [...FIELD_COLUMNS.keys(), ...Object.keys(SUM_FIELDS), 'is'].sort();

export function parseQuery(query: string): QueryParse {
  const tokens = tokenize(query);
  if (!tokens.ok) {
    return tokens;
  }
  const predicates: RowPredicate[] = [];
  for (const token of tokens.tokens) {
    const p = compileTerm(token);
    if (!p.ok) {
      return p;
    }
    predicates.push(p.predicate);
  }
  const predicate: RowPredicate =
    predicates.length === 0 ? () => true : predicates.length === 1 ? predicates[0] : (r) => predicates.every((p) => p(r));
  return { ok: true, predicate, terms: predicates.length };
}

interface Token {
  readonly text: string;
  readonly quoted: boolean;
}

function tokenize(q: string): { ok: true; tokens: Token[] } | { ok: false; error: string } {
  const tokens: Token[] = [];
  let i = 0;
  while (i < q.length) {
    if (/\s/.test(q[i])) {
      i++;
      continue;
    }
    let text = '';
    let quoted = false;
    while (i < q.length && !/\s/.test(q[i])) {
      if (q[i] === '"') {
        const close = q.indexOf('"', i + 1);
        if (close < 0) {
          return { ok: false, error: `unclosed quote at column ${i + 1}` };
        }
        text += q.slice(i + 1, close);
        quoted = true;
        i = close + 1;
      } else {
        text += q[i++];
      }
    }
    tokens.push({ text, quoted });
  }
  return { ok: true, tokens };
}

function compileTerm(token: Token): { ok: true; predicate: RowPredicate } | { ok: false; error: string } {
  let text = token.text;
  let negate = false;
  if ((text.startsWith('-') || text.startsWith('!')) && text.length > 1) {
    negate = true;
    text = text.slice(1);
  }
  const m = /^([A-Za-z][A-Za-z.]*)(>=|<=|!=|:|=|>|<)(.*)$/.exec(text);
  let p: { ok: true; predicate: RowPredicate } | { ok: false; error: string };
  if (!m) {
    const word = text.toLowerCase();
    p = { ok: true, predicate: (r) => r.allText.includes(word) };
  } else {
    p = fieldPredicate(m[1], m[2] as Op, m[3]);
  }
  if (!p.ok || !negate) {
    return p;
  }
  const inner = p.predicate;
  return { ok: true, predicate: (r) => !inner(r) };
}

function fieldPredicate(fieldName: string, op: Op, raw: string): { ok: true; predicate: RowPredicate } | { ok: false; error: string } {
  const field = fieldName.toLowerCase();
  if (raw === '') {
    return { ok: false, error: `"${fieldName}${op}" needs a value` };
  }
  if (field === 'is') {
    const preds = raw.toLowerCase().split(',').map((v) => IS_VALUES[v]);
    if (op !== ':' || preds.some((x) => !x)) {
      return { ok: false, error: `is: takes ${Object.keys(IS_VALUES).join(', ')}` };
    }
    return { ok: true, predicate: (r) => preds.some((x) => x(r)) };
  }
  const sum = SUM_FIELDS[field];
  const columns = FIELD_COLUMNS.get(field);
  if (!sum && !columns) {
    return { ok: false, error: `unknown field "${fieldName}"; fields: ${QUERY_FIELDS.join(', ')}` };
  }
  const numeric: NumericField[] = sum
    ? [sum]
    : columns!.filter((c) => c.type !== 'text').map((c) => ({ unit: c.type === 'bytes' ? 'bytes' : c.type === 'rtt' ? 'rtt' : 'count', get: (r) => c.value(r) as number }));
  const text = sum ? [] : columns!.filter((c) => c.type === 'text');
  if (numeric.length > 0) {
    const values: number[] = [];
    for (const part of raw.split(',')) {
      const v = parseNumber(part, numeric[0].unit);
      if (v === undefined) {
        return { ok: false, error: `"${part}" is not a number for ${fieldName}${unitHint(numeric[0].unit)}` };
      }
      values.push(v);
    }
    const cmp = numericOp(op, values);
    const gets = numeric.map((n) => n.get);
    return { ok: true, predicate: (r) => gets.some((g) => cmp(g(r))) };
  }
  const ids = text.map((c) => c.id);
  if (op === ':' || op === '=' || op === '!=') {
    const needles = raw.toLowerCase().split(',');
    const exact = op !== ':';
    const match = (r: FlowRow) =>
      ids.some((id) => {
        const v = r.text[id] ?? '';
        return needles.some((n) => (exact ? v === n || v.split(' ').includes(n) : v.includes(n)));
      });
    return { ok: true, predicate: op === '!=' ? (r) => !match(r) : match };
  }
  return { ok: false, error: `${fieldName} is text: use ${fieldName}:value or ${fieldName}=value` };
}

function numericOp(op: Op, values: number[]): (x: number) => boolean {
  const v = values[0];
  switch (op) {
    case '>':
      return (x) => x > v;
    case '>=':
      return (x) => x >= v;
    case '<':
      return (x) => x < v;
    case '<=':
      return (x) => x <= v;
    case '!=':
      return (x) => !values.includes(x);
    default:
      return values.length === 1 ? (x) => x === v : (x) => values.includes(x);
  }
}

function unitHint(unit: NumericField['unit']): string {
  return unit === 'bytes' ? ' (e.g. 1500, 10kB, 2.5MB)' : unit === 'rtt' ? ' (e.g. 250us, 10ms, 1s)' : ' (e.g. 3, 2k)';
}

const BYTE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
const RTT_UNITS: Readonly<Record<string, number>> = { '': 1000, us: 1, 'µs': 1, ms: 1000, s: 1e6 };
const COUNT_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1e3, m: 1e6 };

/** A number with an optional unit, in the field's base unit (bytes, microseconds, count). */
export function parseNumber(text: string, unit: NumericField['unit']): number | undefined {
  const m = /^(\d+(?:\.\d+)?|\.\d+)([a-zµ]*)$/i.exec(text.trim());
  if (!m) {
    return undefined;
  }
  const table = unit === 'bytes' ? BYTE_UNITS : unit === 'rtt' ? RTT_UNITS : COUNT_UNITS;
  const factor = table[m[2].toLowerCase()];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

