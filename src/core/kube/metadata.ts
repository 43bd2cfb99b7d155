/**
 * Schemas shared by every kind: object metadata, label maps and label selectors, decoded with the
 * validation rules of the API server (apimachinery's label and selector validation).
 */
import { z } from 'zod';
import type { FieldError, FieldPath } from './field-error';
import type { OwnerReference } from './objects';
import type { LabelSelector, Labels, SelectorRequirement } from './selector';

export const labelMapSchema = z.record(z.string(), z.string({ error: 'label values must be strings (quote numbers and booleans)' }));

export const metadataSchema = z.object({
  name: z.string({ error: (issue) => (issue.input === undefined ? 'is required' : undefined) }).min(1, { error: 'must not be empty' }),
  namespace: z.string().nullish(),
  labels: labelMapSchema.nullish(),
  creationTimestamp: z.string().nullish(),
  deletionTimestamp: z.string().nullish(),
  ownerReferences: z
    .array(z.object({ kind: z.string(), name: z.string(), controller: z.boolean().nullish() }))
    .nullish(),
});

export type RawMetadata = z.infer<typeof metadataSchema>;

export const labelSelectorSchema = z.strictObject({
  matchLabels: labelMapSchema.nullish(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string({ error: 'selector values must be strings (quote numbers and booleans)' })).nullish(),
      }),
    )
    .nullish(),
});

export type RawLabelSelector = z.infer<typeof labelSelectorSchema>;

export function toLabels(raw: Record<string, string> | null | undefined, path: FieldPath, errors: FieldError[]): Labels {
  const labels = new Map<string, string>();
  for (const [key, value] of Object.entries(raw ?? {})) {
    const keyError = labelKeyError(key);
    if (keyError) {
      errors.push({ path: [...path, key], message: keyError });
    }
    const valueError = labelValueError(value);
    if (valueError) {
      errors.push({ path: [...path, key], message: valueError });
    }
    labels.set(key, value);
  }
  return labels;
}

/** Checks a decoded selector as metav1 ValidateLabelSelector does and converts it to the model. */
export function toLabelSelector(raw: RawLabelSelector | null | undefined, path: FieldPath, errors: FieldError[]): LabelSelector {
  const matchLabels = toLabels(raw?.matchLabels, [...path, 'matchLabels'], errors);
  const matchExpressions: SelectorRequirement[] = [];
  (raw?.matchExpressions ?? []).forEach((expr, i) => {
    const at = [...path, 'matchExpressions', i];
    const values = expr.values ?? [];
    const keyError = labelKeyError(expr.key);
    if (keyError) {
      errors.push({ path: [...at, 'key'], message: keyError });
    }
    if ((expr.operator === 'In' || expr.operator === 'NotIn') && values.length === 0) {
      errors.push({ path: [...at, 'values'], message: `must be non-empty when operator is ${expr.operator}` });
    }
    if ((expr.operator === 'Exists' || expr.operator === 'DoesNotExist') && values.length > 0) {
      errors.push({ path: [...at, 'values'], message: `must be empty when operator is ${expr.operator}` });
    }
    values.forEach((value, j) => {
      const valueError = labelValueError(value);
      if (valueError) {
        errors.push({ path: [...at, 'values', j], message: valueError });
      }
    });
    matchExpressions.push({ key: expr.key, operator: expr.operator, values });
  });
  return { matchLabels, matchExpressions };
}

export function toOwners(meta: RawMetadata): OwnerReference[] {
  return (meta.ownerReferences ?? []).map((o) => ({ kind: o.kind, name: o.name, controller: o.controller === true }));
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function dnsSubdomainError(name: string): string | undefined {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name)
    ? undefined
    : `"${name}" is not a valid name: lowercase letters, digits, "-" and ".", at most 253 characters, starting and ending with a letter or digit`;
}

export function dnsLabelError(name: string): string | undefined {
  return name.length <= 63 && DNS_LABEL.test(name)
    ? undefined
    : `"${name}" is not a valid namespace name: lowercase letters, digits and "-", at most 63 characters, starting and ending with a letter or digit`;
}

/** Named ports follow IANA_SVC_NAME: 1-15 lowercase letters, digits and "-", with a letter, no "--", no "-" at either end. */
export function portNameError(name: string): string | undefined {
  if (name.length === 0 || name.length > 15) {
    return `port name "${name}" must be 1-15 characters`;
  }
  if (!/^[a-z0-9-]+$/.test(name) || !/[a-z]/.test(name) || name.includes('--') || name.startsWith('-') || name.endsWith('-')) {
    return `port name "${name}" is invalid: lowercase letters, digits and "-", at least one letter, no "--", not starting or ending with "-"`;
  }
  return undefined;
}


/** Validates a label key (optional DNS-subdomain prefix, "/", name of at most 63 characters); undefined when valid. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `label key "${key}" has an invalid prefix: must be a lowercase DNS subdomain of at most 253 characters`;
    }
  }
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    return `label key "${key}" is invalid: the name part must be 1-63 characters of letters, digits, "-", "_" or ".", starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Validates a label value (empty, or up to 63 characters of the label alphabet); undefined when valid. */
export function labelValueError(value: string): string | undefined {
  if (value.length === 0) {
    return undefined;
  }
  if (value.length > 63 || !NAME_PART.test(value)) {
    return `label value "${value}" is invalid: must be at most 63 characters of letters, digits, "-", "_" or ".", starting and ending with a letter or digit`;
  }
  return undefined;
}
