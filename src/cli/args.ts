/**
 * Command-line options on top of node:util parseArgs, adding one convention parseArgs lacks:
 * a list option takes every following word up to the next option (`--cluster a.yaml b.yaml`),
 * as well as repeats (`--cluster a.yaml --cluster b.yaml`).
 */
import { parseArgs } from 'node:util';
import { CliError } from './cli-error';

export interface OptionSpec {
  readonly type: 'string' | 'boolean' | 'list';
  readonly short?: string;
}

export type ParsedOptions<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: S[K]['type'] extends 'list' ? string[] : S[K]['type'] extends 'boolean' ? boolean : string | undefined;
};

export function parseOptions<S extends Record<string, OptionSpec>>(args: readonly string[], spec: S, command: string): ParsedOptions<S> {
  const options = Object.fromEntries(
    Object.entries(spec).map(([name, o]) => [name, { type: o.type === 'boolean' ? 'boolean' : 'string', multiple: o.type === 'list', ...(o.short ? { short: o.short } : {}) }]),
  ) as Parameters<typeof parseArgs>[0] extends infer C ? (C extends { options?: infer O } ? O : never) : never;
  let tokens;
  try {
    ({ tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: true, tokens: true }));
  } catch (e) {
    throw new CliError(`${command}: ${(e as Error).message.split('\n')[0]}`, 2);
  }
  const out: Record<string, string[] | boolean | string | undefined> = {};
  for (const [name, o] of Object.entries(spec)) {
    out[name] = o.type === 'list' ? [] : o.type === 'boolean' ? false : undefined;
  }
  let lastList: string | undefined;
  for (const token of tokens ?? []) {
    if (token.kind === 'option') {
      const o = spec[token.name];
      if (o.type === 'list') {
        (out[token.name] as string[]).push(token.value as string);
        lastList = token.name;
      } else if (o.type === 'boolean') {
        out[token.name] = true;
        lastList = undefined;
      } else {
        if (out[token.name] !== undefined) {
          throw new CliError(`${command}: --${token.name} given twice`, 2);
        }
        out[token.name] = token.value;
        lastList = undefined;
      }
    } else if (token.kind === 'positional') {
      if (!lastList) {
        throw new CliError(`${command}: unexpected argument "${token.value}"`, 2);
      }
      (out[lastList] as string[]).push(token.value);
    }
  }
  return out as ParsedOptions<S>;
}
