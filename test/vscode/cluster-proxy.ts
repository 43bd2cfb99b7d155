/**
 * A TCP relay on loopback in front of the sandbox's API server, which a test can stop and start again:
 * for the extension it is exactly a cluster whose API server goes away mid-stream (connections cut,
 * new ones refused) and comes back on the same address.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class ClusterProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly target: { host: string; port: number },
    public port: number,
  ) {}

  static async start(targetUrl: string): Promise<ClusterProxy> {
    const url = new URL(targetUrl);
    const proxy = new ClusterProxy({ host: url.hostname, port: Number(url.port || 443) }, 0);
    await proxy.resume();
    return proxy;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Listens again, on the port it had before. */
  resume(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((client) => {
        const upstream = connect(this.target.port, this.target.host);
        for (const s of [client, upstream]) {
          this.sockets.add(s);
          s.on('close', () => this.sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        this.port = (server.address() as { port: number }).port;
        this.server = server;
        resolve();
      });
    });
  }

  /** Cuts every connection and refuses new ones. */
  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) {
      s.destroy();
    }
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
