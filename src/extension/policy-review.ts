/**
 * "Validate against live flows" and "Apply (dry-run first)" for a NetworkPolicy document.
 *
 * Validate: the core's what-if of the document's policies over the window's flows, as a readable report.
 * Apply: what-if, then a server-side dry run (the API server's validation errors shown at their place in
 * the document), then a diff of the cluster's policy against the dry run's result, then, after the user
 * confirms — explicitly naming the observed flows it would newly block, if any — a server-side apply with
 * the field manager `flowlens`. Only the policies of the document are ever written.
 */
import * as vscode from 'vscode';
import type { KubernetesObject } from '@kubernetes/client-node';
import { applyPolicies, dryRunPolicies, type PolicyChange, type PolicyOutcome } from '../cluster/policy-apply';
import type { PolicyObject } from '../core/policy/policy-document';
import { whatIf, WhatIfError, type FlowGroup, type WhatIfReport } from '../core/policy/what-if';
import { flowText, formatWhatIfReport, shortEvidenceText } from '../core/policy/what-if-report';
import { tooLargeToCheck, type PolicyDiagnostics } from './policy-diagnostics';
import type { SourceManager } from './source-manager';

export interface ReviewContext {
  readonly sources: SourceManager;
  readonly diagnostics: PolicyDiagnostics;
  readonly log: vscode.LogOutputChannel;
}

export type ApplyResult =
  | { readonly outcome: 'applied'; readonly changes: readonly PolicyChange[]; readonly newlyDenied: readonly FlowGroup[] }
  | { readonly outcome: 'unchanged' }
  | { readonly outcome: 'cancelled'; readonly newlyDenied: readonly FlowGroup[] }
  | { readonly outcome: 'refused'; readonly reason: string };

/** Options for callers that must not ask (tests): the answer the confirmation dialog would get. */
export interface ApplyArgs {
  readonly confirm?: boolean;
  /** Whether to take over fields another field manager owns, when asked. */
  readonly force?: boolean;
}

const SCHEME = 'flowlens-diff';

/** Serves the two sides of the apply diff (cluster now, after the apply) as read-only documents. */
export class ApplyDiffContent implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();

  register(): vscode.Disposable {
    return vscode.workspace.registerTextDocumentContentProvider(SCHEME, this);
  }

  set(path: string, text: string): vscode.Uri {
    this.texts.set(path, text);
    return vscode.Uri.from({ scheme: SCHEME, path });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.path) ?? '';
  }
}

async function documentOf(uri: vscode.Uri | undefined): Promise<vscode.TextDocument | undefined> {
  if (uri) {
    return vscode.workspace.openTextDocument(uri);
  }
  return vscode.window.activeTextEditor?.document;
}

/** The document's valid policies, or why there are none to use. */
function policiesOf(ctx: ReviewContext, document: vscode.TextDocument, index?: number): PolicyObject[] | string {
  const tooLarge = tooLargeToCheck(document);
  if (tooLarge) {
    return tooLarge;
  }
  const doc = ctx.diagnostics.parse(document);
  if (!doc.containsNetworkPolicy) {
    return 'the document holds no NetworkPolicy';
  }
  if (doc.errors.length > 0) {
    return `the document has ${doc.errors.length} error${doc.errors.length === 1 ? '' : 's'} (see Problems): fix ${doc.errors.length === 1 ? 'it' : 'them'} first`;
  }
  const chosen = index === undefined ? doc.policies : doc.policies.slice(index, index + 1);
  return chosen.length > 0 ? [...chosen] : 'no such policy in the document';
}

function whatIfOf(ctx: ReviewContext, policies: readonly PolicyObject[]): { report: WhatIfReport; windowLabel: string } | string {
  const context = ctx.diagnostics.context();
  if (!context) {
    return 'no cluster is connected and no recording is open: there are no flows to check against';
  }
  try {
    const report = whatIf({ cluster: context.cluster, flows: context.flows, candidates: policies.map((p) => p.policy!), window: context.window });
    return { report, windowLabel: context.windowLabel };
  } catch (e) {
    if (e instanceof WhatIfError) {
      return e.message;
    }
    throw e;
  }
}

/** FlowLens: Validate against live flows — the report opens beside the document. */
export async function validateCommand(ctx: ReviewContext, uri?: vscode.Uri): Promise<WhatIfReport | undefined> {
  const document = await documentOf(uri);
  if (!document) {
    void vscode.window.showErrorMessage('FlowLens: open a NetworkPolicy YAML file to validate.');
    return undefined;
  }
  const policies = policiesOf(ctx, document);
  const checked = typeof policies === 'string' ? policies : whatIfOf(ctx, policies);
  if (typeof checked === 'string') {
    void vscode.window.showErrorMessage(`FlowLens: cannot validate ${vscode.workspace.asRelativePath(document.uri)}: ${checked}.`);
    return undefined;
  }
  const { report, windowLabel } = checked;
  const content = [`FlowLens what-if: ${vscode.workspace.asRelativePath(document.uri)} against ${windowLabel}`, '', formatWhatIfReport(report), ''].join('\n');
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ content, language: 'plaintext' }), { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
  return report;
}

/** FlowLens: Apply (dry-run first) — one policy of the document (`index`) or all of them. */
export async function applyCommand(ctx: ReviewContext, diff: ApplyDiffContent, uri?: vscode.Uri, index?: number, args?: ApplyArgs): Promise<ApplyResult> {
  const refuse = (reason: string): ApplyResult => {
    void vscode.window.showErrorMessage(`FlowLens: not applied: ${reason}.`);
    return { outcome: 'refused', reason };
  };
  const document = await documentOf(uri);
  if (!document) {
    return refuse('open a NetworkPolicy YAML file to apply');
  }
  const session = ctx.sources.session;
  if (!session) {
    return refuse(ctx.sources.source ? 'applying needs a live cluster, and a recording is open (FlowLens: Switch Context)' : 'no cluster is connected');
  }
  const policies = policiesOf(ctx, document, index);
  if (typeof policies === 'string') {
    return refuse(policies);
  }
  // 1. What-if over the observed flows.
  const checked = whatIfOf(ctx, policies);
  if (typeof checked === 'string') {
    return refuse(checked);
  }
  const blocked = checked.report.newlyDenied;
  // 2. Server-side dry run: the API server's own validation, and what would change.
  const manifests = policies.map((p) => ({ ...(p.raw as KubernetesObject), metadata: { ...(p.raw as KubernetesObject).metadata, namespace: p.policy!.namespace } }));
  let dryRun = await dryRunPolicies(session.kubeConfig, manifests);
  // Fields another manager (kubectl, a GitOps controller) owns: only the user may decide to take them over.
  const conflict = dryRun.find((o) => !o.ok && o.error.kind === 'conflict');
  let force = false;
  if (conflict && !conflict.ok) {
    const take = 'Take Ownership and Continue';
    const choice = args?.force === undefined ? await vscode.window.showWarningMessage(`FlowLens: ${conflict.error.message}`, { modal: true }, take) : args.force ? take : undefined;
    if (choice === take) {
      force = true;
      dryRun = await dryRunPolicies(session.kubeConfig, manifests, { force });
    }
  }
  const failure = showFailures(ctx, document, policies, dryRun);
  if (failure) {
    return { outcome: 'refused', reason: failure };
  }
  const changes = dryRun as PolicyChange[];
  const changed = changes.filter((c) => c.action !== 'unchanged');
  if (changed.length === 0) {
    void vscode.window.showInformationMessage(`FlowLens: ${describe(changes)} ${changes.length === 1 ? 'is' : 'are'} already in ${session.label} as written.`);
    return { outcome: 'unchanged' };
  }
  // 3. The diff: the cluster's policy (empty when new) against the dry run's result.
  for (const c of changed) {
    const left = diff.set(`/${session.label}/${c.namespace}/${c.name}.cluster.yaml`, c.currentYaml ?? '');
    const right = diff.set(`/${session.label}/${c.namespace}/${c.name}.dry-run.yaml`, c.resultYaml);
    await vscode.commands.executeCommand('vscode.diff', left, right, `${c.namespace}/${c.name}: ${c.action === 'create' ? 'new' : 'in the cluster'} ↔ after apply (dry run)`, { preview: true, preserveFocus: false });
  }
  // 4. Explicit confirmation, naming what it would newly block.
  const summary = `Apply to ${session.label}: ${changed.map((c) => `${c.action} ${c.namespace}/${c.name}`).join(', ')}.`;
  const confirmLabel = blocked.length > 0 ? `Apply and block ${blocked.length} observed flow${blocked.length === 1 ? '' : 's'}` : 'Apply';
  const detail =
    blocked.length > 0
      ? `It would newly block ${blocked.length} group${blocked.length === 1 ? '' : 's'} of flows observed in ${checked.windowLabel}:\n${blocked
          .slice(0, 10)
          .map((g) => `• ${flowText(g)} (${shortEvidenceText(g.evidence)})`)
          .join('\n')}${blocked.length > 10 ? `\n… and ${blocked.length - 10} more (Validate against live flows lists them)` : ''}`
      : `No flow observed in ${checked.windowLabel} would be newly blocked. The server-side dry run passed; the diff shows what changes.`;
  const confirmed = args?.confirm ?? (await (blocked.length > 0 ? vscode.window.showWarningMessage : vscode.window.showInformationMessage)(summary, { modal: true, detail }, confirmLabel)) === confirmLabel;
  if (!confirmed) {
    return { outcome: 'cancelled', newlyDenied: blocked };
  }
  // 5. Server-side apply with the field manager flowlens.
  const applied = await applyPolicies(session.kubeConfig, manifests, { force });
  const applyFailure = showFailures(ctx, document, policies, applied);
  if (applyFailure) {
    return { outcome: 'refused', reason: applyFailure };
  }
  const done = applied as PolicyChange[];
  ctx.log.info(`applied to ${session.label}: ${done.map((c) => `${c.action} ${c.namespace}/${c.name}`).join(', ')}`);
  void vscode.window.showInformationMessage(`FlowLens: applied to ${session.label}: ${done.map((c) => `${c.action === 'create' ? 'created' : c.action === 'update' ? 'updated' : 'unchanged'} ${c.namespace}/${c.name}`).join(', ')}.`);
  return { outcome: 'applied', changes: done, newlyDenied: blocked };
}

/** Shows failed outcomes (validation errors at their place); the first failure's message, if any. */
function showFailures(ctx: ReviewContext, document: vscode.TextDocument, policies: readonly PolicyObject[], outcomes: readonly PolicyOutcome[]): string | undefined {
  const failures = outcomes.filter((o) => !o.ok);
  if (failures.length === 0) {
    return undefined;
  }
  const located = failures.flatMap((f, i) => {
    if (f.error.kind !== 'invalid') {
      return [];
    }
    const p = policies[outcomes.indexOf(f)] ?? policies[i];
    return f.error.causes.map((c) => ({ ...p.errorRange(c), message: c.message }));
  });
  if (located.length > 0) {
    ctx.diagnostics.showApiErrors(document, located);
  }
  const message = failures[0].error.message;
  ctx.log.error(failures.map((f) => (f.ok ? '' : f.error.message)).join('\n'));
  void vscode.window.showErrorMessage(`FlowLens: ${message}`);
  return message;
}

function describe(changes: readonly PolicyChange[]): string {
  return changes.map((c) => `${c.namespace}/${c.name}`).join(', ');
}
