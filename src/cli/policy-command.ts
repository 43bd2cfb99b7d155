/**
 * `flowlens policy generate`: NetworkPolicies from a flow recording, as YAML on stdout.
 * `flowlens policy validate`: what candidate policies would do to the recorded flows; exit code 1 when
 * any working flow would be newly denied, so it can gate a pull request.
 */
import { basename } from 'node:path';
import type { Cluster } from '../core/kube/cluster';
import { enrichFlows } from '../core/flows/enrich';
import { parseAwsIpRanges, type CloudRanges } from '../core/flows/cloud-ranges';
import type { EnrichedFlow } from '../core/flows/enriched-flow';
import { parseFlowsJsonl, type FlowRecord } from '../core/flows/flow-record';
import {
  AGGREGATION_POLICY,
  describeScope,
  formatTime,
  generatePolicies,
  WorkloadIndex,
  type GenerateDirection,
  type GenerateScope,
} from '../core/policy/generate';
import { renderPoliciesYaml } from '../core/policy/policy-yaml';
import { whatIf, WhatIfError, type FlowGroup, type WhatIfReport } from '../core/policy/what-if';
import { formatWhatIfReport } from '../core/policy/what-if-report';
import { parseOptions } from './args';
import { CliError } from './cli-error';
import { loadInputs, readTextFile } from './manifest-files';
import type { CommandIO } from './verdicts-command';

export const POLICY_USAGE = `flowlens policy generate --cluster <files|dirs> --flows <file.flows.jsonl> [options]
flowlens policy validate --cluster <files|dirs> --flows <file.flows.jsonl> --policies <files|dirs> [options]

generate: NetworkPolicies that allow exactly the recorded traffic, as YAML on stdout.
  --namespace <ns>        Policies for the workloads of this namespace (default: every workload in the flows).
  --workload <kind/name>  Policies for this workload only (e.g. deployment/web; with --namespace when the
                          name is not unique).
  --direction <d>         ingress, egress or both (default both).
  --combine               One policy per workload with both directions, instead of one per direction.
  --default-deny          A default-deny policy per namespace, unless it would deny a recorded flow.
  --dns                   Every egress policy allows DNS to the cluster DNS, even where no lookup was recorded.
  --aggregate-cidrs       Replace recorded external addresses sharing a /24 (/64) by their smallest common CIDR.
  --cloud-ranges <file>   AWS ip-ranges.json, to name cloud-service addresses (S3, DYNAMODB, ...).

validate: the recorded flows' verdicts before and after the candidate policies; exit code 1 when a
working flow would be newly denied.
  --policies <files|dirs> Candidate NetworkPolicies (a name in force is replaced).
  --remove <ns/name ...>  Policies in force to remove.
  --window <duration>     Only flows of the last <duration> of the recording (e.g. 15m, 1h).
  --output <format>       text (default) or json.
  --cloud-ranges <file>   As for generate.

Both:
  --cluster   Kubernetes objects (YAML or JSON) as \`kubectl get ... -o yaml\` writes them: namespaces, nodes,
              pods, services, endpointslices, workloads; NetworkPolicies among them are in force.
  --flows     Flow records v1, one JSON object per line (several files may be given).
  --quiet     Do not print notes on stderr.`;

const KIND_ALIASES: Record<string, string> = {
  deployment: 'Deployment',
  deployments: 'Deployment',
  deploy: 'Deployment',
  statefulset: 'StatefulSet',
  statefulsets: 'StatefulSet',
  sts: 'StatefulSet',
  daemonset: 'DaemonSet',
  daemonsets: 'DaemonSet',
  ds: 'DaemonSet',
  replicaset: 'ReplicaSet',
  replicasets: 'ReplicaSet',
  rs: 'ReplicaSet',
  job: 'Job',
  jobs: 'Job',
  cronjob: 'CronJob',
  cronjobs: 'CronJob',
  cj: 'CronJob',
  pod: 'Pod',
  pods: 'Pod',
  po: 'Pod',
};

export function runPolicy(args: readonly string[], io: CommandIO): number {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'generate':
      return runGenerate(rest, io);
    case 'validate':
      return runValidate(rest, io);
    case undefined:
      throw new CliError('policy: a subcommand is required: generate or validate', 2);
    default:
      throw new CliError(`policy: unknown subcommand "${sub}" (expected generate or validate)`, 2);
  }
}

const COMMON = { cluster: { type: 'list' }, flows: { type: 'list' }, 'cloud-ranges': { type: 'string' }, quiet: { type: 'boolean' } } as const;

function runGenerate(args: readonly string[], io: CommandIO): number {
  const opts = parseOptions(
    args,
    {
      ...COMMON,
      namespace: { type: 'string' },
      workload: { type: 'string' },
      direction: { type: 'string' },
      combine: { type: 'boolean' },
      'default-deny': { type: 'boolean' },
      'aggregate-cidrs': { type: 'boolean' },
      dns: { type: 'boolean' },
    },
    'policy generate',
  );
  requireInputs(opts, 'policy generate');
  const direction = (opts.direction ?? 'both') as GenerateDirection;
  if (!['ingress', 'egress', 'both'].includes(direction)) {
    throw new CliError(`policy generate: --direction must be ingress, egress or both, not "${opts.direction}"`, 2);
  }
  const { cluster, notes } = loadInputs(opts.cluster, []);
  const records = readFlows(opts.flows);
  const flows = enrichFlows(cluster, records, { cloudRanges: readCloudRanges(opts['cloud-ranges']) });
  const index = new WorkloadIndex(cluster, flows);
  const scope = resolveScope(cluster, flows, index, opts.namespace, opts.workload);
  const result = generatePolicies(cluster, flows, {
    scope,
    direction,
    combine: opts.combine,
    defaultDeny: opts['default-deny'],
    aggregateCidrs: opts['aggregate-cidrs'],
    dns: opts.dns,
  });
  if (!opts.quiet) {
    for (const note of [...notes, ...result.notes]) {
      io.stderr(`note: ${note}`);
    }
  }
  const what = describeScope(scope);
  if (result.policies.length === 0) {
    // Say why in the one line: the first note (host network, no stable labels, only failed attempts) when there is one.
    throw new CliError(
      result.notes.length > 0
        ? `policy generate: no policy generated for ${what}: ${result.notes[0]}`
        : `policy generate: no recorded flow involves ${what} (${records.length} flow records read, ${timeSpan(records)}${direction === 'both' ? '' : `, direction ${direction}`})`,
    );
  }
  const preamble = [
    `Generated by flowlens policy generate for ${what}, direction ${direction}${opts.combine ? ' (combined)' : ''}${opts['default-deny'] ? ', with default-deny' : ''}.`,
    `From ${result.flowsUsed} of ${records.length} flow records in ${opts.flows.map((f) => basename(f)).join(', ')}, ${formatTime(result.firstSeenMs!)} to ${formatTime(result.lastSeenMs!)}.`,
    opts['aggregate-cidrs'] ? `Addresses: ${AGGREGATION_POLICY}.` : 'Addresses: exactly those observed (/32, /128).',
    'Validate before applying: flowlens policy validate --policies <this file> with the same --cluster and --flows.',
  ];
  io.stdout(renderPoliciesYaml(result.policies, preamble).trimEnd());
  return 0;
}

function runValidate(args: readonly string[], io: CommandIO): number {
  const opts = parseOptions(
    args,
    { ...COMMON, policies: { type: 'list' }, remove: { type: 'list' }, window: { type: 'string' }, output: { type: 'string' } },
    'policy validate',
  );
  requireInputs(opts, 'policy validate');
  if (opts.policies.length === 0 && opts.remove.length === 0) {
    throw new CliError('policy validate: --policies is required (the candidate NetworkPolicies), or --remove', 2);
  }
  const output = opts.output ?? 'text';
  if (output !== 'text' && output !== 'json') {
    throw new CliError(`policy validate: --output must be text or json, not "${output}"`, 2);
  }
  const windowMs = opts.window === undefined ? undefined : parseDuration(opts.window);
  for (const id of opts.remove) {
    if (!/^[^/\s]+\/[^/\s]+$/.test(id)) {
      throw new CliError(`policy validate: --remove: "${id}" must be namespace/name`, 2);
    }
  }
  const { cluster, candidates, notes } = loadInputs(opts.cluster, opts.policies);
  const records = readFlows(opts.flows);
  const flows = enrichFlows(cluster, records, { cloudRanges: readCloudRanges(opts['cloud-ranges']) });
  const lastMs = Math.max(...flows.map((f) => f.endMs));
  let report: WhatIfReport;
  try {
    report = whatIf({ cluster, flows, candidates, removed: opts.remove, ...(windowMs !== undefined ? { window: { fromMs: lastMs - windowMs } } : {}) });
  } catch (e) {
    if (e instanceof WhatIfError) {
      throw new CliError(`policy validate: ${e.message}`);
    }
    throw e;
  }
  if (!opts.quiet) {
    for (const note of [...notes, ...report.notes]) {
      io.stderr(`note: ${note}`);
    }
  }
  if (report.flows === 0) {
    throw new CliError(`policy validate: no flow to validate against${windowMs !== undefined ? ` in the last ${opts.window} of the recording` : ''} (${records.length} flow records read)`);
  }
  if (output === 'json') {
    io.stdout(JSON.stringify(jsonReport(report), null, 2));
  } else {
    io.stdout(formatWhatIfReport(report));
  }
  return report.newlyDenied.length > 0 ? 1 : 0;
}

function requireInputs(opts: { cluster: string[]; flows: string[] }, command: string): void {
  if (opts.cluster.length === 0) {
    throw new CliError(`${command}: --cluster is required (the cluster objects, e.g. from kubectl get namespaces,nodes,pods,services,endpointslices,deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs,networkpolicies -A -o yaml)`, 2);
  }
  if (opts.flows.length === 0) {
    throw new CliError(`${command}: --flows is required (a .flows.jsonl recording)`, 2);
  }
}

function readFlows(files: readonly string[]): FlowRecord[] {
  const records: FlowRecord[] = [];
  for (const file of files) {
    const parsed = parseFlowsJsonl(readTextFile(file, '--flows'), file);
    if (parsed.errors.length > 0) {
      const more = parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more bad line${parsed.errors.length > 2 ? 's' : ''})` : '';
      throw new CliError(`${parsed.errors[0]}${more}`);
    }
    if (parsed.records.length === 0) {
      throw new CliError(`--flows: ${file} has no flow records`);
    }
    records.push(...parsed.records);
  }
  return records;
}

function readCloudRanges(file: string | undefined): CloudRanges | undefined {
  if (file === undefined) {
    return undefined;
  }
  const parsed = parseAwsIpRanges(readTextFile(file, '--cloud-ranges'), file);
  if (!parsed.ok) {
    throw new CliError(`--cloud-ranges: ${parsed.error}`);
  }
  return parsed.ranges;
}

function resolveScope(cluster: Cluster, flows: readonly EnrichedFlow[], index: WorkloadIndex, namespace: string | undefined, workload: string | undefined): GenerateScope {
  const known = index.all(flows);
  if (namespace !== undefined && !cluster.namespaces.has(namespace) && !known.some((w) => w.namespace === namespace)) {
    const names = [...cluster.namespaces.keys()].sort();
    throw new CliError(`--namespace: namespace "${namespace}" is not in the cluster input (namespaces: ${names.join(', ') || 'none'})`);
  }
  if (workload === undefined) {
    return namespace === undefined ? { kind: 'all' } : { kind: 'namespace', namespace };
  }
  const slash = workload.indexOf('/');
  const kind = slash > 0 ? KIND_ALIASES[workload.slice(0, slash).toLowerCase()] : undefined;
  const name = workload.slice(slash + 1);
  if (slash <= 0 || name === '' || name.includes('/')) {
    throw new CliError(`--workload: "${workload}" must be kind/name, e.g. deployment/web`, 2);
  }
  if (!kind) {
    throw new CliError(`--workload: unknown kind "${workload.slice(0, slash)}" (expected deployment, statefulset, daemonset, replicaset, job, cronjob or pod)`, 2);
  }
  const matches = known.filter((w) => w.kind === kind && w.name === name && (namespace === undefined || w.namespace === namespace));
  if (matches.length === 0) {
    const nearby = known.filter((w) => namespace === undefined || w.namespace === namespace).map((w) => `${w.kind.toLowerCase()}/${w.name}${namespace === undefined ? ` (${w.namespace})` : ''}`);
    const list = nearby.length > 0 ? `; known: ${nearby.slice(0, 8).join(', ')}${nearby.length > 8 ? `, and ${nearby.length - 8} more` : ''}` : '';
    throw new CliError(`--workload: no ${kind} "${name}"${namespace !== undefined ? ` in namespace ${namespace}` : ''} in the cluster input or the flows${list}`);
  }
  if (matches.length > 1) {
    throw new CliError(`--workload: ${kind} "${name}" exists in several namespaces (${matches.map((w) => w.namespace).join(', ')}); add --namespace`, 2);
  }
  return { kind: 'workloads', workloads: matches };
}

function timeSpan(records: readonly FlowRecord[]): string {
  const starts = records.map((r) => Date.parse(r.start));
  const ends = records.map((r) => Date.parse(r.end));
  return `${formatTime(Math.min(...starts))} to ${formatTime(Math.max(...ends))}`;
}

/** "90s", "15m", "1h", "1h30m"; `option` names the command and option in the error. */
export function parseDuration(text: string, option = 'policy validate: --window'): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === '' || (!m[1] && !m[2] && !m[3])) {
    throw new CliError(`${option} "${text}" must be a duration such as 5m, 15m, 1h or 1h30m`, 2);
  }
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}

function jsonReport(r: WhatIfReport): unknown {
  const time = (ms: number | undefined) => (ms === undefined ? undefined : formatTime(ms));
  const group = (g: FlowGroup) => ({
    ...g,
    evidence: { ...g.evidence, firstSeen: time(g.evidence.firstSeenMs), lastSeen: time(g.evidence.lastSeenMs), firstSeenMs: undefined, lastSeenMs: undefined },
  });
  return {
    result: r.newlyDenied.length > 0 ? 'fail' : 'pass',
    policies: r.policies,
    flows: r.flows,
    firstSeen: time(r.firstSeenMs),
    lastSeen: time(r.lastSeenMs),
    counts: r.counts,
    newlyDenied: r.newlyDenied.map(group),
    newlyDeniedAttempts: r.newlyDeniedAttempts.map(group),
    newlyAllowed: r.newlyAllowed.map(group),
    deniedBefore: r.deniedBefore.map(group),
    unusedRules: r.unusedRules,
    selectsNothing: r.selectsNothing,
    newlyIsolated: r.newlyIsolated,
    noLongerIsolated: r.noLongerIsolated,
    groups: r.groups.map(group),
    notes: r.notes,
  };
}
