// Bundles the three runtimes with esbuild: the extension host (vscode external), the `flowlens` CLI
// and the webview (script, stylesheet, and the codicon font the webview and @vscode-elements/elements use).
// Type checking is a separate step (`npm run check-types`), as esbuild does not check types.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const production = process.argv.includes('--production');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', legalComments: 'none' };

await Promise.all([
  build({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] }),
  build({
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    define: { FLOWLENS_VERSION: JSON.stringify(version) },
  }),
  build({ ...common, entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'iife', target: 'chrome120' }),
  build({ ...common, entryPoints: ['webview/main.css'], outfile: 'dist/webview.css', target: 'chrome120' }),
]);
// The codicon stylesheet stays a file of its own: the page links it with id="vscode-codicon-stylesheet",
// and @vscode-elements/elements links the same file inside its components' shadow roots.
mkdirSync('dist', { recursive: true });
for (const f of ['codicon.css', 'codicon.ttf']) {
  copyFileSync(`node_modules/@vscode/codicons/dist/${f}`, `dist/${f}`);
}
chmodSync('dist/cli.js', 0o755);
