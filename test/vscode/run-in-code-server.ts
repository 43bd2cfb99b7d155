/**
 * Runs the extension-host suite (test/vscode/index.ts and its `*.vscode-test.js` files) inside the real
 * VS Code workbench and extension host of code-server, driven by headless Debian Chromium, as
 * ../shared/notes/vscode-in-ci.md describes (desktop VS Code cannot be downloaded here):
 *
 * 1. one code-server on 127.0.0.1 (free port) with throwaway user-data, extensions and XDG directories and
 *    `--vscode-option enable-smoke-test-driver`, in its own process group;
 * 2. Chromium opens `/?folder=<temp workspace>&payload=...`, the payload naming this repository as the
 *    development extension and index.js as the tests; the workbench hands the run's exit code to
 *    `codeAutomationExit` (exposed before the page loads, or the workbench never finds it);
 * 3. the suite's output streams back through `$FLOWLENS_VSCODE_RESULT.log` and its counts through the file
 *    FLOWLENS_VSCODE_RESULT (index.ts writes both);
 *    {suite, passed, failed, skipped} goes to $FLOWLENS_RESULTS/vscode.json, as run-mocha writes ts.json;
 * 4. a screenshot of the workbench and the logs go to out/test-artifacts/vscode/; code-server (its whole
 *    process group) and Chromium are always stopped, also on failure, timeout or Ctrl-C.
 *
 * The extension host inherits code-server's environment: FLOWLENS_SANDBOX_KUBECONFIG reaches the tests
 * when set. Usage: node out/test/vscode/run-in-code-server.js [--grep pattern] [--tests other-module.js]
 * Environment: FLOWLENS_CODE_SERVER (the binary; default: what scripts/code-server.sh prints),
 * FLOWLENS_VSCODE_TIMEOUT (seconds for the whole run, default 300), FLOWLENS_CHROMIUM.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { cleanupOnSignals, codeServerBinary, freePort, launchChromium, ProcessGroup, REPO_ROOT, writeSuiteResult, xdgEnv } from './code-server-process';
import type { VscodeSuiteResult } from './index';

const ARTIFACTS = join(REPO_ROOT, 'out/test-artifacts/vscode');
const TIMEOUT_MS = Number(process.env.FLOWLENS_VSCODE_TIMEOUT ?? 300) * 1000;

function log(message: string): void {
  console.log(`[vscode] ${message}`);
}

/** Resident memory (KiB) of the processes `pick` selects, read from /proc. */
function rssKiB(pick: (pid: number, ppid: number, pgid: number) => boolean, descendantsOf?: number): number {
  const procs: { pid: number; ppid: number; pgid: number; rss: number }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      // Fields after the parenthesised command: state ppid pgrp ...; rss (pages) is field 24.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.push({ pid: Number(name), ppid: Number(f[1]), pgid: Number(f[2]), rss: Number(f[21]) * 4 });
    } catch {
      // gone meanwhile
    }
  }
  let chosen = procs.filter((p) => pick(p.pid, p.ppid, p.pgid));
  if (descendantsOf !== undefined) {
    const inTree = new Set([descendantsOf]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of procs) {
        if (!inTree.has(p.pid) && inTree.has(p.ppid)) {
          inTree.add(p.pid);
          grew = true;
        }
      }
    }
    chosen = chosen.filter((p) => inTree.has(p.pid) && p.pid !== descendantsOf);
  }
  return chosen.reduce((s, p) => s + p.rss, 0);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const grepAt = args.indexOf('--grep');
  const grep = grepAt >= 0 ? args[grepAt + 1] : undefined;
  // Another extension-tests module beside index.js (the extension-host benchmark).
  const testsAt = args.indexOf('--tests');
  const tests = testsAt >= 0 ? args[testsAt + 1] : 'index.js';
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

  if (!existsSync(join(REPO_ROOT, 'dist/extension.js'))) {
    throw new Error('dist/extension.js is missing: run `npm run build` first');
  }
  const binary = codeServerBinary();
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });

  const tmp = mkdtempSync(join(tmpdir(), 'flowlens-vscode-'));
  const dirs = {
    userData: join(tmp, 'user-data'),
    extensions: join(tmp, 'extensions'),
    workspace: join(tmp, 'workspace'),
    chromium: join(tmp, 'chromium'),
    xdg: join(tmp, 'xdg'),
  };
  Object.values(dirs).forEach((d) => mkdirSync(d, { recursive: true }));
  writeFileSync(join(dirs.workspace, 'README.md'), '# FlowLens extension-host test workspace\n');
  // No chat side bar taking a third of every screenshot.
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(join(dirs.userData, 'User', 'settings.json'), JSON.stringify({ 'chat.disableAIFeatures': true, 'workbench.secondarySideBar.defaultVisibility': 'hidden' }));
  const resultFile = join(tmp, 'result.json');

  let codeServer: ProcessGroup | undefined;
  let context: BrowserContext | undefined;
  let sampler: NodeJS.Timeout | undefined;
  const peak = { codeServerKiB: 0, chromiumKiB: 0 };
  // Ctrl-C or a TERM from the test command stops what was started, as the normal path does.
  const cleanup = cleanupOnSignals('vscode', async () => {
    if (sampler) {
      clearInterval(sampler);
    }
    await context?.close().catch(() => undefined);
    await codeServer?.stop();
    // Keep the host's logs (the extension host's own log, FlowLens's output channel) with the artifacts.
    if (existsSync(join(dirs.userData, 'logs'))) {
      cpSync(join(dirs.userData, 'logs'), join(ARTIFACTS, 'logs'), { recursive: true });
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  try {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...xdgEnv(dirs.xdg),
      FLOWLENS_VSCODE_RESULT: resultFile,
      ...(grep ? { FLOWLENS_VSCODE_GREP: grep } : {}),
    };
    delete env.VSCODE_IPC_HOOK_CLI;
    codeServer = new ProcessGroup(binary, [
      '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
      '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions,
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--disable-getting-started-override', '--ignore-last-opened',
      '--vscode-option', 'enable-smoke-test-driver',
      // No login shell to "resolve" the environment: the extension host gets exactly this environment, and
      // nothing runs outside code-server's process group (the shell would get a session of its own).
      '--vscode-option', 'force-disable-user-env',
    ], { cwd: dirs.workspace, env, logFile: join(ARTIFACTS, 'code-server.log') });
    log(`code-server ${binary} on 127.0.0.1:${port} (pid ${codeServer.pid})`);

    const csPgid = codeServer.pid;
    sampler = setInterval(() => {
      peak.codeServerKiB = Math.max(peak.codeServerKiB, rssKiB((_p, _pp, pgid) => pgid === csPgid));
      peak.chromiumKiB = Math.max(peak.chromiumKiB, rssKiB((_p, _pp, pgid) => pgid !== csPgid, process.pid));
    }, 1000);

    const base = `http://127.0.0.1:${port}`;
    await codeServer.waitHealthy(base).catch((e: Error) => {
      throw new Error(`${e.message}; see ${join(ARTIFACTS, 'code-server.log')}`);
    });
    log(`code-server healthy after ${elapsed()}`);

    const browser = await launchChromium(dirs.chromium, join(ARTIFACTS, 'workbench.log'), { width: 1400, height: 900 });
    context = browser.context;
    const { page, log: browserLog } = browser;
    let exitCode: (code: number) => void = () => undefined;
    const exitCodeArrived = new Promise<number>((r) => (exitCode = r));
    await page.exposeFunction('codeAutomationLog', (type: string, logArgs: unknown[]) => {
      browserLog.write(`[automation.${type}] ${(Array.isArray(logArgs) ? logArgs : [logArgs]).map(String).join(' ')}\n`);
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => exitCode(code));

    const remote = (path: string) => `vscode-remote://127.0.0.1:${port}${path}`;
    const payload = [
      ['extensionDevelopmentPath', remote(REPO_ROOT)],
      ['extensionTestsPath', remote(join(__dirname, tests))],
    ];
    await page.goto(`${base}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    log(`workbench opened after ${elapsed()}; waiting for the suite (timeout ${TIMEOUT_MS / 1000} s)`);

    // Print the reporter's lines as the extension host writes them.
    let printed = 0;
    const printProgress = (): void => {
      try {
        const text = readFileSync(`${resultFile}.log`, 'utf8');
        const end = text.lastIndexOf('\n') + 1;
        if (end > printed) {
          process.stdout.write(text.slice(printed, end));
          printed = end;
        }
      } catch {
        // not started yet
      }
    };
    // Tests ask for screenshots of the live workbench by writing <result>.shot-<name>; the file goes once taken.
    let shooting = false;
    const takeRequestedScreenshots = (): void => {
      if (shooting) {
        return;
      }
      const prefix = `${basename(resultFile)}.shot-`;
      const request = readdirSync(dirname(resultFile)).find((f) => f.startsWith(prefix));
      if (!request) {
        return;
      }
      shooting = true;
      const name = request.slice(prefix.length).replace(/[^\w.-]/g, '_');
      void page
        .screenshot({ path: join(ARTIFACTS, `${name}.png`) })
        .then(() => log(`screenshot ${name}.png`), (e: unknown) => log(`screenshot ${name} failed: ${String(e)}`))
        .finally(() => {
          rmSync(join(dirname(resultFile), request), { force: true });
          shooting = false;
        });
    };
    const tail = setInterval(() => {
      printProgress();
      takeRequestedScreenshots();
    }, 250);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      exitCodeArrived,
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), TIMEOUT_MS - (Date.now() - started)))),
      codeServer.exited.then(() => undefined),
    ]);
    clearTimeout(timer);
    clearInterval(tail);
    printProgress();
    log(code === undefined ? `no exit code after ${elapsed()}: ${codeServer.exitReason ?? 'timed out'}` : `extension host exit code ${code} after ${elapsed()}`);
    await page.screenshot({ path: join(ARTIFACTS, 'workbench.png') }).catch((e) => log(`screenshot failed: ${String(e)}`));

    const result = existsSync(resultFile) ? (JSON.parse(readFileSync(resultFile, 'utf8')) as VscodeSuiteResult) : undefined;
    if (!result) {
      log('the suite wrote no result (it never ran, or the extension host died); logs are in ' + ARTIFACTS);
    }
    const counts = { passed: result?.passed ?? 0, failed: result?.failed ?? 0, skipped: result?.skipped ?? 0 };
    // A run that ended badly counts as a failure even if no test failed (host crash, timeout, no exit code).
    if (counts.failed === 0 && (code !== 0 || !result)) {
      counts.failed = 1;
    }
    writeSuiteResult('vscode', counts);
    log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped in ${elapsed()}`);
    return counts.failed > 0 ? 1 : 0;
  } finally {
    await cleanup();
    log(`peak RSS: code-server group ${(peak.codeServerKiB / 1024).toFixed(0)} MiB, Chromium ${(peak.chromiumKiB / 1024).toFixed(0)} MiB; artifacts in ${ARTIFACTS}; total ${elapsed()}`);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`[vscode] ${e instanceof Error ? e.message : String(e)}`);
    writeSuiteResult('vscode', { passed: 0, failed: 1, skipped: 0 });
    process.exit(1);
  },
);
