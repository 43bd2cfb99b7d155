/**
 * The extension's entry point: wiring only. Behaviour lives in the core (src/core, no vscode import)
 * and in one module per provider here.
 */
import * as vscode from 'vscode';
import { COMMANDS } from './command-ids';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('FlowLens', { log: true });
  context.subscriptions.push(log, vscode.commands.registerCommand(COMMANDS.showLog, () => log.show()));
  log.info(`FlowLens ${context.extension.packageJSON.version as string} activated`);
}

export function deactivate(): void {}
