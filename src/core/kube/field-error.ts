/**
 * Errors found while decoding a Kubernetes object, addressed by the path of the field they concern
 * (["spec", "ingress", 0, "from", 1]) so that callers can map them to a file line or an editor range.
 */
import type { z } from 'zod';

export type FieldPath = readonly (string | number)[];

export interface FieldError {
  readonly path: FieldPath;
  readonly message: string;
}

/** "spec.ingress[0].from[1].ipBlock" */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out.length === 0 ? part : `.${part}`;
  }
  return out;
}

export function zodFieldErrors(error: z.ZodError, prefix: FieldPath = []): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ path: [...path, key], message: `unknown field "${key}"` });
      }
      continue;
    }
    let message = issue.message.replace(/^Invalid input: /, '').replace(/^Invalid option: /, '');
    if (issue.code === 'invalid_type' && issue.expected === 'string' && message.endsWith('received boolean')) {
      // kubectl reads YAML 1.1, where unquoted y/n/yes/no/on/off are booleans.
      message += ' (YAML reads unquoted y, n, yes, no, on and off as booleans: quote the value)';
    }
    out.push({ path, message });
  }
  return out;
}
