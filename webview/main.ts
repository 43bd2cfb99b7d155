/**
 * The webview entry point: the service map, the flow table and the selection panel (app.ts). It runs under
 * a strict CSP (nonce-only scripts, no eval); every string it shows is set as text, never as HTML.
 */
// First: no module may define a zod schema before jitless is set (see zod-config.ts).
import './zod-config';
// Only the components used, so the bundle carries no more than needed.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-icon/index.js';
import '@vscode-elements/elements/dist/vscode-multi-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { App } from './app';
import { vscodeApi } from './vscode-api';

window.addEventListener('error', (ev) => {
  vscodeApi().postMessage({ type: 'error', message: String(ev.message).slice(0, 1000) });
});

const root = document.getElementById('root');
if (root) {
  new App(root);
}
