/**
 * FlowLens: Record Flows / Stop Recording / Open Recording. A recording is the live stream written to a
 * `.flows.jsonl` file (each record exactly as the agent sent it) plus, when it stops, a cluster snapshot
 * beside it (`x.cluster.yaml`, keeping the pods that ended meanwhile), so that it can be opened later
 * without a cluster, or given to `flowlens policy generate|validate` in CI.
 */
import * as vscode from 'vscode';
import { writeFile } from 'node:fs/promises';
import { ClusterError } from '../cluster/cluster-error';
import { listClusterObjects, snapshotCluster, type ApiObject } from '../cluster/cluster-snapshot';
import { FlowRecorder, type RecorderSummary } from '../cluster/flow-recorder';
import { snapshotFileFor } from '../core/flows/recording';
import { formatBytes } from '../core/policy/generate';
import type { ClusterSession } from './cluster-session';
import { demoRecording, readRecording } from './recording-source';
import type { SourceManager } from './source-manager';

export interface RecordingSummary extends RecorderSummary {
  readonly path: string;
  readonly snapshotPath?: string;
}

interface Active {
  readonly recorder: FlowRecorder;
  readonly session: ClusterSession;
  readonly before: readonly ApiObject[];
  readonly timer: ReturnType<typeof setInterval>;
}

export class FlowRecording implements vscode.Disposable {
  private active?: Active;
  private readonly status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 9);
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly sources: SourceManager,
    private readonly extensionUri: vscode.Uri,
    private readonly maxBytes: () => number,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.status.command = 'flowlens.recording.stop';
    // The recording belongs to its session: another context or a recording ends it.
    this.subscription = sources.onDidChangeSource((s) => {
      if (this.active && s !== this.active.session) {
        void this.stop();
      }
    });
  }

  get recording(): string | undefined {
    return this.active?.recorder.path;
  }

  /** Starts recording the live session to `path` (asked for when absent). */
  async start(path?: string): Promise<string | undefined> {
    const session = this.sources.session;
    if (!session) {
      void vscode.window.showErrorMessage('FlowLens: recording needs a live cluster (FlowLens: Switch Context).');
      return undefined;
    }
    if (this.active) {
      void vscode.window.showWarningMessage(`FlowLens: already recording to ${this.active.recorder.path}.`);
      return undefined;
    }
    const target = path ?? (await this.askPath(session));
    if (!target) {
      return undefined;
    }
    let before: ApiObject[];
    let recorder: FlowRecorder;
    try {
      // The cluster as it was at the start: pods that end during the recording stay in its snapshot.
      before = await listClusterObjects(session.kubeConfig);
      recorder = await FlowRecorder.open(target, {
        maxBytes: this.maxBytes(),
        overwrite: path === undefined, // the save dialog has asked already
        onStop: (stop) => {
          void vscode.window.showWarningMessage(`FlowLens: recording stopped: ${stop.message}.`);
          void this.stop();
        },
      });
    } catch (e) {
      void vscode.window.showErrorMessage(`FlowLens: cannot record: ${e instanceof ClusterError ? e.full : (e as Error).message}`);
      return undefined;
    }
    session.onRecordLines = (lines) => lines.forEach((line) => recorder.write(line));
    const timer = setInterval(() => this.showStatus(), 1000);
    this.active = { recorder, session, before, timer };
    this.showStatus();
    this.status.show();
    await vscode.commands.executeCommand('setContext', 'flowlens.recording', true);
    this.log.info(`recording ${session.label} to ${target}`);
    return target;
  }

  /** Stops, closes the file and writes the cluster snapshot beside it. */
  async stop(): Promise<RecordingSummary | undefined> {
    const active = this.active;
    if (!active) {
      return undefined;
    }
    this.active = undefined;
    clearInterval(active.timer);
    active.session.onRecordLines = undefined;
    this.status.hide();
    await vscode.commands.executeCommand('setContext', 'flowlens.recording', false);
    const summary = await active.recorder.close();
    const snapshotPath = snapshotFileFor(active.recorder.path);
    let written: string | undefined;
    try {
      await writeFile(snapshotPath, await snapshotCluster(active.session.kubeConfig, active.before));
      written = snapshotPath;
    } catch (e) {
      void vscode.window.showErrorMessage(
        `FlowLens: the recording is saved, but not its cluster snapshot (${snapshotPath}): ${e instanceof ClusterError ? e.full : (e as Error).message}. Write one with \`flowlens record\` or \`kubectl get -o yaml\`.`,
      );
    }
    const text = `recorded ${summary.records} flow records (${formatBytes(summary.bytes)}) to ${active.recorder.path}${written ? ` with the cluster snapshot ${written}` : ''}`;
    this.log.info(text);
    if (written) {
      void vscode.window.showInformationMessage(`FlowLens: ${text}.`, 'Open Recording').then((choice) => {
        if (choice) {
          void vscode.commands.executeCommand('flowlens.recording.open', vscode.Uri.file(active.recorder.path));
        }
      });
    }
    return { ...summary, path: active.recorder.path, snapshotPath: written };
  }

  /**
   * Opens a recording (asks which; the demo recording is one choice). When it cannot be read the current
   * source stays, and the error (also shown) is returned.
   */
  async open(uri?: vscode.Uri): Promise<'opened' | 'cancelled' | { readonly error: string }> {
    const file = uri ?? (await this.askRecording());
    if (!file) {
      return 'cancelled';
    }
    try {
      await this.sources.open(await readRecording(file, this.log));
      return 'opened';
    } catch (e) {
      const error = (e as Error).message;
      this.log.error(error);
      void vscode.window.showErrorMessage(`FlowLens: ${error}`);
      return { error };
    }
  }

  private async askRecording(): Promise<vscode.Uri | undefined> {
    const demo = demoRecording(this.extensionUri);
    const picked = await vscode.window.showQuickPick(
      [
        { label: '$(play) The demo recording', description: '45 seconds of the sandbox demo app, shipped with FlowLens', uri: demo },
        { label: '$(folder-opened) Choose a .flows.jsonl file…', uri: undefined },
      ],
      { title: 'FlowLens: open a recording' },
    );
    if (!picked) {
      return undefined;
    }
    if (picked.uri) {
      return picked.uri;
    }
    const chosen = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'FlowLens recordings': ['jsonl'] }, title: 'FlowLens: open a recording (its .cluster.yaml must be beside it)' });
    return chosen?.[0];
  }

  private async askPath(session: ClusterSession): Promise<string | undefined> {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const name = `${session.label.replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}.flows.jsonl`;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
      filters: { 'FlowLens recordings': ['jsonl'] },
      title: 'FlowLens: record the flow stream to',
    });
    return uri?.fsPath;
  }

  private showStatus(): void {
    const r = this.active?.recorder;
    if (r) {
      this.status.text = `$(record) ${r.records} records`;
      this.status.tooltip = `FlowLens is recording to ${r.path} (${formatBytes(r.bytes)}). Click to stop.`;
    }
  }

  dispose(): void {
    void this.stop();
    this.subscription.dispose();
    this.status.dispose();
  }
}
