/**
 * `npm run bench:store:vscode`: the flow store benchmark (scripts/store-benchmark.ts) inside the real VS Code
 * extension host, where the extension's store runs. run-in-code-server loads this module instead of the test
 * suite (--tests); the figures stream back through its log file.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { runStoreBenchmark } from '../../scripts/store-benchmark';
import type { VscodeSuiteResult } from './index';

export function run(): Promise<void> {
  const resultFile = process.env.FLOWLENS_VSCODE_RESULT;
  const output: string[] = [];
  const print = (line: string) => {
    output.push(line);
    if (resultFile) {
      appendFileSync(`${resultFile}.log`, `${line}\n`);
    }
  };
  // The extension host runs without --expose-gc; V8 can still hand out gc() to a fresh context.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  print('flow store, in the VS Code extension host:');
  runStoreBenchmark(print, gc);
  if (resultFile) {
    writeFileSync(resultFile, JSON.stringify({ passed: 0, failed: 0, skipped: 0, output } satisfies VscodeSuiteResult));
  }
  return Promise.resolve();
}
