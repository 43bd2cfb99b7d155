/**
 * The extension's entry point: wiring only. Behaviour lives in the core (src/core, no vscode import),
 * the cluster layer (src/cluster) and one module per provider or command group here.
 */
import * as vscode from 'vscode';
import { ClusterError } from '../cluster/cluster-error';
import { loadKubeConfig } from '../cluster/kubeconfig';
import { TIME_WINDOW_MS, TIME_WINDOWS, type TimeWindow } from '../core/view/protocol';
import { agentStatusCommand, deployAgentCommand, removeAgentCommand, type AgentCommandContext } from './agent-commands';
import type { ClusterSession } from './cluster-session';
import { CloudRangesSetting } from './cloud-ranges-setting';
import { ClusterTreeProvider, type TreeNode } from './cluster-tree';
import { COMMANDS, TREE_VIEW } from './command-ids';
import type { FlowSource } from './flow-source';
import { ServiceMapPanel, type MapFocus, type MapPanelHost } from './map-panel';
import { PolicyDiagnostics } from './policy-diagnostics';
import { ApplyDiffContent, applyCommand, validateCommand, type ApplyArgs, type ReviewContext } from './policy-review';
import { generateFromSelection, generateFromTree, type GenerateArgs, type GenerationContext } from './policy-generation';
import { FlowRecording } from './recording-commands';
import { demoRecording } from './recording-source';
import { SourceManager } from './source-manager';

const CONTEXT_KEY = 'flowlens.context';

/** What activate() returns: handles for the extension-host tests (and other extensions). */
export interface FlowLensApi {
  /** The live cluster session, when the source is a cluster. */
  readonly session: () => ClusterSession | undefined;
  /** The current source: a cluster session or a recording. */
  readonly source: () => FlowSource | undefined;
  readonly tree: ClusterTreeProvider;
  /** Resolves when the current (re)connection or recording load has finished. */
  readonly connected: () => Promise<void>;
  /** The service map panel, when open. */
  readonly mapPanel: () => ServiceMapPanel | undefined;
  readonly recording: FlowRecording;
  readonly diagnostics: PolicyDiagnostics;
}

export function activate(context: vscode.ExtensionContext): FlowLensApi {
  const log = vscode.window.createOutputChannel('FlowLens', { log: true });
  const settings = () => vscode.workspace.getConfiguration('flowlens');
  const windowSetting = (): TimeWindow => {
    const w = settings().get<string>('window', '5m');
    return (TIME_WINDOWS as readonly string[]).includes(w) ? (w as TimeWindow) : '5m';
  };
  const cloudRanges = new CloudRangesSetting(() => settings().get<string>('cloudRanges', ''), log);
  const ranges = () => cloudRanges.get();
  const tree = new ClusterTreeProvider(() => TIME_WINDOW_MS[windowSetting()], ranges, demoRecording(context.extensionUri));
  const sources = new SourceManager(() => ({ path: settings().get<string>('kubeconfig') || undefined, context: context.workspaceState.get<string>(CONTEXT_KEY) }), log);

  const generation: GenerationContext = { source: () => sources.source, window: windowSetting, cloudRanges: ranges, log };
  const mapHost: MapPanelHost = {
    extensionUri: context.extensionUri,
    sources,
    log,
    cloudRanges: ranges,
    generatePolicy: (selection, window) => generateFromSelection(generation, selection, window),
  };
  const recording = new FlowRecording(sources, context.extensionUri, () => Math.min(128, settings().get<number>('recording.maxMegabytes', 128)) * 1024 * 1024, log);
  const diagnostics = new PolicyDiagnostics(sources, windowSetting, ranges);
  const review: ReviewContext = { sources, diagnostics, log };
  const applyDiff = new ApplyDiffContent();
  // A command from the palette may be what activated the extension: let the connection settle first.
  const afterConnect = <T>(run: () => Promise<T>): Promise<T> => sources.settled().then(run);
  const agentContext: AgentCommandContext = {
    session: () => sources.session,
    manifestsDir: vscode.Uri.joinPath(context.extensionUri, 'agent-manifests').fsPath,
    image: () => settings().get<string>('agent.image', 'ghcr.io/flowlens/flowlens-agent:0.1.0'),
    log,
  };

  context.subscriptions.push(
    log,
    sources,
    recording,
    diagnostics,
    applyDiff.register(),
    tree,
    sources.onDidChangeSource((source) => {
      tree.setSource(source, sources.error);
      void vscode.commands.executeCommand('setContext', 'flowlens.source', source?.kind ?? 'none');
    }),
    vscode.window.registerTreeDataProvider(TREE_VIEW, tree),
    vscode.window.registerWebviewPanelSerializer(ServiceMapPanel.viewType, {
      deserializeWebviewPanel: async (panel) => ServiceMapPanel.revive(panel, mapHost),
    }),
    vscode.commands.registerCommand(COMMANDS.showLog, () => log.show()),
    vscode.commands.registerCommand(COMMANDS.refreshTree, () => tree.refresh()),
    vscode.commands.registerCommand(COMMANDS.deployAgent, (args?: { image?: string; timeoutMs?: number }) => afterConnect(() => deployAgentCommand(agentContext, args))),
    vscode.commands.registerCommand(COMMANDS.removeAgent, (args?: { confirmed?: boolean }) => afterConnect(() => removeAgentCommand(agentContext, args))),
    vscode.commands.registerCommand(COMMANDS.agentStatus, (args?: { quiet?: boolean }) => afterConnect(() => agentStatusCommand(agentContext, args))),
    vscode.commands.registerCommand(COMMANDS.showMap, (node?: TreeNode) => ServiceMapPanel.show(mapHost, node && focusOf(node, false))),
    vscode.commands.registerCommand(COMMANDS.showFlows, (node?: TreeNode) => ServiceMapPanel.show(mapHost, node && focusOf(node, true))),
    vscode.commands.registerCommand(COMMANDS.generatePolicy, (node?: TreeNode, args?: GenerateArgs) => afterConnect(() => generateFromTree(generation, node, args))),
    vscode.commands.registerCommand(COMMANDS.validatePolicy, (uri?: vscode.Uri) => afterConnect(() => validateCommand(review, uri))),
    vscode.commands.registerCommand(COMMANDS.applyPolicy, (uri?: vscode.Uri, index?: number, args?: ApplyArgs) => afterConnect(() => applyCommand(review, applyDiff, uri, index, args))),
    vscode.commands.registerCommand(COMMANDS.openRecording, (uri?: vscode.Uri) => recording.open(uri)),
    vscode.commands.registerCommand(COMMANDS.startRecording, (path?: string) => afterConnect(() => recording.start(path))),
    vscode.commands.registerCommand(COMMANDS.stopRecording, () => recording.stop()),
    vscode.commands.registerCommand(COMMANDS.switchContext, async (name?: string) => {
      let contexts: string[];
      try {
        contexts = loadKubeConfig({ path: settings().get<string>('kubeconfig') || undefined }).getContexts().map((c) => c.name);
      } catch (e) {
        void vscode.window.showErrorMessage(`FlowLens: ${e instanceof ClusterError ? e.full : (e as Error).message}`);
        return;
      }
      const picked = name ?? (await vscode.window.showQuickPick(contexts, { title: 'FlowLens: switch kubeconfig context', placeHolder: sources.session?.label }));
      if (picked) {
        await context.workspaceState.update(CONTEXT_KEY, picked);
        await sources.connect();
      }
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('flowlens.kubeconfig')) {
        // A context chosen in one kubeconfig means nothing in another: start from the new one's current context.
        void context.workspaceState.update(CONTEXT_KEY, undefined).then(() => sources.connect());
      } else if (e.affectsConfiguration('flowlens.window') || e.affectsConfiguration('flowlens.cloudRanges')) {
        tree.refresh();
        diagnostics.refresh();
      }
    }),
  );
  log.info(`FlowLens ${context.extension.packageJSON.version as string} activated`);
  void sources.connect();
  return { session: () => sources.session, source: () => sources.source, tree, connected: () => sources.settled(), mapPanel: () => ServiceMapPanel.open, recording, diagnostics };
}

/** Where the map (or, with `flows`, the flow table) focuses for a tree node. */
function focusOf(node: TreeNode, flows: boolean): MapFocus | undefined {
  switch (node.type) {
    case 'namespace':
      return { namespace: node.name, ...(flows ? { query: `ns=${node.name}` } : {}) };
    case 'workload':
      return { namespace: node.namespace, endpointId: `wl:${node.kind}/${node.namespace}/${node.name}`, ...(flows ? { query: `ns=${node.namespace} wl=${node.name}` } : {}) };
    case 'pod':
      return { namespace: node.namespace, endpointId: `pod:${node.namespace}/${node.name}`, ...(flows ? { query: `ns=${node.namespace} pod=${node.name}` } : {}) };
    default:
      return undefined;
  }
}

export function deactivate(): void {}
