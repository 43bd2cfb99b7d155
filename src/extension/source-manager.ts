/**
 * Owns the current data source: the live session on the chosen kubeconfig context (re-created when the
 * kubeconfig file, the setting or the context changes) or an opened recording. Keeps the status-bar item
 * in step and tells the views when the source is replaced.
 */
import * as vscode from 'vscode';
import { watch, type FSWatcher } from 'node:fs';
import { ClusterError } from '../cluster/cluster-error';
import { kubeconfigFiles, loadKubeConfig, type KubeconfigOptions } from '../cluster/kubeconfig';
import { ClusterSession } from './cluster-session';
import { COMMANDS } from './command-ids';
import type { FlowSource } from './flow-source';

export class SourceManager implements vscode.Disposable {
  private current: FlowSource | undefined;
  private currentError: string | undefined;
  private watchers: FSWatcher[] = [];
  private pending: Promise<void> = Promise.resolve();
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly changed = new vscode.EventEmitter<FlowSource | undefined>();
  /** Fires when the source is replaced (not when its data changes: see FlowSource.onDidChange). */
  readonly onDidChangeSource = this.changed.event;
  private readonly status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);

  constructor(
    private readonly kubeconfigOptions: () => KubeconfigOptions,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.status.command = COMMANDS.switchContext;
    this.status.show();
  }

  get source(): FlowSource | undefined {
    return this.current;
  }

  /** The live session, when the source is a cluster. */
  get session(): ClusterSession | undefined {
    return this.current instanceof ClusterSession ? this.current : undefined;
  }

  /** Why there is no source (the kubeconfig could not be read), for the tree. */
  get error(): string | undefined {
    return this.currentError;
  }

  /** Resolves when the latest (re)connection or recording load has finished. */
  settled(): Promise<void> {
    return this.pending;
  }

  /** (Re)connects to the kubeconfig's context: replaces whatever source is open. */
  connect(): Promise<void> {
    return this.replace(async () => {
      // Re-read on kubeconfig change, as kubectl users expect.
      this.watchers = kubeconfigFiles(this.kubeconfigOptions()).flatMap((file) => {
        try {
          return [watch(file, () => this.scheduleReconnect())];
        } catch {
          return [];
        }
      });
      const next = new ClusterSession(loadKubeConfig(this.kubeconfigOptions()), this.log);
      this.set(next);
      this.showStatus('$(pulse)', next.label, `FlowLens: ${next.label} (${next.description}). Click to switch context.`);
      await next.start();
      const error = next.error();
      this.showStatus(error ? '$(warning)' : '$(pulse)', next.label, this.status.tooltip as string);
      if (error) {
        void vscode.window.showWarningMessage(`FlowLens: ${error}`);
      }
    });
  }

  /** Shows a source that is not a cluster (a recording) instead of whatever is open. */
  open(next: FlowSource): Promise<void> {
    return this.replace(async () => {
      this.set(next);
      this.showStatus('$(record)', next.label, `FlowLens: recording ${next.description}. Click to connect to a cluster instead.`);
    });
  }

  private replace(run: () => Promise<void>): Promise<void> {
    this.pending = this.pending.then(async () => {
      clearTimeout(this.reconnectTimer);
      this.current?.dispose();
      this.current = undefined;
      this.watchers.forEach((w) => w.close());
      this.watchers = [];
      try {
        await run();
      } catch (e) {
        const message = e instanceof ClusterError ? e.full : (e as Error).message;
        this.log.error(message);
        this.currentError = message;
        this.changed.fire(undefined);
        this.showStatus('$(warning)', 'FlowLens: no cluster', message);
      }
    });
    return this.pending;
  }

  private set(next: FlowSource): void {
    this.current = next;
    this.currentError = undefined;
    this.changed.fire(next);
  }

  private showStatus(icon: string, text: string, tooltip: string): void {
    this.status.text = `${icon} ${text}`;
    this.status.tooltip = tooltip;
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), 1000);
  }

  dispose(): void {
    clearTimeout(this.reconnectTimer);
    this.watchers.forEach((w) => w.close());
    this.current?.dispose();
    this.status.dispose();
    this.changed.dispose();
  }
}
