/**
 * `flowlens record --out <file.flows.jsonl>`: streams every node agent's flows into a recording until
 * the duration is over or the user stops it (Ctrl-C, SIGTERM), then writes the cluster snapshot beside
 * it; the pair is what `policy generate`/`validate` (--flows, --cluster) and the editor's offline mode read.
 */
import { existsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AgentStreams, type AgentConnection } from '../cluster/agent-streams';
import { ClusterError } from '../cluster/cluster-error';
import { listClusterObjects, snapshotCluster } from '../cluster/cluster-snapshot';
import { FlowRecorder, type RecorderSummary } from '../cluster/flow-recorder';
import { loadKubeConfig } from '../cluster/kubeconfig';
import { snapshotFileFor } from '../core/flows/recording';
import { formatBytes, formatTime } from '../core/policy/generate';
import { parseOptions } from './args';
import { CliError } from './cli-error';
import { MAX_INPUT_BYTES } from './manifest-files';
import { parseDuration } from './policy-command';
import type { CommandIO } from './verdicts-command';

export const RECORD_USAGE = `flowlens record --out <file.flows.jsonl> [options]

Records the flows every node's FlowLens agent reports into a .flows.jsonl file (one flow record v1 per
line), then writes a snapshot of the cluster beside it: together, the --flows and --cluster inputs of
flowlens policy generate/validate, and a recording the editor opens offline (FlowLens: Open Recording).
  --out <file>               The recording to write.
  --duration <d>             How long to record (e.g. 90s, 5m, 1h30m); default: until Ctrl-C or SIGTERM.
  --cluster-snapshot <file>  The snapshot to write (default: --out with .flows.jsonl replaced by .cluster.yaml).
  --kubeconfig <path>        A kubeconfig file instead of KUBECONFIG or ~/.kube/config.
  --context <name>           A kubeconfig context other than the current one.
  --force                    Replace the files if they exist.
  --quiet                    No progress on stderr.

Recording stops early at ${MAX_INPUT_BYTES / (1024 * 1024)} MiB, the most the other commands read. Prints a summary line on stdout.`;

const PROGRESS_EVERY_MS = 10_000;

export async function runRecord(args: readonly string[], io: CommandIO): Promise<number> {
  const opts = parseOptions(
    args,
    {
      out: { type: 'string' },
      duration: { type: 'string' },
      'cluster-snapshot': { type: 'string' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      force: { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
    'record',
  );
  if (!opts.out) {
    throw new CliError('record: --out is required (the .flows.jsonl file to write)', 2);
  }
  const out = opts.out;
  const durationMs = opts.duration === undefined ? undefined : parseDuration(opts.duration, 'record: --duration');
  if (durationMs === 0) {
    throw new CliError('record: --duration must be longer than 0s', 2);
  }
  const snapshotPath = opts['cluster-snapshot'] ?? snapshotFileFor(out);
  if (resolve(snapshotPath) === resolve(out)) {
    throw new CliError('record: --cluster-snapshot and --out name the same file', 2);
  }
  // Checked now rather than found out after recording for an hour.
  for (const [flag, path] of [['--out', out], ['--cluster-snapshot', snapshotPath]]) {
    if (!existsSync(dirname(resolve(path)))) {
      throw new CliError(`record: ${flag}: ${path}: no such directory`);
    }
    if (!opts.force && existsSync(path)) {
      throw new CliError(`record: ${flag}: ${path} exists (--force replaces it)`);
    }
  }
  const progress = opts.quiet ? () => undefined : io.stderr;
  const kc = await cluster(async () => loadKubeConfig({ path: opts.kubeconfig, context: opts.context }));
  // Listed now, both to fail before recording when the cluster cannot be read and to keep the pods that
  // end while recording in the snapshot.
  const before = await cluster(() => listClusterObjects(kc));

  let recorder: FlowRecorder;
  const session = new Session(progress);
  try {
    recorder = await FlowRecorder.open(out, { maxBytes: MAX_INPUT_BYTES, overwrite: opts.force, onStop: () => session.end() });
  } catch (e) {
    throw new CliError(`record: --out: ${(e as Error).message}`);
  }
  const streams = new AgentStreams(kc, {
    onRecords: (records, node, lines) => session.add(recorder, records, node, lines),
    onState: (c) => session.state(c),
  });
  await streams.start();
  const agents = streams.status();
  if (agents.length === 0) {
    streams.stop();
    await recorder.close();
    unlinkSync(out);
    throw new CliError('record: no FlowLens agent pod is running (namespace flowlens-system): deploy the agent first (FlowLens: Deploy Agent)');
  }
  progress(
    `recording from the agents on ${agents.map((a) => a.node).join(', ')} into ${out}${durationMs === undefined ? ' until Ctrl-C' : ` for ${opts.duration}`}`,
  );

  await session.until(recorder, durationMs);
  // Before stopping, which takes every connection down and forgets it.
  const agentState = streams.status();
  streams.stop();
  const summary = await recorder.close();
  if (summary.records === 0) {
    throw new CliError(`record: no flow record arrived in ${formatDuration(session.elapsedMs())} (${agentState.map(describeAgent).join('; ') || 'no agent'}); ${out} is empty`);
  }
  let snapshot: string;
  try {
    snapshot = await snapshotCluster(kc, before);
  } catch (e) {
    const why = e instanceof ClusterError ? e.full : (e as Error).message;
    throw new CliError(`record: ${summary.records} flow records are in ${out}, but the cluster snapshot failed: ${why}`);
  }
  try {
    writeFileSync(snapshotPath, snapshot, { flag: opts.force ? 'w' : 'wx' });
  } catch (e) {
    throw new CliError(`record: ${summary.records} flow records are in ${out}, but ${snapshotPath} cannot be written: ${(e as Error).message}`);
  }
  for (const a of agentState.filter((a) => !session.nodes.has(a.node))) {
    io.stderr(`warning: no records from ${describeAgent(a)}`);
  }
  io.stdout(session.summary(summary, out, snapshotPath, statSync(snapshotPath).size));
  if (summary.stopped && summary.stopped.reason !== 'size-limit') {
    throw new CliError(`record: ${summary.stopped.message}; the recording ends there`);
  }
  return 0;
}

/** What one recording run has seen, and how it ends. */
class Session {
  /** The nodes whose records were recorded. */
  readonly nodes = new Set<string>();
  private fromMs = Infinity;
  private toMs = -Infinity;
  private readonly startedMs = Date.now();
  private readonly down = new Set<string>();
  private finish?: () => void;
  private ended = false;

  constructor(private readonly progress: (text: string) => void) {}

  add(recorder: FlowRecorder, records: readonly { start: string; end: string }[], node: string, lines: readonly string[]): void {
    for (let i = 0; i < lines.length; i++) {
      if (!recorder.write(lines[i])) {
        return;
      }
      this.nodes.add(node);
      this.fromMs = Math.min(this.fromMs, Date.parse(records[i].start));
      this.toMs = Math.max(this.toMs, Date.parse(records[i].end));
    }
  }

  state(c: AgentConnection): void {
    if (this.ended) {
      // Stopping the streams takes every connection down: that is no news.
      return;
    }
    if (c.state === 'down') {
      this.down.add(c.node);
      this.progress(`${describeAgent(c)}; retrying`);
    } else if (c.state === 'streaming' && this.down.delete(c.node)) {
      this.progress(`${c.node}: streaming again`);
    }
  }

  /** Ends the recording: the duration is over, a signal came, or the recorder stopped by itself. */
  end(): void {
    this.ended = true;
    this.finish?.();
  }

  /** Resolves when the duration is over, on SIGINT or SIGTERM, or when end() is called. */
  async until(recorder: FlowRecorder, durationMs: number | undefined): Promise<void> {
    const ended = new Promise<void>((resolve) => (this.finish = resolve));
    if (this.ended) {
      return;
    }
    const end = () => this.end();
    const timer = durationMs === undefined ? undefined : setTimeout(end, durationMs);
    const ticker = setInterval(() => this.progress(`${formatDuration(this.elapsedMs())}: ${recorder.records} records (${formatBytes(recorder.bytes)}) from ${this.nodes.size} node(s)`), PROGRESS_EVERY_MS);
    // Only the first signal is ours: a second one ends the process the usual way.
    process.once('SIGINT', end);
    process.once('SIGTERM', end);
    try {
      await ended;
    } finally {
      clearTimeout(timer);
      clearInterval(ticker);
      process.off('SIGINT', end);
      process.off('SIGTERM', end);
    }
  }

  elapsedMs(): number {
    return Date.now() - this.startedMs;
  }

  summary(s: RecorderSummary, out: string, snapshotPath: string, snapshotBytes: number): string {
    const nodes = [...this.nodes].sort();
    const span = `${formatTime(this.fromMs)} to ${formatTime(this.toMs)} (${formatDuration(this.toMs - this.fromMs)})`;
    const stopped = s.stopped ? `; stopped early: ${s.stopped.message}` : '';
    return `Recorded ${s.records} flow records from ${nodes.length} node(s) (${nodes.join(', ')}), ${span}: ${out} (${formatBytes(s.bytes)}), ${snapshotPath} (${formatBytes(snapshotBytes)})${stopped}`;
  }
}

async function cluster<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof ClusterError) {
      throw new CliError(`record: ${e.full}`);
    }
    throw e;
  }
}

function describeAgent(a: AgentConnection): string {
  return `${a.node}: agent ${a.state}${a.error ? ` (${a.error})` : ''}`;
}

/** 95_000 -> "1m35s" */
function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s % 60}s`;
}
