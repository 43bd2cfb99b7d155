/**
 * Access to the sandbox cluster for integration tests. scripts/test.sh starts one sandbox for the
 * TypeScript suites and exports its admin kubeconfig as FLOWLENS_SANDBOX_KUBECONFIG; without it these
 * suites are skipped (and counted as such), never silently passed.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export function sandboxKubeconfig(): string | undefined {
  return process.env.FLOWLENS_SANDBOX_KUBECONFIG || undefined;
}

/** Skips the suite when no sandbox is running. */
export function requireSandbox(ctx: Mocha.Context): string {
  const path = sandboxKubeconfig();
  if (!path) {
    ctx.skip();
  }
  return path!;
}

export function adminConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** A kubeconfig for a fresh ServiceAccount with no permissions at all, for RBAC-denial tests. */
export async function powerlessConfig(admin: KubeConfig, name: string): Promise<KubeConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name } } }).catch((e: { code?: number }) => {
    if (e.code !== 409) {
      throw e;
    }
  });
  const token = await core.createNamespacedServiceAccountToken({ name, namespace: 'default', body: { spec: { audiences: [], expirationSeconds: 600 } } });
  const cluster = admin.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'sandbox', server: cluster.server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: false }],
    users: [{ name, token: token.status!.token }],
    contexts: [{ name, cluster: 'sandbox', user: name }],
    currentContext: name,
  });
  return kc;
}
