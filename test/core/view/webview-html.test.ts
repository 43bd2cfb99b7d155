import { strict as assert } from 'node:assert';
import { contentSecurityPolicy, webviewHtml } from '../../../src/core/view/webview-html';

suite('webview HTML and CSP', () => {
  const html = webviewHtml({
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    nonce: 'abcdefghijklmnopqrstuvwx',
    scriptUri: 'https://x/dist/webview.js',
    styleUri: 'https://x/dist/webview.css',
    codiconUri: 'https://x/dist/codicon.css?a=1&b="2"',
  });

  test('a strict CSP: nothing by default, nonce-only scripts, no unsafe-*, no remote sources', () => {
    const csp = contentSecurityPolicy('https://file+.vscode-resource.vscode-cdn.net', 'abcdefghijklmnopqrstuvwx');
    assert.equal(
      csp,
      "default-src 'none'; img-src https://file+.vscode-resource.vscode-cdn.net; style-src https://file+.vscode-resource.vscode-cdn.net 'nonce-abcdefghijklmnopqrstuvwx'; font-src https://file+.vscode-resource.vscode-cdn.net; script-src 'nonce-abcdefghijklmnopqrstuvwx'",
    );
    assert.ok(!html.includes('unsafe-'));
    assert.ok(html.includes(`content="${csp.replace(/'/g, '&#39;')}"`));
  });

  test('every script and stylesheet carries the nonce; the codicon link has the id the elements look for; URIs are escaped', () => {
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    assert.equal(scripts.length, 1);
    assert.ok(scripts.every((s) => s.includes('nonce="abcdefghijklmnopqrstuvwx"')));
    assert.ok(/<link id="vscode-codicon-stylesheet" rel="stylesheet" href="https:\/\/x\/dist\/codicon.css\?a=1&amp;b=&quot;2&quot;" nonce="abcdefghijklmnopqrstuvwx">/.test(html));
    assert.ok(html.includes('<div id="root"></div>'));
  });

  test('a weak nonce is refused', () => {
    assert.throws(() => webviewHtml({ cspSource: 'x', nonce: 'short', scriptUri: '', styleUri: '', codiconUri: '' }), /nonce/);
    assert.throws(() => webviewHtml({ cspSource: 'x', nonce: `"><script>x</script>${'a'.repeat(20)}`, scriptUri: '', styleUri: '', codiconUri: '' }), /nonce/);
  });
});
