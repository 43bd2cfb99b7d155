/**
 * FlowLens: Deploy Agent, Remove Agent and Agent Status. Deploy shows per-node progress, can be cancelled,
 * and times out with every node's state; remove asks first and deletes exactly what deploy applies.
 * Each returns its result, so other commands and tests can use it.
 */
import * as vscode from 'vscode';
import { agentStatus, deployAgent, removeAgent, type NodeRollout, type RolloutProgress } from '../cluster/agent-deployment';
import { ClusterError, toClusterError } from '../cluster/cluster-error';
import type { ClusterSession } from './cluster-session';

export interface AgentCommandContext {
  readonly session: () => ClusterSession | undefined;
  readonly manifestsDir: string;
  readonly image: () => string;
  readonly log: vscode.LogOutputChannel;
}

function requireSession(ctx: AgentCommandContext): ClusterSession | undefined {
  const session = ctx.session();
  if (!session) {
    void vscode.window.showErrorMessage('FlowLens: no cluster is connected. Check KUBECONFIG or the flowlens.kubeconfig setting.');
  }
  return session;
}

function report(ctx: AgentCommandContext, action: string, e: unknown, session: ClusterSession): undefined {
  const err = e instanceof ClusterError ? e : toClusterError(e, action, session.identity);
  ctx.log.error(err.full);
  if (err.kind !== 'cancelled') {
    void vscode.window.showErrorMessage(`FlowLens: ${err.full}`);
  } else {
    void vscode.window.showWarningMessage(`FlowLens: ${err.message}`);
  }
  return undefined;
}

export async function deployAgentCommand(ctx: AgentCommandContext, args?: { image?: string; timeoutMs?: number }): Promise<RolloutProgress | undefined> {
  const session = requireSession(ctx);
  if (!session) {
    return undefined;
  }
  const image = args?.image ?? ctx.image();
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `FlowLens: deploying the agent (${image}) to ${session.identity.context}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      try {
        const result = await deployAgent(session.kubeConfig, {
          manifestsDir: ctx.manifestsDir,
          image,
          timeoutMs: args?.timeoutMs ?? 180_000,
          signal: abort.signal,
          onProgress: (p) => progress.report({ message: `${p.ready}/${p.desired} nodes ready` }),
        });
        ctx.log.info(`agent deployed: ${result.ready}/${result.desired} nodes ready`);
        void vscode.window.showInformationMessage(`FlowLens: the agent runs on all ${result.desired} nodes of ${session.identity.context}.`);
        return result;
      } catch (e) {
        return report(ctx, 'deploy the agent', e, session);
      }
    },
  );
}

export async function removeAgentCommand(ctx: AgentCommandContext, args?: { confirmed?: boolean }): Promise<string[] | undefined> {
  const session = requireSession(ctx);
  if (!session) {
    return undefined;
  }
  if (!args?.confirmed) {
    const answer = await vscode.window.showWarningMessage(
      `Remove the FlowLens agent from ${session.identity.context}? This deletes the objects FlowLens deployed (the flowlens-system namespace, its DaemonSet, ServiceAccount, RBAC and metrics Service).`,
      { modal: true },
      'Remove',
    );
    if (answer !== 'Remove') {
      return undefined;
    }
  }
  try {
    const removed = await removeAgent(session.kubeConfig, ctx.manifestsDir);
    ctx.log.info(`agent removed: ${removed.join(', ') || 'nothing was deployed'}`);
    void vscode.window.showInformationMessage(removed.length ? `FlowLens: removed ${removed.length} agent objects.` : 'FlowLens: the agent was not deployed.');
    return removed;
  } catch (e) {
    return report(ctx, 'remove the agent', e, session);
  }
}

export async function agentStatusCommand(ctx: AgentCommandContext, args?: { quiet?: boolean }): Promise<NodeRollout[] | undefined> {
  const session = requireSession(ctx);
  if (!session) {
    return undefined;
  }
  try {
    const status = await agentStatus(session.kubeConfig);
    const streams = new Map(session.streams.status().map((c) => [c.node, c]));
    if (!args?.quiet) {
      void vscode.window.showQuickPick(
        status.map((n) => ({
          label: `${n.ready ? '$(pass)' : '$(warning)'} ${n.node}`,
          description: n.pod ? `${n.pod} · ${n.phase}${n.ready ? ', ready' : ', not ready'} · ${n.image}${n.restarts ? ` · ${n.restarts} restarts` : ''}` : 'no agent pod',
          detail: streams.get(n.node) ? `flows: ${streams.get(n.node)!.state}${streams.get(n.node)!.error ? ` — ${streams.get(n.node)!.error}` : ''}` : undefined,
        })),
        { title: `FlowLens agent on ${session.identity.context}`, canPickMany: false },
      );
    }
    return status;
  } catch (e) {
    return report(ctx, 'read the agent status', e, session);
  }
}
