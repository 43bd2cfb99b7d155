/**
 * One Kubernetes API request with the kubeconfig's credentials (client certificates, tokens, exec plugins
 * such as `aws eks get-token`), sending and returning JSON exactly as the API server has it. The client
 * library's typed APIs round-trip objects through models that drop fields they do not know and rename
 * others (a NetworkPolicy rule's `from` becomes `_from`), which would silently change what FlowLens reads
 * and applies. Failures reject with the library's ApiException, which toClusterError classifies.
 */
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { ClusterError } from './cluster-error';

const REQUEST_TIMEOUT_MS = 30_000;

export interface RawRequest {
  readonly method: 'GET' | 'PATCH';
  /** The API path, e.g. /apis/networking.k8s.io/v1/networkpolicies. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** The body's content type (e.g. server-side apply's). */
  readonly contentType?: string;
}

export async function requestJson(kc: KubeConfig, r: RawRequest): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new ClusterError('the kubeconfig has no current cluster', 'config', 'Choose a context with `kubectl config use-context` or the FlowLens: Switch Context command');
  }
  const url = new URL(cluster.server.replace(/\/+$/, '') + r.path);
  for (const [key, value] of Object.entries(r.query ?? {})) {
    url.searchParams.set(key, value);
  }
  const options: RequestOptions = { method: r.method, headers: {} };
  await kc.applyToHTTPSOptions(options);
  options.headers = { ...options.headers, Accept: 'application/json', ...(r.body === undefined ? {} : { 'Content-Type': r.contentType ?? 'application/json' }) };
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          reject(new ApiException(status, `HTTP ${status}`, text, headersOf(res.headers)));
          return;
        }
        try {
          resolve(JSON.parse(text) as unknown);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(r.body === undefined ? undefined : JSON.stringify(r.body));
  });
}

function headersOf(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
}
