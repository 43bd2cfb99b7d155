/**
 * The FlowLens sidebar tree: context → namespaces → workloads → pods, each with its traffic in the chosen
 * window (bytes both ways, flows, retransmissions) and a health icon, plus an Agents node with each node's
 * stream state. Items have stable ids, so a refresh keeps what the user expanded; refreshes are coalesced.
 */
import * as vscode from 'vscode';
import { aggregate, type Edge } from '../core/flows/aggregate';
import type { CloudRanges } from '../core/flows/cloud-ranges';
import { formatBytes } from '../core/policy/generate';
import type { FlowEnricher } from '../core/flows/enrich';
import type { Cluster } from '../core/kube/cluster';
import { COMMANDS } from './command-ids';
import { windowFlows, type FlowSource } from './flow-source';

export type TreeNode =
  | { readonly type: 'context' }
  | { readonly type: 'message'; readonly text: string; readonly error: boolean }
  /** Without a cluster: a way to try FlowLens anyway. */
  | { readonly type: 'openDemo' }
  | { readonly type: 'namespace'; readonly name: string }
  | { readonly type: 'workload'; readonly namespace: string; readonly kind: string; readonly name: string }
  | { readonly type: 'pod'; readonly namespace: string; readonly name: string }
  | { readonly type: 'agents' }
  | { readonly type: 'agentNode'; readonly node: string };

interface Traffic {
  bytes: number;
  flows: number;
  retransmits: number;
  failed: number;
}

/** Traffic per namespace, workload and pod id, computed once per refresh. */
interface Figures {
  readonly cluster: Cluster;
  readonly enricher: FlowEnricher;
  readonly byId: ReadonlyMap<string, Traffic>;
}

export class ClusterTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private session?: FlowSource;
  private sessionError?: string;
  private figures?: Figures;
  private timer?: ReturnType<typeof setTimeout>;
  private subscription?: vscode.Disposable;

  constructor(
    private readonly windowMs: () => number,
    private readonly cloudRanges: () => CloudRanges | undefined,
    private readonly demo: vscode.Uri,
  ) {}

  /** Shows a source (or, with an error, why there is none). */
  setSource(session: FlowSource | undefined, error?: string): void {
    this.subscription?.dispose();
    this.session = session;
    this.sessionError = error;
    this.subscription = session?.onDidChange(() => this.scheduleRefresh());
    this.refresh();
  }

  refresh(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.figures = undefined;
    this.changed.fire(undefined);
  }

  private scheduleRefresh(): void {
    this.timer ??= setTimeout(() => this.refresh(), 1000);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const f = this.session ? this.computeFigures() : undefined;
    switch (node.type) {
      case 'context': {
        const recording = this.session?.kind === 'recording';
        const item = new vscode.TreeItem(this.session?.label ?? 'no cluster', vscode.TreeItemCollapsibleState.Expanded);
        item.id = 'context';
        item.description = recording ? 'recording' : this.session?.description;
        item.tooltip = this.session?.description;
        item.iconPath = new vscode.ThemeIcon(recording ? 'record' : 'server-environment');
        item.contextValue = recording ? 'flowlens.recording' : 'flowlens.context';
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.error ? 'error' : 'info', node.error ? new vscode.ThemeColor('errorForeground') : undefined);
        item.tooltip = node.text;
        return item;
      }
      case 'openDemo': {
        const item = new vscode.TreeItem('Open the demo recording', vscode.TreeItemCollapsibleState.None);
        item.description = 'try FlowLens without a cluster';
        item.iconPath = new vscode.ThemeIcon('play');
        item.command = { command: COMMANDS.openRecording, title: 'Open the demo recording', arguments: [this.demo] };
        return item;
      }
      case 'namespace':
        return this.trafficItem(`ns:${node.name}`, node.name, 'symbol-namespace', vscode.TreeItemCollapsibleState.Collapsed, 'flowlens.namespace', f);
      case 'workload':
        return this.trafficItem(
          `wl:${node.kind}/${node.namespace}/${node.name}`,
          node.name,
          'layers',
          vscode.TreeItemCollapsibleState.Collapsed,
          'flowlens.workload',
          f,
          node.kind,
        );
      case 'pod':
        return this.trafficItem(`pod:${node.namespace}/${node.name}`, node.name, 'vm', vscode.TreeItemCollapsibleState.None, 'flowlens.pod', f);
      case 'agents': {
        const item = new vscode.TreeItem('Agent', vscode.TreeItemCollapsibleState.Collapsed);
        item.id = 'agents';
        const conns = this.session?.agents() ?? [];
        item.description = `${conns.filter((c) => c.state === 'streaming').length}/${f?.cluster.nodes.size ?? 0} nodes streaming`;
        item.iconPath = new vscode.ThemeIcon('pulse');
        item.contextValue = 'flowlens.agents';
        return item;
      }
      case 'agentNode': {
        const c = this.session?.agents()?.find((x) => x.node === node.node);
        const item = new vscode.TreeItem(node.node, vscode.TreeItemCollapsibleState.None);
        item.id = `agent:${node.node}`;
        item.description = c ? `${c.state}${c.state === 'streaming' ? `, ${c.records} records` : ''}` : 'no agent pod';
        item.tooltip = c ? `${c.pod}: ${c.state}${c.error ? `\n${c.error}` : ''}` : 'No FlowLens agent runs on this node: FlowLens: Deploy Agent';
        const healthy = c?.state === 'streaming';
        item.iconPath = new vscode.ThemeIcon(healthy ? 'pass' : 'warning', healthy ? undefined : new vscode.ThemeColor('problemsWarningIcon.foreground'));
        return item;
      }
    }
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) {
      return [{ type: 'context' }];
    }
    if (!this.session) {
      return node.type === 'context'
        ? [{ type: 'message', text: this.sessionError ?? 'No cluster: FlowLens reads KUBECONFIG or ~/.kube/config', error: this.sessionError !== undefined }, { type: 'openDemo' }]
        : [];
    }
    const f = this.computeFigures();
    switch (node.type) {
      case 'context': {
        const error = this.session.error();
        const namespaces = [...f.cluster.namespaces.keys()].sort().map((name): TreeNode => ({ type: 'namespace', name }));
        // A recording has no agents to show.
        const agents: TreeNode[] = this.session.agents() ? [{ type: 'agents' }] : [];
        return [...(error ? [{ type: 'message', text: error, error: true } as TreeNode] : []), ...namespaces, ...agents];
      }
      case 'namespace': {
        const workloads = new Map<string, TreeNode>();
        for (const pod of f.cluster.pods.filter((p) => p.namespace === node.name)) {
          const w = f.enricher.workloadOf(pod);
          workloads.set(`${w.kind}/${w.name}`, { type: 'workload', namespace: node.name, kind: w.kind, name: w.name });
        }
        return [...workloads.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, n]) => n);
      }
      case 'workload':
        return f.cluster.pods
          .filter((p) => {
            if (p.namespace !== node.namespace) {
              return false;
            }
            const w = f.enricher.workloadOf(p);
            return w.kind === node.kind && w.name === node.name;
          })
          .map((p): TreeNode => ({ type: 'pod', namespace: p.namespace, name: p.name }))
          .sort((a, b) => ((a as { name: string }).name < (b as { name: string }).name ? -1 : 1));
      case 'agents':
        return [...f.cluster.nodes.keys()].sort().map((n): TreeNode => ({ type: 'agentNode', node: n }));
      default:
        return [];
    }
  }

  /** Traffic figures of a tree id ("ns:x", "wl:Kind/ns/name", "pod:ns/name"), for tests and the UI. */
  traffic(id: string): Traffic | undefined {
    return this.session ? this.computeFigures().byId.get(id) : undefined;
  }

  private trafficItem(id: string, label: string, icon: string, state: vscode.TreeItemCollapsibleState, contextValue: string, f: Figures | undefined, kind?: string): vscode.TreeItem {
    const item = new vscode.TreeItem(label, state);
    item.id = id;
    item.contextValue = contextValue;
    const t = f?.byId.get(id);
    const unhealthy = t !== undefined && (t.retransmits > 0 || t.failed > 0);
    item.iconPath = new vscode.ThemeIcon(icon, unhealthy ? new vscode.ThemeColor('problemsWarningIcon.foreground') : undefined);
    item.description = [kind, t ? `${formatBytes(t.bytes)} · ${plural(t.flows, 'flow')}${t.retransmits ? ` · ${t.retransmits} retrans.` : ''}${t.failed ? ` · ${t.failed} failed` : ''}` : undefined]
      .filter(Boolean)
      .join(' · ');
    item.tooltip = t ? `${label}: ${t.bytes} bytes, ${t.flows} flows, ${t.retransmits} retransmissions, ${t.failed} failed connections in the window` : label;
    return item;
  }

  private computeFigures(): Figures {
    if (this.figures) {
      return this.figures;
    }
    const { cluster, enricher, flows } = windowFlows(this.session!, this.windowMs(), this.cloudRanges());
    const byId = new Map<string, Traffic>();
    const add = (id: string, e: Edge) => {
      const t = byId.get(id) ?? { bytes: 0, flows: 0, retransmits: 0, failed: 0 };
      t.bytes += e.totals.bytesToServer + e.totals.bytesToClient;
      t.flows += 1;
      t.retransmits += e.totals.retransmits;
      t.failed += e.totals.failedConnections;
      byId.set(id, t);
    };
    for (const level of ['namespace', 'workload', 'pod'] as const) {
      for (const e of aggregate(flows, { level })) {
        const ids = new Set([treeId(e.client.id), treeId(e.server.id)]);
        for (const id of ids) {
          if (id) {
            add(id, e);
          }
        }
      }
    }
    this.figures = { cluster, enricher, byId };
    return this.figures;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.subscription?.dispose();
    this.changed.dispose();
  }
}

/** Maps aggregate's endpoint ids to tree ids ("wl:Kind/ns/name" is shared; "ns:x" and "pod:ns/name" too). */
function treeId(edgeEndId: string): string | undefined {
  return /^(ns|wl|pod):/.test(edgeEndId) ? edgeEndId : undefined;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
