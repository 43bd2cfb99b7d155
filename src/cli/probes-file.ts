/**
 * The --probes file: a JSON (or YAML) list of probes, or {"probes": [...]}. Each probe is
 * {"from": "ns/pod" | {"ip": "..."}, "to": ..., "port": 80 | "name", "protocol": "TCP"}.
 */
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { formatPath, zodFieldErrors } from '../core/kube/field-error';
import type { Probe } from '../core/policy/engine';
import { CliError } from './cli-error';

const endpointSchema = z.union([z.string(), z.strictObject({ ip: z.string() })], {
  error: 'must be "namespace/pod" or {"ip": "..."}',
});

const PORT_ERROR = 'must be a port number (1-65535) or a named port';
const probeSchema = z.strictObject({
  from: endpointSchema,
  to: endpointSchema,
  port: z.union([z.number().int().min(1, { error: PORT_ERROR }).max(65535, { error: PORT_ERROR }), z.string().min(1)], { error: PORT_ERROR }),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
});

export interface ProbeInput {
  readonly probe: Probe;
  readonly line: number;
}

export function parseProbes(text: string, file: string): ProbeInput[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    throw new CliError(`${file}:${err.linePos?.[0]?.line ?? 1}: invalid JSON: ${err.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS();
  const list = Array.isArray(value) ? value : isProbeWrapper(value) ? value.probes : undefined;
  if (!list) {
    throw new CliError(`${file}: expected a JSON list of probes or {"probes": [...]}`);
  }
  const prefix = Array.isArray(value) ? [] : ['probes'];
  const lineOf = (path: (string | number)[]) => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node?.range ? lineCounter.linePos(node.range[0]).line : 1;
  };
  return list.map((raw: unknown, i: number) => {
    const parsed = probeSchema.safeParse(raw);
    if (!parsed.success) {
      const error = zodFieldErrors(parsed.error)[0];
      const field = formatPath(error.path);
      throw new CliError(`${file}:${lineOf([...prefix, i, ...error.path])}: probe ${i}: ${field ? `${field}: ` : ''}${error.message}`);
    }
    return { probe: parsed.data, line: lineOf([...prefix, i]) };
  });
}

function isProbeWrapper(value: unknown): value is { probes: unknown[] } {
  return typeof value === 'object' && value !== null && Array.isArray((value as { probes?: unknown }).probes);
}
