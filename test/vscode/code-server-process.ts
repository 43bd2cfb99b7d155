/**
 * What the runners that drive code-server share (run-in-code-server.ts for the extension-host suite,
 * test/e2e for the user-level workflow): finding the code-server binary, a free loopback port, a server in
 * its own process group that is always stopped, headless Chromium opening it, and the result file that
 * scripts/test.sh sums. How this was found to work: ../shared/notes/vscode-in-ci.md.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../chromium';

export const REPO_ROOT = resolve(__dirname, '../../..');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** FLOWLENS_CODE_SERVER, or the wrapper scripts/code-server.sh installs (cached) and prints. */
export function codeServerBinary(): string {
  if (process.env.FLOWLENS_CODE_SERVER) {
    return process.env.FLOWLENS_CODE_SERVER;
  }
  const out = execFileSync('bash', [join(REPO_ROOT, 'scripts/code-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop()!;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** XDG directories under `dir`, so that neither code-server nor Chromium writes into ~. */
export function xdgEnv(dir: string): { XDG_CONFIG_HOME: string; XDG_DATA_HOME: string; XDG_CACHE_HOME: string } {
  return { XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), XDG_CACHE_HOME: join(dir, 'cache') };
}

/**
 * A command (code-server, or a script that execs it) in its own process group, its output in a log file.
 * The group is killed when this process exits, whatever the reason, so no server outlives a test run.
 */
export class ProcessGroup {
  /** Why it exited, once it has. */
  exitReason: string | undefined;
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;

  constructor(command: string, args: readonly string[], opts: { cwd: string; env: NodeJS.ProcessEnv; logFile: string }) {
    const log = createWriteStream(opts.logFile);
    this.child = spawn(command, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.pipe(log, { end: false });
    this.child.stderr!.pipe(log, { end: false });
    this.exited = new Promise((r) =>
      this.child.once('exit', (code, signal) => {
        this.exitReason = `${command} exited (${signal ?? code})`;
        r();
      }),
    );
    process.once('exit', () => this.signal('SIGKILL'));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits until the server answers GET /healthz, failing early if it exits. */
  async waitHealthy(base: string, timeoutMs = 60_000): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; ; await sleep(200)) {
      if (this.exitReason) {
        throw new Error(`${this.exitReason} before it was healthy`);
      }
      if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) {
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(`${base} did not answer /healthz within ${timeoutMs / 1000} s`);
      }
    }
  }

  /** TERM to the whole group, then KILL after a grace period. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.signal('SIGTERM')) {
      return;
    }
    for (const deadline = Date.now() + graceMs; Date.now() < deadline && this.signal(0); ) {
      await sleep(100);
    }
    this.signal('SIGKILL');
  }

  /** Signals the group; false when it is gone. */
  private signal(signal: NodeJS.Signals | 0): boolean {
    try {
      process.kill(-this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Headless Chromium with a throwaway profile, for a workbench on 127.0.0.1: every other request is refused
 * at once (marketplace, telemetry), and the page's console goes to the log file `consoleLog` (returned as a
 * stream for the runner's own lines).
 */
export async function launchChromium(
  profileDir: string,
  consoleLog: string,
  viewport: { width: number; height: number },
): Promise<{ context: BrowserContext; page: Page; log: WriteStream }> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    // Signals are the runner's to handle: playwright's own handlers would SIGKILL Chromium before cleanup runs.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    // Chromium's crash-report database and caches follow XDG: keep them in the throwaway profile, not ~.
    env: { ...process.env, ...xdgEnv(join(profileDir, 'xdg')) },
  });
  await context.route(/^(?!(http|ws):\/\/127\.0\.0\.1[:/]).*/, (route) => route.abort());
  const page = context.pages()[0] ?? (await context.newPage());
  const log = createWriteStream(consoleLog);
  page.on('console', (m) => log.write(`[console.${m.type()}] ${m.text()}\n`));
  page.on('pageerror', (e) => log.write(`[pageerror] ${String(e)}\n`));
  return { context, page, log };
}

/**
 * Runs `cleanup` once, whether the run ends normally or by Ctrl-C / TERM (then exits with 130).
 * Returns the idempotent cleanup for the normal path.
 */
export function cleanupOnSignals(name: string, cleanup: () => Promise<void>): () => Promise<void> {
  let cleaning: Promise<void> | undefined;
  const once = () => (cleaning ??= cleanup());
  const onSignal = (signal: NodeJS.Signals) => {
    console.log(`[${name}] ${signal}: stopping code-server and Chromium`);
    void once().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return once;
}

/** {suite, passed, failed, skipped} to $FLOWLENS_RESULTS/<suite>.json, which scripts/test.sh sums. */
export function writeSuiteResult(suite: string, counts: { passed: number; failed: number; skipped: number }): void {
  if (process.env.FLOWLENS_RESULTS) {
    mkdirSync(process.env.FLOWLENS_RESULTS, { recursive: true });
    writeFileSync(join(process.env.FLOWLENS_RESULTS, `${suite}.json`), JSON.stringify({ suite, ...counts }));
  }
}
