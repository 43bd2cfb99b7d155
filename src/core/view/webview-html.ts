/**
 * The FlowLens webview's HTML, for the extension host (and, identically, for the test harness): a strict
 * Content Security Policy — nothing by default; scripts only with the page's nonce (no 'unsafe-eval', no
 * 'unsafe-inline'); styles and fonts only from the webview's own resource origin (`cspSource`) or with the
 * nonce; images from the resource origin only; no network access (no connect-src) — and the three
 * resources the build produces: dist/webview.js, dist/webview.css and dist/codicon.css (which loads
 * dist/codicon.ttf relative to itself).
 *
 * The codicon stylesheet carries the id "vscode-codicon-stylesheet": @vscode-elements/elements looks it
 * up by that id and links the same file, with the same nonce, inside its components' shadow roots.
 */

export interface WebviewHtmlOptions {
  /** `webview.cspSource`. */
  readonly cspSource: string;
  /** A fresh random nonce per render (e.g. 32 base64url characters from crypto.randomBytes). */
  readonly nonce: string;
  /** `webview.asWebviewUri(...)` of dist/webview.js, dist/webview.css and dist/codicon.css, as strings. */
  readonly scriptUri: string;
  readonly styleUri: string;
  readonly codiconUri: string;
  readonly title?: string;
  /** Extra nonce'd scripts loaded before the bundle (the test harness's stub); none in the extension. */
  readonly preloadScripts?: readonly string[];
  /** Extra stylesheets (the test harness's theme); none in the extension. */
  readonly extraStyles?: readonly string[];
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource}`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function webviewHtml(o: WebviewHtmlOptions): string {
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(o.nonce)) {
    throw new Error('the nonce must be at least 16 base64 characters');
  }
  const a = escapeHtml;
  const n = a(o.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<!-- Nothing by default; scripts only with this page's nonce (no eval); styles and fonts from the extension's dist/ only. -->
<meta http-equiv="Content-Security-Policy" content="${a(contentSecurityPolicy(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${a(o.title ?? 'FlowLens')}</title>
<link id="vscode-codicon-stylesheet" rel="stylesheet" href="${a(o.codiconUri)}" nonce="${n}">
<link rel="stylesheet" href="${a(o.styleUri)}" nonce="${n}">
${(o.extraStyles ?? []).map((s) => `<link rel="stylesheet" href="${a(s)}" nonce="${n}">`).join('\n')}
</head>
<body>
<div id="root"></div>
${(o.preloadScripts ?? []).map((s) => `<script nonce="${n}" src="${a(s)}"></script>`).join('\n')}
<script nonce="${n}" src="${a(o.scriptUri)}"></script>
</body>
</html>
`;
}
