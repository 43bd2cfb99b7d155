/**
 * The service map and flow table panel: hosts the webview (webview/, built to dist/), feeds it throttled
 * snapshots and deltas of the current source's flows (SnapshotPublisher), and answers what the user asks
 * for there: generate a policy for a selection, pod events, CSV export. One panel at a time; it survives
 * a reload through the panel serializer (the webview restores its own UI state).
 */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { ClusterError } from '../cluster/cluster-error';
import { podEvents } from '../cluster/pod-events';
import type { CloudRanges } from '../core/flows/cloud-ranges';
import { parseWebviewMessage, TIME_WINDOW_MS, type HostMessage, type TimeWindow, type ViewStatus, type WebviewMessage } from '../core/view/protocol';
import { SnapshotPublisher } from '../core/view/publisher';
import { policySelection, type PolicySelection } from '../core/view/selection';
import { buildSnapshot } from '../core/view/snapshot';
import { webviewHtml } from '../core/view/webview-html';
import { windowFlows, type FlowSource } from './flow-source';
import type { SourceManager } from './source-manager';

export interface MapPanelHost {
  readonly extensionUri: vscode.Uri;
  readonly sources: SourceManager;
  readonly log: vscode.LogOutputChannel;
  readonly cloudRanges: () => CloudRanges | undefined;
  /** Generates policies for a selection on the map (FlowLens: Generate NetworkPolicy). */
  readonly generatePolicy: (selection: PolicySelection, window: TimeWindow) => Promise<unknown>;
}

/** Where to focus when the panel opens (the tree's "Show in Service Map" and "Show Flows"). */
export interface MapFocus {
  readonly namespace?: string;
  readonly endpointId?: string;
  readonly query?: string;
}

export class ServiceMapPanel implements vscode.Disposable {
  static readonly viewType = 'flowlens.map';
  private static current: ServiceMapPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly publisher: SnapshotPublisher;
  private sourceSubscription?: vscode.Disposable;
  private ready = false;
  private pendingFocus?: MapFocus;
  /** The status last posted, so that the banner is not re-sent with every data change. */
  private lastStatus = '';
  private disposed = false;
  /** Messages the webview sent, newest last (for the extension-host tests). */
  readonly received: WebviewMessage['type'][] = [];

  /** Snapshots and deltas posted so far. */
  get posted(): { readonly snapshots: number; readonly deltas: number } {
    return this.publisher.stats;
  }

  /** Opens (or reveals) the panel, focused on `focus`. */
  static show(host: MapPanelHost, focus?: MapFocus): ServiceMapPanel {
    if (ServiceMapPanel.current) {
      ServiceMapPanel.current.panel.reveal(undefined, false);
    } else {
      const panel = vscode.window.createWebviewPanel(ServiceMapPanel.viewType, 'FlowLens: Service Map', vscode.ViewColumn.Active, {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(host.extensionUri, 'dist')],
      });
      ServiceMapPanel.current = new ServiceMapPanel(panel, host);
    }
    if (focus) {
      ServiceMapPanel.current.focus(focus);
    }
    return ServiceMapPanel.current;
  }

  /** Restores a panel after a reload (registerWebviewPanelSerializer). */
  static revive(panel: vscode.WebviewPanel, host: MapPanelHost): void {
    ServiceMapPanel.current?.dispose();
    ServiceMapPanel.current = new ServiceMapPanel(panel, host);
  }

  static get open(): ServiceMapPanel | undefined {
    return ServiceMapPanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly host: MapPanelHost,
  ) {
    // Only the build output is reachable from the webview.
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(host.extensionUri, 'dist')] };
    panel.iconPath = vscode.Uri.joinPath(host.extensionUri, 'media', 'flowlens.svg');
    this.publisher = new SnapshotPublisher({
      build: (window, nowMs) => this.build(window, nowMs),
      post: (message) => this.post(message),
    });
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw: unknown) =>
        // A failure while answering the webview is the user's to see, not an unhandled rejection.
        this.receive(raw).catch((e: unknown) => {
          const message = e instanceof ClusterError ? e.full : (e as Error).message;
          host.log.error(`service map: ${message}`);
          void vscode.window.showErrorMessage(`FlowLens: ${message}`);
        }),
      ),
      host.sources.onDidChangeSource(() => this.watchSource()),
    );
    this.watchSource();
  }

  private html(): string {
    const webview = this.panel.webview;
    const dist = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.host.extensionUri, 'dist', file)).toString();
    return webviewHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(24).toString('base64url'),
      scriptUri: dist('webview.js'),
      styleUri: dist('webview.css'),
      codiconUri: dist('codicon.css'),
      title: 'FlowLens: Service Map',
    });
  }

  private watchSource(): void {
    this.sourceSubscription?.dispose();
    const source = this.host.sources.source;
    this.sourceSubscription = source?.onDidChange(() => {
      this.publisher.invalidate();
      this.postStatus();
    });
    this.panel.title = source ? `FlowLens: ${source.label}` : 'FlowLens: Service Map';
    if (this.ready) {
      this.publisher.resync();
      this.postStatus();
    }
  }

  private build(window: TimeWindow, nowMs: number) {
    const source = this.host.sources.source;
    if (!source) {
      return buildSnapshot([], { window, nowMs, seq: 0 });
    }
    const w = windowFlows(source, TIME_WINDOW_MS[window], this.host.cloudRanges());
    return buildSnapshot(w.flows, { window, nowMs: w.toMs, seq: 0, namespaces: [...w.cluster.namespaces.keys()] });
  }

  private statusOf(source: FlowSource | undefined): ViewStatus {
    if (!source) {
      return { state: 'error', message: this.host.sources.error ?? 'No cluster: FlowLens reads KUBECONFIG or ~/.kube/config (FlowLens: Switch Context), or open a recording.' };
    }
    if (source.kind === 'recording') {
      return { state: 'paused', message: `Recording ${source.description}: the views show its last minutes.` };
    }
    const error = source.error();
    if (error) {
      return { state: 'error', message: error };
    }
    const agents = source.agents() ?? [];
    const down = agents.filter((a) => a.state === 'down');
    if (agents.length === 0) {
      return { state: 'no-data', message: 'No FlowLens agent runs in this cluster: FlowLens: Deploy Agent.' };
    }
    if (source.store.newest === undefined) {
      return { state: 'connecting' };
    }
    if (down.length > 0) {
      return { state: 'error', message: `No flows from ${down.map((a) => a.node).join(', ')}: ${down[0].error ?? 'the agent is down'}.` };
    }
    return { state: 'live' };
  }

  private postStatus(): void {
    const status = this.statusOf(this.host.sources.source);
    const key = JSON.stringify(status);
    if (key !== this.lastStatus) {
      this.lastStatus = key;
      this.post({ type: 'status', status });
    }
  }

  private focus(focus: MapFocus): void {
    if (this.ready) {
      this.post({ type: 'reveal', ...focus });
    } else {
      this.pendingFocus = focus;
    }
  }

  private post(message: HostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  private async receive(raw: unknown): Promise<void> {
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) {
      this.host.log.warn(`service map: ${parsed.error}`);
      return;
    }
    const m = parsed.message;
    this.received.push(m.type);
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.lastStatus = '';
        this.publisher.resync(m.window);
        this.postStatus();
        if (this.pendingFocus) {
          this.post({ type: 'reveal', ...this.pendingFocus });
          this.pendingFocus = undefined;
        }
        return;
      case 'setWindow':
        this.publisher.setWindow(m.window);
        return;
      case 'resync':
        this.publisher.resync();
        return;
      case 'generatePolicy': {
        const source = this.host.sources.source;
        if (!source) {
          return;
        }
        const selection = policySelection(windowFlows(source, TIME_WINDOW_MS[m.window], this.host.cloudRanges()).flows, m);
        await this.host.generatePolicy(selection, m.window);
        return;
      }
      case 'showFlows':
        // The webview pins the selected links' rows in its own table; the host has nothing to add.
        return;
      case 'openPodEvents':
        await this.openPodEvents(m.namespace, m.pods);
        return;
      case 'saveCsv':
        await this.saveCsv(m.fileName, m.csv, m.rows);
        return;
      case 'error':
        this.host.log.error(`service map: ${m.message}`);
        return;
    }
  }

  private async openPodEvents(namespace: string, pods: readonly string[]): Promise<void> {
    const session = this.host.sources.session;
    if (!session) {
      void vscode.window.showInformationMessage('FlowLens: pod events need a live cluster; a recording has none.');
      return;
    }
    try {
      const events = await podEvents(session.kubeConfig, namespace, pods);
      const lines = events.map((e) => `${new Date(e.timeMs).toISOString()}  ${e.type.padEnd(7)}  ${e.reason.padEnd(20)}  ${e.pod}  ${e.message}${e.count > 1 ? ` (x${e.count})` : ''}`);
      const content = [`# Events of ${pods.length === 1 ? `pod ${namespace}/${pods[0]}` : `${pods.length} pods in ${namespace}`} (${session.label})`, '', ...(lines.length > 0 ? lines : ['No events.'])].join('\n');
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ content, language: 'log' }), { preview: true, viewColumn: vscode.ViewColumn.Beside });
    } catch (e) {
      void vscode.window.showErrorMessage(`FlowLens: ${e instanceof ClusterError ? e.full : (e as Error).message}`);
    }
  }

  private async saveCsv(fileName: string, csv: string, rows: number): Promise<void> {
    // The file name comes from the webview: keep only a plain name, never a path.
    const safe = fileName.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '') || 'flowlens-flows.csv';
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, safe) : undefined,
      filters: { CSV: ['csv'] },
      title: `FlowLens: save ${rows} flow table rows as CSV`,
    });
    if (target) {
      await vscode.workspace.fs.writeFile(target, Buffer.from(csv, 'utf8'));
      void vscode.window.showInformationMessage(`FlowLens: saved ${rows} rows to ${vscode.workspace.asRelativePath(target)}.`);
    }
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    if (ServiceMapPanel.current === this) {
      ServiceMapPanel.current = undefined;
    }
    this.publisher.dispose();
    this.sourceSubscription?.dispose();
    this.panel.dispose();
    while (this.disposables.length > 0) {
      this.disposables.pop()?.dispose();
    }
  }
}
