/**
 * The extension's entry point: wiring only. Behaviour lives in the core (src/core, no vscode import),
 * the cluster layer (src/cluster) and one module per provider or command group here.
 */
import * as vscode from 'vscode';
import { watch, type FSWatcher } from 'node:fs';
import { ClusterError } from '../cluster/cluster-error';
import { kubeconfigFiles, loadKubeConfig } from '../cluster/kubeconfig';
import { agentStatusCommand, deployAgentCommand, removeAgentCommand, type AgentCommandContext } from './agent-commands';
import { ClusterSession } from './cluster-session';
import { ClusterTreeProvider, WINDOWS } from './cluster-tree';
import { COMMANDS, TREE_VIEW } from './command-ids';

const CONTEXT_KEY = 'flowlens.context';

/** What activate() returns: handles for the extension-host tests (and other extensions). */
export interface FlowLensApi {
  readonly session: () => ClusterSession | undefined;
  readonly tree: ClusterTreeProvider;
  /** Resolves when the current (re)connection attempt has finished. */
  readonly connected: () => Promise<void>;
}

export function activate(context: vscode.ExtensionContext): FlowLensApi {
  const log = vscode.window.createOutputChannel('FlowLens', { log: true });
  const settings = () => vscode.workspace.getConfiguration('flowlens');
  const tree = new ClusterTreeProvider(() => WINDOWS[settings().get<string>('window', '5m')] ?? WINDOWS['5m']);
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
  status.command = COMMANDS.switchContext;
  status.show();

  let session: ClusterSession | undefined;
  let watchers: FSWatcher[] = [];
  let connecting: Promise<void> = Promise.resolve();
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;

  const kubeconfigOptions = () => ({ path: settings().get<string>('kubeconfig') || undefined, context: context.workspaceState.get<string>(CONTEXT_KEY) });

  const connect = (): Promise<void> => {
    connecting = connecting.then(async () => {
      session?.dispose();
      session = undefined;
      watchers.forEach((w) => w.close());
      // Re-read on kubeconfig change, as kubectl users expect.
      watchers = kubeconfigFiles(kubeconfigOptions()).flatMap((file) => {
        try {
          return [watch(file, () => scheduleReconnect())];
        } catch {
          return [];
        }
      });
      try {
        const next = new ClusterSession(loadKubeConfig(kubeconfigOptions()), log);
        session = next;
        tree.setSession(next);
        status.text = `$(pulse) ${next.identity.context}`;
        status.tooltip = `FlowLens: ${next.identity.context} (${next.identity.server}). Click to switch context.`;
        await next.start();
        const error = next.error();
        status.text = `${error ? '$(warning)' : '$(pulse)'} ${next.identity.context}`;
        if (error) {
          void vscode.window.showWarningMessage(`FlowLens: ${error}`);
        }
      } catch (e) {
        const message = e instanceof ClusterError ? e.full : (e as Error).message;
        log.error(message);
        tree.setSession(undefined, message);
        status.text = '$(warning) FlowLens: no cluster';
        status.tooltip = message;
      }
    });
    return connecting;
  };
  const scheduleReconnect = () => {
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => void connect(), 1000);
  };

  const agentContext: AgentCommandContext = {
    session: () => session,
    manifestsDir: vscode.Uri.joinPath(context.extensionUri, 'agent-manifests').fsPath,
    image: () => settings().get<string>('agent.image', 'ghcr.io/flowlens/flowlens-agent:0.1.0'),
    log,
  };

  context.subscriptions.push(
    log,
    status,
    tree,
    vscode.window.registerTreeDataProvider(TREE_VIEW, tree),
    vscode.commands.registerCommand(COMMANDS.showLog, () => log.show()),
    vscode.commands.registerCommand(COMMANDS.refreshTree, () => tree.refresh()),
    vscode.commands.registerCommand(COMMANDS.deployAgent, (args?: { image?: string; timeoutMs?: number }) => deployAgentCommand(agentContext, args)),
    vscode.commands.registerCommand(COMMANDS.removeAgent, (args?: { confirmed?: boolean }) => removeAgentCommand(agentContext, args)),
    vscode.commands.registerCommand(COMMANDS.agentStatus, (args?: { quiet?: boolean }) => agentStatusCommand(agentContext, args)),
    vscode.commands.registerCommand(COMMANDS.switchContext, async (name?: string) => {
      let contexts: string[];
      try {
        contexts = loadKubeConfig({ path: kubeconfigOptions().path }).getContexts().map((c) => c.name);
      } catch (e) {
        void vscode.window.showErrorMessage(`FlowLens: ${e instanceof ClusterError ? e.full : (e as Error).message}`);
        return;
      }
      const picked = name ?? (await vscode.window.showQuickPick(contexts, { title: 'FlowLens: switch kubeconfig context', placeHolder: session?.identity.context }));
      if (picked) {
        await context.workspaceState.update(CONTEXT_KEY, picked);
        await connect();
      }
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('flowlens.kubeconfig')) {
        void connect();
      } else if (e.affectsConfiguration('flowlens.window')) {
        tree.refresh();
      }
    }),
    {
      dispose: () => {
        clearTimeout(reconnectTimer);
        watchers.forEach((w) => w.close());
        session?.dispose();
      },
    },
  );
  log.info(`FlowLens ${context.extension.packageJSON.version as string} activated`);
  void connect();
  return { session: () => session, tree, connected: () => connecting };
}

export function deactivate(): void {}
