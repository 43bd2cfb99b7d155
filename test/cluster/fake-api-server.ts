/**
 * A stand-in for kube-apiserver over plain HTTP, for the paths of cluster code that the shared sandbox
 * must not be changed to reach (deleted pods, RBAC denials, paging). Unhandled lists are empty; watches
 * stay open without events until the server closes.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeResponse {
  readonly status?: number;
  readonly body: unknown;
}

export interface FakeRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
}

export interface FakeApi {
  /** Credentials: the bearer token "fake-token". */
  readonly kc: KubeConfig;
  readonly requests: FakeRequest[];
  close(): Promise<void>;
}

export async function fakeApiServer(handle: (req: FakeRequest) => FakeResponse | undefined): Promise<FakeApi> {
  const requests: FakeRequest[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const request = { path: url.pathname, query: url.searchParams, headers: req.headers };
    requests.push(request);
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      return;
    }
    const answer = handle(request) ?? { body: { kind: 'List', apiVersion: 'v1', metadata: {}, items: [] } };
    res.writeHead(answer.status ?? 200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'fake', token: 'fake-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return {
    kc,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
