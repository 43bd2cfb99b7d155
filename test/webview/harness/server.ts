/**
 * Serves the webview to the browser from loopback exactly as the extension will: the HTML from
 * src/core/view/webview-html.ts (same CSP, a fresh nonce per page), dist/webview.js, dist/webview.css and
 * the codicons; plus the harness's stub (acquireVsCodeApi) and theme variables. `cspSource` is the
 * server's own origin, as `webview.cspSource` is the webview resource origin in VS Code.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { webviewHtml } from '../../../src/core/view/webview-html';
import { BODY_CLASS, themeCss, type ThemeName } from './themes';

export const REPO = join(__dirname, '..', '..', '..', '..');

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.map': 'application/json',
};

export interface Harness {
  readonly origin: string;
  url(theme: ThemeName): string;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const stub = await readFile(join(REPO, 'test', 'webview', 'harness', 'stub.js'), 'utf8');
  let origin = '';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/') {
      const nonce = randomBytes(24).toString('base64url');
      const theme = (url.searchParams.get('theme') ?? 'dark') as ThemeName;
      send(
        200,
        'text/html; charset=utf-8',
        webviewHtml({
          cspSource: origin,
          nonce,
          scriptUri: `${origin}/dist/webview.js`,
          styleUri: `${origin}/dist/webview.css`,
          codiconUri: `${origin}/dist/codicon.css`,
          preloadScripts: [`${origin}/harness/stub.js`],
          extraStyles: [`${origin}/harness/theme.css?theme=${encodeURIComponent(theme)}`],
        }),
      );
      return;
    }
    if (url.pathname === '/harness/stub.js') {
      send(200, TYPES['.js'], stub);
      return;
    }
    if (url.pathname === '/harness/theme.css') {
      const theme = url.searchParams.get('theme') as ThemeName;
      send(200, TYPES['.css'], themeCss(theme in BODY_CLASS ? theme : 'dark'));
      return;
    }
    const rel = normalize(url.pathname).replace(/^\/+/, '');
    if (!rel.startsWith('dist/') || rel.includes('..')) {
      send(404, 'text/plain', 'not found');
      return;
    }
    readFile(join(REPO, rel)).then(
      (body) => send(200, TYPES[rel.slice(rel.lastIndexOf('.'))] ?? 'application/octet-stream', body),
      () => send(404, 'text/plain', 'not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (theme) => `${origin}/?theme=${theme}&bodyClass=${BODY_CLASS[theme]}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
