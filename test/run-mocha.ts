/**
 * Runs the TypeScript suites (compiled to out/) with mocha's tdd UI and the spec reporter, and writes
 * {passed, failed, skipped} to $FLOWLENS_RESULTS/ts.json so the test command can sum every suite.
 * Usage: node out/test/run-mocha.js [--grep pattern] [file filter]
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    return d.isDirectory() ? testFiles(path) : d.name.endsWith('.test.js') ? [path] : [];
  });
}

const args = process.argv.slice(2);
const grepAt = args.indexOf('--grep');
const grep = grepAt >= 0 ? args.splice(grepAt, 2)[1] : undefined;
const filter = args[0];
const mocha = new Mocha({ ui: 'tdd', reporter: 'spec', timeout: 20000, ...(grep ? { grep } : {}) });
for (const file of testFiles(__dirname).sort()) {
  if (!filter || file.includes(filter)) {
    mocha.addFile(file);
  }
}
const runner = mocha.run((failures) => {
  const passed = runner.stats?.passes ?? 0;
  const skipped = runner.stats?.pending ?? 0;
  if (process.env.FLOWLENS_RESULTS) {
    mkdirSync(process.env.FLOWLENS_RESULTS, { recursive: true });
    writeFileSync(join(process.env.FLOWLENS_RESULTS, 'ts.json'), JSON.stringify({ suite: 'typescript', passed, failed: failures, skipped }));
  }
  process.exitCode = failures > 0 ? 1 : 0;
});
