// Sums the results of every suite in a directory into the closing line "N passed, N failed", and
// exits 1 if anything failed or nothing ran. Reads {passed, failed} JSON files and `go test -json` streams.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
let passed = 0;
let failed = 0;
for (const name of readdirSync(dir).sort()) {
  const text = readFileSync(join(dir, name), 'utf8');
  if (name === 'go.json') {
    // go test -json: one event per line; a test's final pass/fail event carries its name.
    // A package-level fail without a test name (a build error) counts as one failure.
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) {continue;}
      const e = JSON.parse(line);
      if (e.Action === 'pass' && e.Test) {passed++;}
      if (e.Action === 'fail' && (e.Test || !text.includes(`"Package":"${e.Package}","Test"`))) {failed++;}
    }
    continue;
  }
  const r = JSON.parse(text);
  passed += r.passed;
  failed += r.failed;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
