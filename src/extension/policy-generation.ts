/**
 * FlowLens: Generate NetworkPolicy — from a namespace or workload in the tree, from a selection on the
 * map, or from the palette (which asks what for). Options are asked with a quick pick (direction,
 * default-deny, DNS, per-workload or combined, CIDR widening); the YAML, with its evidence comments,
 * opens as a new document or is written into a workspace folder. The policy diagnostics then check it
 * against the same flows as it is edited.
 */
import * as vscode from 'vscode';
import type { CloudRanges } from '../core/flows/cloud-ranges';
import type { EnrichedFlow } from '../core/flows/enriched-flow';
import type { Cluster } from '../core/kube/cluster';
import { describeScope, describeWorkload, formatTime, generatePolicies, type GenerateDirection, type GenerateOptions, type GenerateScope } from '../core/policy/generate';
import { renderPoliciesYaml } from '../core/policy/policy-yaml';
import { TIME_WINDOW_MS, type TimeWindow } from '../core/view/protocol';
import type { PolicySelection } from '../core/view/selection';
import type { TreeNode } from './cluster-tree';
import { windowFlows, type FlowSource } from './flow-source';

/** Options given by a caller (a test, or a later step of the UI) instead of asking. */
export interface GenerateArgs {
  readonly direction?: GenerateDirection;
  readonly defaultDeny?: boolean;
  readonly dns?: boolean;
  readonly combine?: boolean;
  readonly aggregateCidrs?: boolean;
  /** Where the YAML goes: an untitled document (default when not asking) or a file in this folder. */
  readonly folder?: string;
}

export interface GenerationContext {
  readonly source: () => FlowSource | undefined;
  /** The window the tree and the palette use (flowlens.window). */
  readonly window: () => TimeWindow;
  readonly cloudRanges: () => CloudRanges | undefined;
  readonly log: vscode.LogOutputChannel;
}

interface Input {
  readonly cluster: Cluster;
  readonly flows: readonly EnrichedFlow[];
  readonly scope: GenerateScope;
  readonly what: string;
  readonly window: TimeWindow;
  readonly sourceLabel: string;
}

/** From the tree (a namespace or workload node) or the palette (no node: asks for the scope). */
export async function generateFromTree(ctx: GenerationContext, node: TreeNode | undefined, args?: GenerateArgs): Promise<vscode.TextDocument | undefined> {
  const source = requireSource(ctx);
  if (!source) {
    return undefined;
  }
  const window = ctx.window();
  const w = windowFlows(source, TIME_WINDOW_MS[window], ctx.cloudRanges());
  let scope: GenerateScope | undefined;
  if (node?.type === 'namespace') {
    scope = { kind: 'namespace', namespace: node.name };
  } else if (node?.type === 'workload') {
    scope = { kind: 'workloads', workloads: [{ kind: node.kind, namespace: node.namespace, name: node.name }] };
  } else {
    scope = await pickScope(w.flows);
  }
  if (!scope) {
    return undefined;
  }
  return generate(ctx, { cluster: w.cluster, flows: w.flows, scope, what: describeScope(scope), window, sourceLabel: source.label }, args);
}

/** From the map's selection (its edges' flows; the selected nodes' workloads). */
export async function generateFromSelection(ctx: GenerationContext, selection: PolicySelection, window: TimeWindow, args?: GenerateArgs): Promise<vscode.TextDocument | undefined> {
  const source = requireSource(ctx);
  if (!source || selection.flows.length === 0) {
    if (source) {
      void vscode.window.showWarningMessage('FlowLens: the selection has no flows in the window: nothing to generate.');
    }
    return undefined;
  }
  const what = selection.scope.kind === 'all' ? 'the selected edges' : describeScope(selection.scope);
  return generate(ctx, { cluster: source.cluster(), flows: selection.flows, scope: selection.scope, what, window, sourceLabel: source.label }, args);
}

function requireSource(ctx: GenerationContext): FlowSource | undefined {
  const source = ctx.source();
  if (!source) {
    void vscode.window.showErrorMessage('FlowLens: no cluster is connected and no recording is open: nothing to generate from.');
  }
  return source;
}

async function pickScope(flows: readonly EnrichedFlow[]): Promise<GenerateScope | undefined> {
  const workloads = new Map<string, { kind: string; namespace: string; name: string }>();
  for (const f of flows) {
    for (const w of [f.client.workload, f.server.workload]) {
      if (w) {
        workloads.set(describeWorkload(w), w);
      }
    }
  }
  const namespaces = [...new Set([...workloads.values()].map((w) => w.namespace))].sort();
  type Item = vscode.QuickPickItem & { scope?: GenerateScope };
  const items: Item[] = [
    { label: 'Namespaces', kind: vscode.QuickPickItemKind.Separator },
    ...namespaces.map((ns): Item => ({ label: `$(symbol-namespace) ${ns}`, description: 'every workload of the namespace', scope: { kind: 'namespace', namespace: ns } })),
    { label: 'Workloads', kind: vscode.QuickPickItemKind.Separator },
    ...[...workloads.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, w]): Item => ({ label: `$(layers) ${w.namespace}/${w.name}`, description: w.kind, scope: { kind: 'workloads', workloads: [w] } })),
  ];
  if (namespaces.length === 0) {
    void vscode.window.showWarningMessage('FlowLens: no flows in the window yet: nothing to generate from.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, { title: 'FlowLens: Generate NetworkPolicy for…', matchOnDescription: true });
  return picked?.scope;
}

interface OptionItem extends vscode.QuickPickItem {
  readonly option: 'ingress' | 'egress' | 'defaultDeny' | 'dns' | 'combine' | 'aggregateCidrs';
}

async function pickOptions(what: string): Promise<GenerateOptions | undefined> {
  const items: OptionItem[] = [
    { option: 'ingress', label: 'Ingress', description: 'who may connect to the workloads', picked: true },
    { option: 'egress', label: 'Egress', description: 'where the workloads may connect', picked: true },
    { option: 'dns', label: 'Allow DNS egress', description: 'to the cluster DNS, even where no lookup was observed', picked: true },
    { option: 'defaultDeny', label: 'Default-deny per namespace', description: 'unless it would deny an observed flow' },
    { option: 'combine', label: 'One policy per workload', description: 'ingress and egress combined, instead of one policy per direction' },
    { option: 'aggregateCidrs', label: 'Widen external addresses', description: 'to the smallest CIDR covering addresses that share a /24' },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: `FlowLens: NetworkPolicy options for ${what}`, canPickMany: true });
  if (!picked) {
    return undefined;
  }
  const has = (o: OptionItem['option']) => picked.some((p) => p.option === o);
  if (!has('ingress') && !has('egress')) {
    void vscode.window.showWarningMessage('FlowLens: choose Ingress, Egress or both.');
    return undefined;
  }
  return {
    direction: has('ingress') && has('egress') ? 'both' : has('ingress') ? 'ingress' : 'egress',
    dns: has('dns'),
    defaultDeny: has('defaultDeny'),
    combine: has('combine'),
    aggregateCidrs: has('aggregateCidrs'),
  };
}

/** Where the YAML goes: undefined = an untitled document; null = cancelled. */
async function pickFolder(): Promise<string | undefined | null> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) {
    return undefined;
  }
  type Item = vscode.QuickPickItem & { folder?: string };
  const picked = await vscode.window.showQuickPick<Item>(
    [{ label: '$(new-file) New untitled document' }, ...folders.map((f) => ({ label: `$(folder) Save in ${f.name}`, description: 'networkpolicies/', folder: f.uri.fsPath }))],
    { title: 'FlowLens: where should the NetworkPolicies go?' },
  );
  return picked ? picked.folder : null;
}

async function generate(ctx: GenerationContext, input: Input, args: GenerateArgs | undefined): Promise<vscode.TextDocument | undefined> {
  const options = args ? { direction: args.direction, defaultDeny: args.defaultDeny, dns: args.dns, combine: args.combine, aggregateCidrs: args.aggregateCidrs } : await pickOptions(input.what);
  if (!options) {
    ctx.log.info(`generate for ${input.what}: no options chosen`);
    return undefined;
  }
  const folder = args ? args.folder : await pickFolder();
  if (folder === null) {
    ctx.log.info(`generate for ${input.what}: no destination chosen`);
    return undefined;
  }
  const result = generatePolicies(input.cluster, input.flows, { ...options, scope: input.scope });
  if (result.policies.length === 0) {
    const why = `no policy generated for ${input.what}: ${result.notes[0] ?? `no flow in the last ${input.window} of ${input.sourceLabel} involves it`}`;
    ctx.log.warn(why);
    void vscode.window.showWarningMessage(`FlowLens: ${why}`);
    return undefined;
  }
  const direction = options.direction ?? 'both';
  const preamble = [
    `Generated by FlowLens for ${input.what}, direction ${direction}${options.combine ? ' (combined)' : ''}${options.defaultDeny ? ', with default-deny' : ''}${options.dns ? ', with DNS egress' : ''}.`,
    `From ${result.flowsUsed} flow records of the last ${input.window} of ${input.sourceLabel}, ${formatTime(result.firstSeenMs!)} to ${formatTime(result.lastSeenMs!)}.`,
    'FlowLens checks this file against the observed flows as you edit it; apply it with the "Apply (dry-run first)" lens.',
    ...result.notes.map((n) => `Note: ${n}`),
  ];
  const content = `${renderPoliciesYaml(result.policies, preamble).trimEnd()}\n`;
  let document: vscode.TextDocument;
  if (folder !== undefined) {
    const uri = await freeFileName(vscode.Uri.joinPath(vscode.Uri.file(folder), 'networkpolicies'), fileStem(input.scope));
    await vscode.workspace.fs.writeFile(uri, Buffer.from(content, 'utf8'));
    document = await vscode.workspace.openTextDocument(uri);
  } else {
    document = await vscode.workspace.openTextDocument({ content, language: 'yaml' });
  }
  await vscode.window.showTextDocument(document, { preview: false });
  ctx.log.info(`generated ${result.policies.length} NetworkPolicies for ${input.what} from ${result.flowsUsed} flow records into ${document.uri.toString()}`);
  return document;
}

function fileStem(scope: GenerateScope): string {
  switch (scope.kind) {
    case 'namespace':
      return `${scope.namespace}-networkpolicies`;
    case 'workloads':
      return scope.workloads.length === 1 ? `${scope.workloads[0].namespace}-${scope.workloads[0].name}-networkpolicies` : 'selected-networkpolicies';
    case 'all':
      return 'selected-networkpolicies';
  }
}

/** `<stem>.yaml`, or `<stem>-2.yaml` and so on: never overwrites a file. */
async function freeFileName(dir: vscode.Uri, stem: string): Promise<vscode.Uri> {
  for (let i = 1; ; i++) {
    const uri = vscode.Uri.joinPath(dir, `${stem}${i === 1 ? '' : `-${i}`}.yaml`);
    try {
      await vscode.workspace.fs.stat(uri);
    } catch {
      return uri;
    }
  }
}
