/**
 * The `flowlens` command: dispatches to subcommands and turns every failure into one line on stderr
 * and a non-zero exit code. Set FLOWLENS_DEBUG=1 to see stack traces of internal errors.
 */
import { CliError } from './cli-error';
import { POLICY_USAGE, runPolicy } from './policy-command';
import { RECORD_USAGE, runRecord } from './record-command';
import { runVerdicts, VERDICTS_USAGE, type CommandIO } from './verdicts-command';

declare const FLOWLENS_VERSION: string;

const USAGE = `Usage: flowlens <command> [options]

Commands:
  verdicts   Evaluate connections (probes) under NetworkPolicies, with explanations.
  policy     generate: NetworkPolicies from recorded flows; validate: what candidate policies would
             do to recorded flows (exit code 1 when a working flow would be newly denied).
  record     Record the flows of every node's agent into a .flows.jsonl file, with a cluster snapshot.

flowlens <command> --help shows a command's options.`;

const COMMANDS: Record<string, { run: (args: readonly string[], io: CommandIO) => number | Promise<number>; usage: string }> = {
  verdicts: { run: runVerdicts, usage: VERDICTS_USAGE },
  policy: { run: runPolicy, usage: POLICY_USAGE },
  record: { run: runRecord, usage: RECORD_USAGE },
};

/** The exit code: directly from synchronous commands (verdicts, policy), as a promise from asynchronous ones (record). */
export function main(argv: readonly string[], io: CommandIO): number | Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') {
    io.stdout(typeof FLOWLENS_VERSION === 'string' ? FLOWLENS_VERSION : 'dev');
    return 0;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    io.stderr(`flowlens: unknown command "${command}"\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(entry.usage);
    return 0;
  }
  try {
    const code = entry.run(rest, io);
    return typeof code === 'number' ? code : code.catch((e: unknown) => failure(e, io));
  } catch (e) {
    return failure(e, io);
  }
}

function failure(e: unknown, io: CommandIO): number {
  if (e instanceof CliError) {
    io.stderr(`flowlens: ${e.message}`);
    return e.exitCode;
  }
  io.stderr(`flowlens: internal error: ${(e as Error)?.message ?? String(e)} (set FLOWLENS_DEBUG=1 for details)`);
  if (process.env.FLOWLENS_DEBUG) {
    io.stderr(String((e as Error)?.stack));
  }
  return 70;
}

if (require.main === module) {
  const write = (stream: NodeJS.WriteStream) => (text: string) => stream.write(`${text}\n`);
  void Promise.resolve(main(process.argv.slice(2), { stdout: write(process.stdout), stderr: write(process.stderr) })).then((code) => {
    process.exitCode = code;
  });
}
