// Sums the results of every suite in a directory into the closing line "N passed, N failed, N skipped",
// and exits 1 if anything failed or nothing ran. Reads {passed, failed, skipped?} JSON files and
// `go test -json` streams (*.gojson).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const name of readdirSync(dir).sort()) {
  const text = readFileSync(join(dir, name), 'utf8');
  if (name.endsWith('.gojson')) {
    // One event per line; a test's final pass/fail/skip event carries its name. A package-level fail
    // without any test of that package (a build or vet error) counts as one failure.
    for (const line of text.split('\n').filter((l) => l.startsWith('{'))) {
      const e = JSON.parse(line);
      if (e.Test && e.Action === 'pass') {
        passed++;
      } else if (e.Test && e.Action === 'skip') {
        skipped++;
      } else if (e.Action === 'fail' && (e.Test || !text.includes(`"Package":"${e.Package}","Test"`))) {
        failed++;
      }
    }
    continue;
  }
  const r = JSON.parse(text);
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped ?? 0;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
