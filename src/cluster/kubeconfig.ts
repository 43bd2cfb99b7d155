/**
 * Kubeconfig as kubectl reads it: an explicit path (a FlowLens setting) wins, else KUBECONFIG (several
 * paths merged, the first that sets current-context decides it), else ~/.kube/config. Exec-based auth
 * (aws eks get-token, gke-gcloud-auth-plugin, ...) works through @kubernetes/client-node.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ClusterError, type ClusterIdentity } from './cluster-error';

export interface KubeconfigOptions {
  /** A kubeconfig file that overrides KUBECONFIG and ~/.kube/config. */
  readonly path?: string;
  /** A context other than the current one. */
  readonly context?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** The files the kubeconfig comes from, to watch for changes. */
export function kubeconfigFiles(options: KubeconfigOptions = {}): string[] {
  if (options.path) {
    return [options.path];
  }
  const env = options.env ?? process.env;
  if (env.KUBECONFIG) {
    return env.KUBECONFIG.split(delimiter).filter((p) => p !== '');
  }
  return [join(homedir(), '.kube', 'config')];
}

export function loadKubeConfig(options: KubeconfigOptions = {}): KubeConfig {
  const files = kubeconfigFiles(options).filter((f) => existsSync(f));
  if (files.length === 0) {
    throw new ClusterError(
      `no kubeconfig found (looked at ${kubeconfigFiles(options).join(', ')})`,
      'config',
      'Point KUBECONFIG or the flowlens.kubeconfig setting at one, or create ~/.kube/config (for EKS: `aws eks update-kubeconfig`)',
    );
  }
  const kc = new KubeConfig();
  try {
    // Merge as kubectl does: the first file that names a cluster, user or context wins, and so does the
    // first file that sets current-context.
    for (const file of files) {
      const part = new KubeConfig();
      part.loadFromFile(file);
      part.clusters.filter((c) => !kc.clusters.some((k) => k.name === c.name)).forEach((c) => kc.addCluster(c));
      part.users.filter((u) => !kc.users.some((k) => k.name === u.name)).forEach((u) => kc.addUser(u));
      part.contexts.filter((c) => !kc.contexts.some((k) => k.name === c.name)).forEach((c) => kc.addContext(c));
      if (!kc.getCurrentContext() && part.getCurrentContext()) {
        kc.setCurrentContext(part.getCurrentContext());
      }
    }
  } catch (e) {
    throw new ClusterError(`cannot read the kubeconfig (${files.join(', ')}): ${(e as Error).message.split('\n')[0]}`, 'config');
  }
  if (options.context) {
    if (!kc.getContexts().some((c) => c.name === options.context)) {
      throw new ClusterError(`kubeconfig has no context "${options.context}" (it has ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`, 'config');
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentContext() || !kc.getCurrentCluster()) {
    throw new ClusterError('the kubeconfig has no current context', 'config', 'Choose one with `kubectl config use-context` or the FlowLens: Switch Context command');
  }
  return kc;
}

export function identityOf(kc: KubeConfig): ClusterIdentity {
  return { context: kc.getCurrentContext(), server: kc.getCurrentCluster()?.server };
}
