/**
 * Policies in the editor, in a real extension host, against the demo recording (no cluster needed):
 * a generated policy has no problems; dropping a needed rule gives a warning naming the blocked flow,
 * whose quick fix restores it; schema errors sit at their field; hovers list what a selector matches;
 * each policy has the Validate and Apply lenses; validation reports; applying needs a live cluster.
 */
import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import * as vscode from 'vscode';
import { eventually, screenshot } from './workbench';
import type { TreeNode } from '../../src/extension/cluster-tree';
import { COMMANDS } from '../../src/extension/command-ids';
import type { FlowLensApi } from '../../src/extension/extension';
import type { ApplyResult } from '../../src/extension/policy-review';
import { parsePolicyDocument } from '../../src/core/policy/policy-document';
import type { WhatIfReport } from '../../src/core/policy/what-if';

const DEMO = join(resolve(__dirname, '../../..'), 'examples', 'demo', 'demo.flows.jsonl');

function problems(doc: vscode.TextDocument, severity?: vscode.DiagnosticSeverity): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(doc.uri).filter((d) => d.source === 'FlowLens' && (severity === undefined || d.severity === severity));
}

suite('extension host: policies in the editor (demo recording)', function () {
  this.timeout(120_000);
  let api: FlowLensApi;
  let doc: vscode.TextDocument;

  suiteSetup(async () => {
    api = (await vscode.extensions.getExtension('flowlens.flowlens')!.activate()) as FlowLensApi;
    assert.equal(await vscode.commands.executeCommand(COMMANDS.openRecording, vscode.Uri.file(DEMO)), 'opened');
    await vscode.workspace.getConfiguration('flowlens').update('window', '15m', vscode.ConfigurationTarget.Global);
  });

  suiteTeardown(async () => {
    await vscode.workspace.getConfiguration('flowlens').update('window', undefined, vscode.ConfigurationTarget.Global);
  });

  test('a generated policy opens with no problems, and each policy has the Validate and Apply lenses', async () => {
    doc = (await vscode.commands.executeCommand(COMMANDS.generatePolicy, { type: 'workload', namespace: 'catalog', kind: 'Deployment', name: 'catalog' } satisfies TreeNode, {
      direction: 'ingress',
    })) as vscode.TextDocument;
    assert.match(doc.getText(), /name: catalog-ingress/);
    await eventually('FlowLens checked the document', () => (api.diagnostics.timings.has(doc.uri.toString()) ? true : undefined));
    assert.deepEqual(
      problems(doc).map((d) => d.message),
      [],
    );
    const lenses = (await vscode.commands.executeCommand('vscode.executeCodeLensProvider', doc.uri)) as vscode.CodeLens[];
    assert.deepEqual(
      lenses.map((l) => l.command?.title),
      ['$(check) Validate against live flows', '$(cloud-upload) Apply (dry-run first)'],
    );
  });

  test('dropping the rule ui needs gives a warning naming the blocked flow; its quick fix restores it', async () => {
    const parsed = parsePolicyDocument(doc.getText());
    const rules = parsed.policies[0].policy!.ingress;
    const ui = rules.findIndex((_, i) => {
      const r = parsed.policies[0].rangeOf(['spec', 'ingress', i]);
      return doc.getText().slice(r.start, r.end).includes('kubernetes.io/metadata.name: ui\n');
    });
    assert.ok(ui >= 0, `a rule for ui in\n${doc.getText()}`);
    const removal = parsed.policies[0].removeItem(['spec', 'ingress', ui])!;
    const edit = new vscode.WorkspaceEdit();
    for (const e of removal) {
      edit.replace(doc.uri, new vscode.Range(doc.positionAt(e.start), doc.positionAt(e.end)), e.newText);
    }
    assert.ok(await vscode.workspace.applyEdit(edit));
    const warning = await eventually('a warning naming the blocked flow', () => problems(doc, vscode.DiagnosticSeverity.Warning).find((d) => d.code === 'flowlens.blocksObservedFlow'));
    assert.match(warning.message, /^Blocks observed traffic: Deployment ui\/ui → Deployment catalog\/catalog TCP 8080 \(\d+ connections, [\d.]+ (B|KiB|MiB) in the last 15m of the recording demo\.flows\.jsonl\)$/);
    assert.equal(doc.getText(warning.range), 'ingress');
    await vscode.window.showTextDocument(doc);
    await screenshot('policy-warning');
    const actions = (await vscode.commands.executeCommand('vscode.executeCodeActionProvider', doc.uri, warning.range, vscode.CodeActionKind.QuickFix.value)) as vscode.CodeAction[];
    const allow = actions.find((a) => a.title === 'Allow Deployment ui/ui → Deployment catalog/catalog TCP 8080');
    assert.ok(allow?.edit, actions.map((a) => a.title).join(', '));
    assert.ok(await vscode.workspace.applyEdit(allow.edit));
    await eventually('no warning after the fix', () => (problems(doc, vscode.DiagnosticSeverity.Warning).length === 0 && problems(doc, vscode.DiagnosticSeverity.Error).length === 0 ? true : undefined));
  });

  test('Validate against live flows reports nothing newly denied for the fixed policy', async () => {
    const report = (await vscode.commands.executeCommand(COMMANDS.validatePolicy, doc.uri)) as WhatIfReport;
    assert.equal(report.newlyDenied.length, 0);
    assert.deepEqual(report.policies.added, ['catalog/catalog-ingress']);
    assert.ok(report.flows > 0);
    const shown = vscode.workspace.textDocuments.find((d) => d.getText().startsWith('FlowLens what-if: '));
    assert.match(shown?.getText() ?? '', /PASS: no working flow would be newly denied\./);
  });

  test('hover on the policy\'s podSelector lists the pods it selects', async () => {
    const at = doc.getText().indexOf('podSelector:');
    const hovers = (await vscode.commands.executeCommand('vscode.executeHoverProvider', doc.uri, doc.positionAt(at + 2))) as vscode.Hover[];
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
    // Pod names are escaped for markdown (a name is cluster data).
    assert.match(text, /this policy applies to 2 pods in namespace catalog/, text);
    assert.match(text, /catalog\\?-[a-z0-9]+\\?-[a-z0-9]+/, text);
  });

  test('schema errors sit on their field; a syntax error on its line', async () => {
    const edit = new vscode.WorkspaceEdit();
    const spec = doc.getText().indexOf('spec:\n');
    edit.insert(doc.uri, doc.positionAt(spec + 'spec:\n'.length), '  bogusField: 1\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const error = await eventually('an error on the unknown field', () => problems(doc, vscode.DiagnosticSeverity.Error)[0]);
    assert.equal(doc.getText(error.range), 'bogusField');
    assert.match(error.message, /unknown field/);
    const result = (await vscode.commands.executeCommand(COMMANDS.applyPolicy, doc.uri, 0, { confirm: true })) as ApplyResult;
    assert.deepEqual(result, { outcome: 'refused', reason: 'applying needs a live cluster, and a recording is open (FlowLens: Switch Context)' });
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
