/**
 * The FlowLens extension in a real VS Code extension host: this repository is the development extension,
 * it activates, contributes its commands and writes its log. Runs through test/vscode/index.ts.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as vscode from 'vscode';
import { eventually } from './workbench';
import { COMMANDS } from '../../src/extension/command-ids';

const EXTENSION_ID = 'flowlens.flowlens';
const REPO_ROOT = resolve(__dirname, '../../..');


suite('extension host: FlowLens loads', () => {
  test('this repository is the development extension', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed in the extension host`);
    assert.equal(ext.extensionUri.fsPath, REPO_ROOT);
    const manifest = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; main: string };
    assert.equal(ext.packageJSON.version, manifest.version);
    assert.equal(ext.packageJSON.main, './dist/extension.js');
  });

  test('activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    await ext.activate();
    assert.ok(ext.isActive);
  });

  test('every command in package.json is registered, and the command IDs match it', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    await ext.activate();
    const contributed = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command).sort();
    assert.deepEqual(contributed, Object.values(COMMANDS).sort());
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const c of contributed) {
      assert.ok(registered.has(c), `${c} is registered`);
    }
  });

  test('FlowLens: Show Log runs and shows the FlowLens channel with the activation line', async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)!.activate();
    await vscode.commands.executeCommand(COMMANDS.showLog);
    // A shown output channel is a text document of the `output` scheme; a log channel's holds its log lines.
    const doc = await eventually('the FlowLens output channel to be open with the activation line', () =>
      vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'output' && d.uri.path.includes('FlowLens') && /FlowLens \S+ activated/.test(d.getText())),
    );
    assert.match(doc.getText(), /\[info\] FlowLens \d+\.\d+\.\d+ activated/);
  });
});
