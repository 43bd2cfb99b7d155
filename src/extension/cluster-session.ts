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
import type { Cluster } from '../core/kube/cluster';
import type { FlowSource } from './flow-source';

export class ClusterSession implements FlowSource {
  readonly kind = 'live';
  readonly live: LiveCluster;
  readonly store = new FlowStore();
  readonly streams: AgentStreams;
  readonly identity: ClusterIdentity;
  /** Every record's JSON text as the agent sent it, for whoever records the stream (FlowLens: Record Flows). */
  onRecordLines?: (lines: readonly string[]) => void;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires (coalesced by the sources) when the model, the flows or a connection state changed. */
  readonly onDidChange = this.changed.event;
  private readonly states = new Map<string, ResourceState>();

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.identity = identityOf(kubeConfig);
    this.live = new LiveCluster(kubeConfig, {
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
    this.streams = new AgentStreams(kubeConfig, {
      onRecords: (records, _node, lines) => {
        this.store.add(records);
        this.onRecordLines?.(lines);
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
    await this.live.start();
    await this.streams.start().catch((e: unknown) => this.log.warn(`agent streams: ${(e as Error).message}`));
  }

  get label(): string {
    return this.identity.context ?? '(no context)';
  }

  get description(): string {
    return this.identity.server ?? '';
  }

  cluster(): Cluster {
    return this.live.snapshot();
  }

  agents(): readonly AgentConnection[] {
    return this.streams.status();
  }

  error(): string | undefined {
    for (const s of this.states.values()) {
      if (s.state === 'error') {
        return s.error.full;
      }
    }
    return undefined;
  }

  dispose(): void {
    this.streams.stop();
    this.live.stop();
    this.changed.dispose();
  }
}
