/** The VS Code webview API, acquired once; typed with FlowLens's messages and persisted state. */
import type { WebviewMessage } from '../src/core/view/protocol';
import type { UiState } from './state';

export interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: UiState): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

let api: VsCodeApi | undefined;

export function vscodeApi(): VsCodeApi {
  api ??= acquireVsCodeApi();
  return api;
}
