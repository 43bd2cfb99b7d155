/**
 * The editor's view of NetworkPolicy YAML: diagnostics (schema and API validation errors at their range;
 * against the current source's flows, the observed traffic a document would newly block, selectors that
 * match nothing, rules nothing uses), their quick fixes, hovers listing what a selector matches, and the
 * CodeLenses "Validate against live flows" and "Apply (dry-run first)" on each policy.
 *
 * The core computes everything on text offsets (src/core/policy/policy-document.ts, policy-diagnostics.ts);
 * this module maps them to the editor. Documents are re-checked 300 ms after the last keystroke, and all
 * open policy documents when new flows arrive (at most every 5 s) or the source or window changes.
 */
import * as vscode from 'vscode';
import type { CloudRanges } from '../core/flows/cloud-ranges';
import { diagnosePolicyDocument, hoverAt, type DiagnosticContext, type PolicyDiagnostic, type QuickFix } from '../core/policy/policy-diagnostics';
import { mentionsNetworkPolicy, parsePolicyDocument, type PolicyDocument, type TextRange } from '../core/policy/policy-document';
import { TIME_WINDOW_MS, type TimeWindow } from '../core/view/protocol';
import { COMMANDS } from './command-ids';
import { windowFlows, type FlowSource } from './flow-source';
import type { SourceManager } from './source-manager';

const SOURCE = 'FlowLens';
/** Beyond this, a document is not parsed as you type (about 70,000 lines: over a second per check). */
const MAX_CHECKED_BYTES = 2 * 1024 * 1024;

/** Why FlowLens does not check this document, when it is too large to; undefined otherwise. */
export function tooLargeToCheck(document: vscode.TextDocument): string | undefined {
  // The end's offset is the length, without building the whole text as getText() does.
  const size = document.offsetAt(document.lineAt(document.lineCount - 1).range.end);
  return size > MAX_CHECKED_BYTES
    ? `FlowLens checks NetworkPolicy files up to ${MAX_CHECKED_BYTES / 1048576} MiB as you type, and this one has ${(size / 1048576).toFixed(1)} MiB: split it, or check it with \`flowlens policy validate\``
    : undefined;
}

/** Files and new documents; not the read-only sides of the apply diff, git's versions and the like. */
const EDITABLE_SCHEMES = ['file', 'untitled'];
const TYPING_DELAY_MS = 300;
const FLOWS_INTERVAL_MS = 5000;

const SEVERITY: Readonly<Record<PolicyDiagnostic['severity'], vscode.DiagnosticSeverity>> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  information: vscode.DiagnosticSeverity.Information,
};

interface Checked {
  readonly version: number;
  readonly diagnostics: readonly { readonly diagnostic: vscode.Diagnostic; readonly fixes: readonly QuickFix[] }[];
}

/** An error the API server's dry run reported, shown at its place until the document changes. */
export interface ApiError extends TextRange {
  readonly message: string;
}

export class PolicyDiagnostics implements vscode.Disposable, vscode.CodeActionProvider, vscode.HoverProvider, vscode.CodeLensProvider {
  private readonly collection = vscode.languages.createDiagnosticCollection('flowlens');
  private readonly parsed = new Map<string, { version: number; doc: PolicyDocument }>();
  private readonly checked = new Map<string, Checked>();
  private readonly apiErrors = new Map<string, { version: number; errors: readonly ApiError[] }>();
  private readonly typing = new Map<string, ReturnType<typeof setTimeout>>();
  private flowsTimer?: ReturnType<typeof setTimeout>;
  private sourceSubscription?: vscode.Disposable;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;
  private cachedContext?: { source: FlowSource; window: TimeWindow; value: DiagnosticContext };
  /** How long the last check of each document took (ms), for the tests. */
  readonly timings = new Map<string, number>();

  constructor(
    private readonly sources: SourceManager,
    private readonly window: () => TimeWindow,
    private readonly cloudRanges: () => CloudRanges | undefined,
  ) {
    const yaml: vscode.DocumentSelector = EDITABLE_SCHEMES.map((scheme) => ({ language: 'yaml', scheme }));
    this.disposables.push(
      this.collection,
      this.lensesChanged,
      vscode.languages.registerCodeActionsProvider(yaml, this, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
      vscode.languages.registerHoverProvider(yaml, this),
      vscode.languages.registerCodeLensProvider(yaml, this),
      vscode.workspace.onDidOpenTextDocument((d) => this.check(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.checkSoon(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => this.forget(d)),
      sources.onDidChangeSource(() => this.watchSource()),
    );
    this.watchSource();
  }

  /** The document's policies as last parsed (parsed now when it changed). */
  parse(document: vscode.TextDocument): PolicyDocument {
    const key = document.uri.toString();
    const cached = this.parsed.get(key);
    if (cached?.version === document.version) {
      return cached.doc;
    }
    const doc = parsePolicyDocument(document.getText());
    this.parsed.set(key, { version: document.version, doc });
    return doc;
  }

  /** Re-checks every open YAML document against the current flows (new flows, another source or window). */
  refresh(): void {
    this.cachedContext = undefined;
    vscode.workspace.textDocuments.forEach((d) => this.check(d));
  }

  /** Shows the API server's validation errors of a dry run at their place, until the document changes. */
  showApiErrors(document: vscode.TextDocument, errors: readonly ApiError[]): void {
    this.apiErrors.set(document.uri.toString(), { version: document.version, errors });
    this.check(document);
  }

  /**
   * What the diagnostics are measured against: the window's flows of the current source, enriched once per
   * refresh rather than per keystroke.
   */
  context(): DiagnosticContext | undefined {
    const source = this.sources.source;
    if (!source) {
      return undefined;
    }
    const window = this.window();
    if (this.cachedContext?.source === source && this.cachedContext.window === window) {
      return this.cachedContext.value;
    }
    this.cachedContext = { source, window, value: this.compute(source, window) };
    return this.cachedContext.value;
  }

  private compute(source: FlowSource, window: TimeWindow): DiagnosticContext {
    const w = windowFlows(source, TIME_WINDOW_MS[window], this.cloudRanges());
    const of = source.kind === 'live' ? `live flows of ${source.label}` : `the recording ${source.label}`;
    return { cluster: w.cluster, flows: w.flows, windowLabel: `the last ${window} of ${of}`, window: { fromMs: w.fromMs, toMs: w.toMs } };
  }

  private watchSource(): void {
    this.sourceSubscription?.dispose();
    this.sourceSubscription = this.sources.source?.onDidChange(() => {
      this.flowsTimer ??= setTimeout(() => {
        this.flowsTimer = undefined;
        this.refresh();
      }, FLOWS_INTERVAL_MS);
    });
    this.refresh();
  }

  private checkSoon(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    clearTimeout(this.typing.get(key));
    this.typing.set(
      key,
      setTimeout(() => {
        this.typing.delete(key);
        this.check(document);
      }, TYPING_DELAY_MS),
    );
  }

  private check(document: vscode.TextDocument): void {
    if (document.languageId !== 'yaml' || document.isClosed || !EDITABLE_SCHEMES.includes(document.uri.scheme)) {
      return;
    }
    const key = document.uri.toString();
    const started = performance.now();
    const tooLarge = tooLargeToCheck(document);
    if (tooLarge) {
      this.checked.delete(key);
      // Said only where it matters: a large YAML without NetworkPolicies is none of FlowLens's business.
      const policies = mentionsNetworkPolicy(document.getText());
      this.collection.set(document.uri, policies ? [this.toDiagnostic(document, { start: 0, end: 0 }, 'information', tooLarge, 'flowlens.tooLarge')] : []);
      return;
    }
    const doc = this.parse(document);
    if (!doc.containsNetworkPolicy) {
      this.collection.delete(document.uri);
      this.checked.delete(key);
      return;
    }
    const found = diagnosePolicyDocument(doc, this.context()).map((d) => ({ diagnostic: this.toDiagnostic(document, d, d.severity, d.message, d.code), fixes: d.fixes ?? [] }));
    const api = this.apiErrors.get(key);
    if (api && api.version === document.version) {
      found.push(...api.errors.map((e) => ({ diagnostic: this.toDiagnostic(document, e, 'error', `the API server rejects this: ${e.message}`, 'flowlens.apiValidation'), fixes: [] })));
    } else {
      this.apiErrors.delete(key);
    }
    this.checked.set(key, { version: document.version, diagnostics: found });
    this.collection.set(
      document.uri,
      found.map((f) => f.diagnostic),
    );
    this.timings.set(key, performance.now() - started);
    this.lensesChanged.fire();
  }

  private toDiagnostic(document: vscode.TextDocument, range: TextRange, severity: PolicyDiagnostic['severity'], message: string, code: string): vscode.Diagnostic {
    const d = new vscode.Diagnostic(new vscode.Range(document.positionAt(range.start), document.positionAt(range.end)), message, SEVERITY[severity]);
    d.source = SOURCE;
    d.code = code;
    return d;
  }

  private forget(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    clearTimeout(this.typing.get(key));
    this.typing.delete(key);
    this.parsed.delete(key);
    this.checked.delete(key);
    this.apiErrors.delete(key);
    this.collection.delete(document.uri);
  }

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const checked = this.checked.get(document.uri.toString());
    // Fixes are offsets into the text they were computed on: never apply them to another version.
    if (!checked || checked.version !== document.version) {
      return [];
    }
    const actions: vscode.CodeAction[] = [];
    for (const asked of context.diagnostics.filter((d) => d.source === SOURCE)) {
      const entry = checked.diagnostics.find((c) => c.diagnostic.code === asked.code && c.diagnostic.message === asked.message && c.diagnostic.range.isEqual(asked.range));
      for (const fix of entry?.fixes ?? []) {
        const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [entry!.diagnostic];
        action.edit = new vscode.WorkspaceEdit();
        for (const e of fix.edits) {
          action.edit.replace(document.uri, new vscode.Range(document.positionAt(e.start), document.positionAt(e.end)), e.newText);
        }
        action.isPreferred = entry!.fixes.length === 1;
        actions.push(action);
      }
    }
    return actions;
  }

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const source = this.sources.source;
    if (tooLargeToCheck(document)) {
      return undefined;
    }
    const doc = this.parse(document);
    if (!source || !doc.containsNetworkPolicy) {
      return undefined;
    }
    const text = hoverAt(doc, document.offsetAt(position), source.cluster());
    // Cluster strings are untrusted: the core escapes them, and the markdown may not run commands or HTML.
    return text === undefined ? undefined : new vscode.Hover(new vscode.MarkdownString(text, false));
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (tooLargeToCheck(document)) {
      return [];
    }
    const doc = this.parse(document);
    if (!doc.containsNetworkPolicy) {
      return [];
    }
    const live = this.sources.source?.kind === 'live';
    return doc.policies.flatMap((p, index) => {
      const at = document.positionAt(p.range.start);
      const range = new vscode.Range(at, at);
      const name = p.policy ? `${p.policy.namespace}/${p.policy.name}` : `policy ${index + 1}`;
      return [
        new vscode.CodeLens(range, { title: '$(check) Validate against live flows', command: COMMANDS.validatePolicy, arguments: [document.uri], tooltip: `What-if of this file's policies over the observed flows` }),
        new vscode.CodeLens(range, {
          title: '$(cloud-upload) Apply (dry-run first)',
          command: COMMANDS.applyPolicy,
          arguments: [document.uri, index],
          tooltip: live ? `Apply ${name}: what-if, server-side dry run and diff, then server-side apply` : 'Applying needs a live cluster',
        }),
      ];
    });
  }

  dispose(): void {
    clearTimeout(this.flowsTimer);
    this.typing.forEach((t) => clearTimeout(t));
    this.sourceSubscription?.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}
