/**
 * The `flowlens.cloudRanges` setting: an AWS ip-ranges.json (https://ip-ranges.amazonaws.com/ip-ranges.json,
 * or a trimmed copy) that names cloud-service addresses (S3, DYNAMODB, ...) in the views and policies.
 * Read once per change of the setting; a file that cannot be read or parsed is reported and ignored.
 */
import * as vscode from 'vscode';
import { readFileSync } from 'node:fs';
import { parseAwsIpRanges, type CloudRanges } from '../core/flows/cloud-ranges';

export class CloudRangesSetting {
  private loaded?: { path: string; ranges: CloudRanges | undefined };

  constructor(
    private readonly path: () => string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get(): CloudRanges | undefined {
    const path = this.path();
    if (this.loaded?.path === path) {
      return this.loaded.ranges;
    }
    this.loaded = { path, ranges: path ? this.read(path) : undefined };
    return this.loaded.ranges;
  }

  private read(path: string): CloudRanges | undefined {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      return this.fail(`cannot read the flowlens.cloudRanges file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const parsed = parseAwsIpRanges(text, path);
    return parsed.ok ? parsed.ranges : this.fail(`flowlens.cloudRanges: ${parsed.error}`);
  }

  private fail(message: string): undefined {
    this.log.error(message);
    void vscode.window.showErrorMessage(`FlowLens: ${message}. Cloud services are shown as external addresses until it is fixed.`);
    return undefined;
  }
}
