/**
 * `flowlens verdicts --cluster <files> --policies <files> --probes <probes.json>`: the verdict of every
 * probe under the policies in force plus the candidates, in probe order, as JSON on stdout.
 */
import { withPolicies } from '../core/kube/cluster';
import { PolicyEngine, ProbeError } from '../core/policy/engine';
import { parseOptions } from './args';
import { CliError } from './cli-error';
import { loadInputs, readTextFile } from './manifest-files';
import { parseProbes } from './probes-file';

export const VERDICTS_USAGE = `flowlens verdicts --cluster <files|dirs> [--policies <files|dirs>] --probes <probes.json>

  --cluster   Kubernetes objects (YAML or JSON; one object, a List, or several documents) as
              \`kubectl get ... -o yaml\` writes them. NetworkPolicies among them are in force.
  --policies  Candidate NetworkPolicies, added to (or replacing, by name) those in force.
  --probes    A JSON list of {"from", "to", "port", "protocol"}; from/to are "namespace/pod" or {"ip": "..."}.
  --output    json (default) or text: one line per probe, for people.
  --quiet     Do not print notes (skipped kinds, assumptions) on stderr.

Prints {"results": [{"from", "to", "port", "protocol", "verdict": "allow"|"deny", "explanation"}]}.`;

export interface CommandIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export function runVerdicts(args: readonly string[], io: CommandIO): number {
  const opts = parseOptions(args, { cluster: { type: 'list' }, policies: { type: 'list' }, probes: { type: 'string' }, output: { type: 'string' }, quiet: { type: 'boolean' } }, 'verdicts');
  if (opts.cluster.length === 0) {
    throw new CliError('verdicts: --cluster is required (the cluster objects, e.g. from kubectl get pods,namespaces,networkpolicies -A -o yaml)', 2);
  }
  if (!opts.probes) {
    throw new CliError('verdicts: --probes is required', 2);
  }
  const output = opts.output ?? 'json';
  if (output !== 'json' && output !== 'text') {
    throw new CliError(`verdicts: --output must be json or text, not "${output}"`, 2);
  }
  const probes = parseProbes(readTextFile(opts.probes, '--probes'), opts.probes);
  const { cluster, candidates, notes } = loadInputs(opts.cluster, opts.policies);
  if (!opts.quiet) {
    for (const note of notes) {
      io.stderr(`note: ${note}`);
    }
  }
  const engine = new PolicyEngine(cluster, withPolicies(cluster.policies, candidates));
  const results = probes.map(({ probe, line }, i) => {
    let prepared;
    try {
      prepared = engine.prepare(probe);
    } catch (e) {
      if (e instanceof ProbeError) {
        throw new CliError(`${opts.probes}:${line}: probe ${i}: ${e.message}`);
      }
      throw e;
    }
    const verdict = engine.evaluate(prepared);
    return {
      from: probe.from,
      to: probe.to,
      port: probe.port,
      protocol: prepared.protocol,
      verdict: verdict.allowed ? 'allow' : 'deny',
      explanation: verdict.explanation,
    };
  });
  if (output === 'text') {
    for (const r of results) {
      io.stdout(`${r.verdict.toUpperCase().padEnd(5)}  ${r.explanation.summary.replace(/^(allow|deny): /, '')}`);
      for (const note of r.explanation.notes) {
        io.stdout(`       note: ${note}`);
      }
    }
  } else {
    io.stdout(JSON.stringify({ results }, null, 2));
  }
  return 0;
}
