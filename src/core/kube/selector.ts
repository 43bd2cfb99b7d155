/**
 * Kubernetes label selectors (metav1.LabelSelector): matchLabels and matchExpressions, ANDed.
 * Labels are Maps so that hostile keys such as "__proto__" are ordinary data.
 */

export type Labels = ReadonlyMap<string, string>;

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels: ReadonlyMap<string, string>;
  readonly matchExpressions: readonly SelectorRequirement[];
}

export const EVERYTHING: LabelSelector = { matchLabels: new Map(), matchExpressions: [] };

export function isEmptySelector(selector: LabelSelector): boolean {
  return selector.matchLabels.size === 0 && selector.matchExpressions.length === 0;
}

export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of selector.matchLabels) {
    if (labels.get(key) !== value) {
      return false;
    }
  }
  for (const req of selector.matchExpressions) {
    const value = labels.get(req.key);
    switch (req.operator) {
      case 'In':
        if (value === undefined || !req.values.includes(value)) {
          return false;
        }
        break;
      case 'NotIn':
        if (value !== undefined && req.values.includes(value)) {
          return false;
        }
        break;
      case 'Exists':
        if (value === undefined) {
          return false;
        }
        break;
      case 'DoesNotExist':
        if (value !== undefined) {
          return false;
        }
        break;
    }
  }
  return true;
}

/**
 * A readable form in kubectl's selector syntax ("app=web,tier in (a,b),!debug");
 * also a canonical key: equal selectors give equal strings.
 */
export function formatSelector(selector: LabelSelector): string {
  if (isEmptySelector(selector)) {
    return '{} (everything)';
  }
  const parts = [...selector.matchLabels].sort(([a], [b]) => compare(a, b)).map(([k, v]) => `${k}=${v}`);
  const exprs = selector.matchExpressions.map((req) => {
    const values = [...new Set(req.values)].sort(compare).join(',');
    switch (req.operator) {
      case 'In':
        return `${req.key} in (${values})`;
      case 'NotIn':
        return `${req.key} notin (${values})`;
      case 'Exists':
        return req.key;
      case 'DoesNotExist':
        return `!${req.key}`;
    }
  });
  return [...parts, ...exprs.sort(compare)].join(',');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
