/**
 * The extension-host test entry: VS Code loads this file (extensionTestsPath) inside a real extension host
 * and calls `run()`. Both runners use it: `@vscode/test-electron` (desktop VS Code, where a network exists)
 * and `run-in-code-server.ts` (code-server's smoke-test-driver payload, here). It runs every
 * `*.vscode-test.js` beside it with mocha's tdd UI; the suffix keeps these files out of the plain Node mocha
 * run (test/run-mocha.ts loads `*.test.js`), since they need the `vscode` module.
 *
 * The extension host's console is not the runner's terminal, so when FLOWLENS_VSCODE_RESULT names a file
 * (run-in-code-server sets it) the counts and the reporter's output are written there as JSON at the end
 * ({passed, failed, skipped, output}), and each reporter line is appended to `<that file>.log` as it is
 * printed, so the runner can stream the progress (and show how far a run got if the host dies).
 */
import { appendFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';

export const TEST_SUFFIX = '.vscode-test.js';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    return d.isDirectory() ? testFiles(path) : d.name.endsWith(TEST_SUFFIX) ? [path] : [];
  });
}

export interface VscodeSuiteResult {
  passed: number;
  failed: number;
  skipped: number;
  /** What the reporter printed, line by line. */
  output: string[];
  /** Set when the suite could not run at all (no test files, a file that throws when loaded). */
  error?: string;
}

export function run(): Promise<void> {
  const resultFile = process.env.FLOWLENS_VSCODE_RESULT;
  const output: string[] = [];
  const write = (r: Omit<VscodeSuiteResult, 'output'>): void => {
    if (resultFile) {
      writeFileSync(resultFile, JSON.stringify({ ...r, output } satisfies VscodeSuiteResult));
    }
  };
  // Keep what the reporter prints, and still print it (test-electron shows the host's console).
  const base = Mocha.reporters.Base as unknown as { consoleLog: (...args: unknown[]) => void };
  const consoleLog = base.consoleLog;
  const emit = (line: string): void => {
    output.push(line);
    if (resultFile) {
      appendFileSync(`${resultFile}.log`, line + '\n');
    }
  };
  base.consoleLog = (...args: unknown[]) => {
    emit(format(...args));
    consoleLog(...args);
  };
  const grep = process.env.FLOWLENS_VSCODE_GREP;
  const mocha = new Mocha({ ui: 'tdd', reporter: 'spec', color: false, timeout: 30000, ...(grep ? { grep } : {}) });

  return new Promise<void>((resolve, reject) => {
    const fail = (error: unknown): void => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      emit(message);
      write({ passed: 0, failed: 1, skipped: 0, error: message });
      base.consoleLog = consoleLog;
      reject(error instanceof Error ? error : new Error(message));
    };
    try {
      const files = testFiles(__dirname).sort();
      if (files.length === 0) {
        fail(new Error(`no ${TEST_SUFFIX} files under ${__dirname}`));
        return;
      }
      files.forEach((f) => mocha.addFile(f));
      const runner = mocha.run((failures) => {
        base.consoleLog = consoleLog;
        write({ passed: runner.stats?.passes ?? 0, failed: failures, skipped: runner.stats?.pending ?? 0 });
        if (failures > 0) {
          reject(new Error(`${failures} extension-host test(s) failed`));
        } else {
          resolve();
        }
      });
    } catch (e) {
      fail(e);
    }
  });
}
