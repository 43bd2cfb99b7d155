/**
 * A recording opened offline (FlowLens: Open Recording): a `.flows.jsonl` file and the cluster snapshot
 * beside it, as a FlowSource, so the tree, the map and the policy diagnostics work on it as on a cluster.
 * "Now" is the end of the recording. The demo recording ships with the extension.
 */
import * as vscode from 'vscode';
import { basename } from 'node:path';
import { FlowStore } from '../core/flows/flow-store';
import { loadRecording, snapshotFileFor, type Recording } from '../core/flows/recording';
import { formatTime } from '../core/policy/generate';
import type { Cluster } from '../core/kube/cluster';
import type { FlowSource } from './flow-source';

export class RecordingSource implements FlowSource {
  readonly kind = 'recording';
  readonly label: string;
  readonly description: string;
  readonly store = new FlowStore();
  private readonly changed = new vscode.EventEmitter<void>();
  /** A recording never changes. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly recording: Recording,
    readonly path: string,
  ) {
    this.store.add(recording.records);
    this.label = basename(path);
    const dropped = this.store.stats().tooOld;
    this.description = `${path} (${formatTime(recording.fromMs)} to ${formatTime(recording.toMs)}, ${recording.records.length} records${dropped > 0 ? `; the ${dropped} records older than its last hour are not shown` : ''})`;
  }

  cluster(): Cluster {
    return this.recording.cluster;
  }

  agents(): undefined {
    return undefined;
  }

  error(): undefined {
    return undefined;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** The demo recording shipped with the extension (examples/demo, beside its cluster snapshot). */
export function demoRecording(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'examples', 'demo', 'demo.flows.jsonl');
}

/** Reads a recording and its snapshot; throws an Error whose message lists what is wrong, with lines. */
export async function readRecording(flowsFile: vscode.Uri, log: vscode.LogOutputChannel): Promise<RecordingSource> {
  const snapshotFile = vscode.Uri.file(snapshotFileFor(flowsFile.fsPath));
  const read = async (uri: vscode.Uri, what: string) => {
    try {
      return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch (e) {
      throw new Error(`cannot read the ${what} ${uri.fsPath}: ${(e as Error).message}`);
    }
  };
  const [flows, snapshot] = await Promise.all([read(flowsFile, 'recording'), read(snapshotFile, 'cluster snapshot that goes with the recording')]);
  const loaded = loadRecording({ file: basename(flowsFile.fsPath), text: flows }, { file: basename(snapshotFile.fsPath), text: snapshot });
  if (!loaded.ok) {
    loaded.errors.forEach((e) => log.error(e));
    throw new Error(`cannot open the recording ${flowsFile.fsPath}: ${loaded.errors[0]}${loaded.errors.length > 1 ? ` (and ${loaded.errors.length - 1} more; see FlowLens: Show Log)` : ''}`);
  }
  loaded.recording.notes.forEach((n) => log.info(`recording: ${n}`));
  return new RecordingSource(loaded.recording, flowsFile.fsPath);
}
