/**
 * Reads the manifest files and directories given on the command line into a cluster snapshot,
 * turning every problem into one precise CliError line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildCluster, type Cluster } from '../core/kube/cluster';
import type { ClusterObject } from '../core/kube/decode';
import { formatManifestMessage, parseManifests } from '../core/kube/manifest';
import type { NetworkPolicy } from '../core/policy/network-policy';
import { CliError } from './cli-error';

/** Larger inputs are refused rather than risking an out-of-memory crash half way. */
export const MAX_INPUT_BYTES = 128 * 1024 * 1024;
const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i;

export interface LoadedInputs {
  readonly cluster: Cluster;
  /** Candidate policies from --policies. */
  readonly candidates: readonly NetworkPolicy[];
  readonly notes: readonly string[];
}

/** Reads a text input file, refusing directories, binary data and files over the size limit. */
export function readTextFile(path: string, flag: string): string {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      throw new CliError(`${flag}: ${path} is a directory`);
    }
    size = stat.size;
  } catch (e) {
    if (e instanceof CliError) {
      throw e;
    }
    throw new CliError(`${flag}: cannot read ${path}: ${describeFsError(e)}`);
  }
  if (size > MAX_INPUT_BYTES) {
    throw new CliError(`${flag}: ${path} is ${(size / 1048576).toFixed(0)} MiB; the limit is ${MAX_INPUT_BYTES / 1048576} MiB`);
  }
  const buffer = readFileSync(path);
  if (buffer.includes(0)) {
    throw new CliError(`${flag}: ${path} is not a text file`);
  }
  return buffer.toString('utf8').replace(/^\uFEFF/, '');
}

/** Expands directories to the manifest files they contain (sorted, one level deep). */
export function expandPaths(paths: readonly string[], flag: string): string[] {
  return paths.flatMap((path) => {
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch (e) {
      throw new CliError(`${flag}: cannot read ${path}: ${describeFsError(e)}`);
    }
    if (!isDir) {
      return [path];
    }
    const files = readdirSync(path)
      .filter((f) => MANIFEST_EXTENSIONS.test(f))
      .sort()
      .map((f) => join(path, f));
    if (files.length === 0) {
      throw new CliError(`${flag}: directory ${path} has no .yaml, .yml or .json files`);
    }
    return files;
  });
}

function readObjects(paths: readonly string[], flag: string, notes: string[]): ClusterObject[] {
  const objects: ClusterObject[] = [];
  for (const file of expandPaths(paths, flag)) {
    const parsed = parseManifests(readTextFile(file, flag), file);
    if (parsed.errors.length > 0) {
      const more = parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more error${parsed.errors.length > 2 ? 's' : ''} in this file)` : '';
      throw new CliError(`${formatManifestMessage(parsed.errors[0])}${more}`);
    }
    notes.push(...parsed.notes.map(formatManifestMessage));
    objects.push(...parsed.objects);
  }
  return objects;
}

export function loadInputs(clusterPaths: readonly string[], policyPaths: readonly string[]): LoadedInputs {
  const notes: string[] = [];
  const built = buildCluster(readObjects(clusterPaths, '--cluster', notes));
  if (built.errors.length > 0) {
    throw new CliError(`--cluster: ${built.errors[0]}`);
  }
  notes.push(...built.notes);
  const candidateObjects = readObjects(policyPaths, '--policies', notes);
  const others = candidateObjects.filter((o) => o.kind !== 'NetworkPolicy');
  if (others.length > 0) {
    const o = others[0].value;
    throw new CliError(`--policies: ${o.source?.file}:${o.source?.line}: expected NetworkPolicies only, found a ${others[0].kind}; cluster objects belong in --cluster`);
  }
  const candidates = candidateObjects.map((o) => o.value as NetworkPolicy);
  const candidateBuild = buildCluster(candidateObjects);
  if (candidateBuild.errors.length > 0) {
    throw new CliError(`--policies: ${candidateBuild.errors[0]}`);
  }
  const inForce = new Set(built.cluster.policies.map((p) => `${p.namespace}/${p.name}`));
  for (const c of candidates) {
    if (inForce.has(`${c.namespace}/${c.name}`)) {
      notes.push(`${c.source?.file}:${c.source?.line}: NetworkPolicy ${c.namespace}/${c.name} replaces the policy of the same name in --cluster`);
    }
  }
  return { cluster: built.cluster, candidates, notes };
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
}
