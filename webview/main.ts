/**
 * The webview entry point (service map, flow table and policy panel will live here). It runs under a
 * strict CSP with a nonce; every string it shows is set as text, never as HTML.
 */
interface VsCodeApi {
  postMessage(message: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('root');
if (root) {
  root.textContent = 'FlowLens';
}
vscode.postMessage({ type: 'ready' });
