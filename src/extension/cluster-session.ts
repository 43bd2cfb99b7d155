/**
 * One connection to one cluster (a kubeconfig context): the live cluster model, the agents' flow streams
 * and the flow store they fill. Errors never stop the session: each part reports its state, and the tree
 * and status bar show it. Disposed on context or kubeconfig change, and with the extension.
 */
import * as vscode from 'vscode';
import type { KubeConfig } from '@kubernetes/client-node';
import { AgentStreams, type AgentConnection } from '../cluster/agent-streams';
import { identityOf } from '../cluster/kubeconfig';
import { LiveCluster, type ResourceState } from '../cluster/live-cluster';
import type { ClusterIdentity } from '../cluster/cluster-error';
import { FlowStore } from '../core/flows/flow-store';

export class ClusterSession implements vscode.Disposable {
  readonly cluster: LiveCluster;
  readonly store = new FlowStore();
  readonly agents: AgentStreams;
  readonly identity: ClusterIdentity;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires (coalesced by the sources) when the model, the flows or a connection state changed. */
  readonly onDidChange = this.changed.event;
  private readonly states = new Map<string, ResourceState>();

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.identity = identityOf(kubeConfig);
    this.cluster = new LiveCluster(kubeConfig, {
      onChange: () => this.changed.fire(),
      onState: (resource, state) => {
        this.states.set(resource, state);
        if (state.state === 'error') {
          log.warn(state.error.full);
        } else {
          log.info(`${resource}: ${state.state}`);
        }
        this.changed.fire();
      },
    });
    this.agents = new AgentStreams(kubeConfig, {
      onRecords: (records) => {
        this.store.add(records);
        this.changed.fire();
      },
      onState: (c: AgentConnection) => {
        log.info(`agent on ${c.node} (${c.pod}): ${c.state}${c.error ? ` — ${c.error}` : ''}`);
        this.changed.fire();
      },
    });
  }

  async start(): Promise<void> {
    this.log.info(`connecting to context ${this.identity.context} (${this.identity.server})`);
    await this.cluster.start();
    await this.agents.start().catch((e: unknown) => this.log.warn(`agent streams: ${(e as Error).message}`));
  }

  /** The first failing resource's error, for the tree's root and the status bar. */
  error(): string | undefined {
    for (const s of this.states.values()) {
      if (s.state === 'error') {
        return s.error.full;
      }
    }
    return undefined;
  }

  dispose(): void {
    this.agents.stop();
    this.cluster.stop();
    this.changed.dispose();
  }
}
