/**
 * Streams flow records from every agent pod's flow API, which listens on the pod's loopback only: each
 * connection goes through port-forward (RBAC: pods/portforward), exactly as `kubectl port-forward` would.
 * Agent pods are watched as they come and go; a dropped stream reconnects with exponential backoff and
 * first fetches what it missed (`/v1/flows?since=<last window end>`), so nothing is lost or repeated.
 * A node whose agent is down is reported as such, never silently missing.
 */
import { KubeConfig, makeInformer, CoreV1Api, PortForward, type V1Pod } from '@kubernetes/client-node';
import { createServer, type Server, type Socket } from 'node:net';
import { get, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { parseFlowRecord, type FlowRecord } from '../core/flows/flow-record';
import { toClusterError } from './cluster-error';
import { AGENT_NAMESPACE } from './agent-deployment';
import { identityOf } from './kubeconfig';

const AGENT_SELECTOR = 'app.kubernetes.io/name=flowlens-agent';
const FLOW_API_PORT = 9102;

export type AgentConnectionState = 'connecting' | 'streaming' | 'down';

export interface AgentConnection {
  readonly node: string;
  readonly pod: string;
  readonly state: AgentConnectionState;
  /** Why it is down or reconnecting. */
  readonly error?: string;
  readonly records: number;
}

export interface AgentStreamsOptions {
  /**
   * `lines` holds each record's JSON text as the agent sent it, for recordings that keep fields this
   * version does not read (records fetched after a reconnect are re-serialised: same fields, same order).
   */
  readonly onRecords: (records: FlowRecord[], node: string, lines: string[]) => void;
  readonly onState?: (connection: AgentConnection) => void;
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

class Connection {
  state: AgentConnectionState = 'connecting';
  error?: string;
  records = 0;
  /** End of the last window delivered, for resuming without gaps or repeats. */
  lastEnd?: string;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly tunnels = new Set<{ close(): void }>();
  private response?: IncomingMessage;
  private timer?: ReturnType<typeof setTimeout>;
  private backoff: number;
  private closed = false;

  constructor(
    readonly pod: string,
    readonly node: string,
    private readonly kc: KubeConfig,
    private readonly options: AgentStreamsOptions,
  ) {
    this.backoff = options.backoffMs ?? 1000;
  }

  get info(): AgentConnection {
    return { node: this.node, pod: this.pod, state: this.state, error: this.error, records: this.records };
  }

  async open(): Promise<void> {
    try {
      const port = await this.forward();
      if (this.lastEnd) {
        const missed = await fetchJson(port, `/v1/flows?since=${encodeURIComponent(this.lastEnd)}`);
        this.deliver(missed.records, missed.lines);
      }
      this.response = await request(port, '/v1/flows/stream');
      this.setState('streaming');
      this.backoff = this.options.backoffMs ?? 1000;
      const lines = createInterface({ input: this.response });
      // readline re-emits its input's errors; the response's own 'error' handler below reconnects.
      lines.on('error', () => undefined);
      let batch: FlowRecord[] = [];
      let batchLines: string[] = [];
      let flush: ReturnType<typeof setTimeout> | undefined;
      const deliver = () => {
        this.deliver(batch, batchLines);
        batch = [];
        batchLines = [];
      };
      lines.on('line', (line) => {
        const parsed = parseFlowRecord(safeJson(line));
        if (parsed.ok) {
          batch.push(parsed.record);
          batchLines.push(line);
        }
        // The agent writes a window's records at once: deliver when the burst is over.
        clearTimeout(flush);
        flush = setTimeout(deliver, 50);
      });
      this.response.on('end', () => {
        clearTimeout(flush);
        deliver();
        this.retry('the agent closed the stream');
      });
      this.response.on('error', (e) => this.retry(e.message));
      // A stream cut without 'end' or 'error' (its tunnel destroyed) still closes.
      this.response.on('close', () => {
        if (this.state === 'streaming') {
          this.retry('the stream closed');
        }
      });
    } catch (e) {
      this.retry(e instanceof Error ? e.message : String(e));
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.response?.destroy();
    this.server?.close();
    // Port-forward tunnels and their local sockets would otherwise outlive the connection.
    this.tunnels.forEach((t) => t.close());
    this.sockets.forEach((s) => s.destroy());
    this.setState('down', 'the agent pod is gone');
  }

  private deliver(records: FlowRecord[], lines: string[]): void {
    const keep = records.map((r) => !this.lastEnd || r.end > this.lastEnd);
    const fresh = records.filter((_, i) => keep[i]);
    if (fresh.length === 0) {
      return;
    }
    this.records += fresh.length;
    for (const r of fresh) {
      if (!this.lastEnd || r.end > this.lastEnd) {
        this.lastEnd = r.end;
      }
    }
    this.options.onRecords(fresh, this.node, lines.filter((_, i) => keep[i]));
  }

  /** A loopback listener whose every connection is port-forwarded to the agent's flow API. */
  private forward(): Promise<number> {
    if (this.server?.listening) {
      return Promise.resolve((this.server.address() as { port: number }).port);
    }
    const pf = new PortForward(this.kc);
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      pf.portForward(AGENT_NAMESPACE, this.pod, [FLOW_API_PORT], socket, null, socket).then(
        (ws) => {
          const tunnel = typeof ws === 'function' ? ws() : ws;
          if (tunnel) {
            this.tunnels.add(tunnel);
            socket.on('close', () => {
              this.tunnels.delete(tunnel);
              tunnel.close();
            });
            // The library leaves the local socket open when the tunnel drops (API server gone): end it, so
            // that the stream on it fails and reconnects instead of waiting forever.
            tunnel.on('close', () => {
              this.error = 'the port-forward tunnel closed';
              socket.destroy();
            });
          }
        },
        (e: unknown) => {
          this.error = toClusterError(e, `port-forward to ${this.pod}`, identityOf(this.kc)).full;
          socket.destroy();
        },
      );
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve((this.server!.address() as { port: number }).port));
    });
  }

  private retry(reason: string): void {
    if (this.closed) {
      return;
    }
    this.response?.destroy();
    this.setState('down', this.error ?? reason);
    this.error = undefined;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.setState('connecting');
      void this.open();
    }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs ?? 30_000);
  }

  private setState(state: AgentConnectionState, error?: string): void {
    if (this.state === state && this.error === error) {
      return;
    }
    this.state = state;
    this.error = error;
    this.options.onState?.(this.info);
  }
}

export class AgentStreams {
  private readonly connections = new Map<string, Connection>(); // by node
  private informer?: ReturnType<typeof makeInformer<V1Pod>>;
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly options: AgentStreamsOptions,
  ) {}

  async start(): Promise<void> {
    const core = this.kc.makeApiClient(CoreV1Api);
    this.informer = makeInformer<V1Pod>(this.kc, `/api/v1/namespaces/${AGENT_NAMESPACE}/pods`, () => core.listNamespacedPod({ namespace: AGENT_NAMESPACE, labelSelector: AGENT_SELECTOR }), AGENT_SELECTOR);
    const update = (pod: V1Pod) => this.reconcile(pod);
    this.informer.on('add', update);
    this.informer.on('update', update);
    this.informer.on('delete', (pod) => {
      const node = pod.spec?.nodeName;
      const c = node ? this.connections.get(node) : undefined;
      if (c && c.pod === pod.metadata?.name) {
        c.close();
      }
    });
    this.informer.on('error', () => {
      if (!this.stopped) {
        setTimeout(() => !this.stopped && void this.informer?.start(), 5000);
      }
    });
    await this.informer.start();
  }

  stop(): void {
    this.stopped = true;
    void this.informer?.stop();
    for (const c of this.connections.values()) {
      c.close();
    }
    this.connections.clear();
  }

  status(): AgentConnection[] {
    return [...this.connections.values()].map((c) => c.info).sort((a, b) => (a.node < b.node ? -1 : 1));
  }

  private reconcile(pod: V1Pod): void {
    const node = pod.spec?.nodeName;
    const name = pod.metadata?.name;
    const running = pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp;
    if (!node || !name || !running) {
      return;
    }
    const existing = this.connections.get(node);
    if (existing?.pod === name) {
      return;
    }
    const lastEnd = existing?.lastEnd;
    existing?.close();
    const c = new Connection(name, node, this.kc, this.options);
    // A new agent pod on the node continues where the old one stopped (the agent hands its counters over).
    c.lastEnd = lastEnd;
    this.connections.set(node, c);
    this.options.onState?.(c.info);
    void c.open();
  }
}

function request(port: number, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: 10_000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`the agent answered ${path} with HTTP ${res.statusCode}`));
        return;
      }
      req.setTimeout(0);
      resolve(res);
    });
    req.on('timeout', () => req.destroy(new Error(`the agent did not answer ${path} within 10 s`)));
    req.on('error', reject);
  });
}

async function fetchJson(port: number, path: string): Promise<{ records: FlowRecord[]; lines: string[] }> {
  const res = await request(port, path);
  let body = '';
  for await (const chunk of res) {
    body += chunk;
  }
  const records: FlowRecord[] = [];
  const lines: string[] = [];
  for (const flow of (safeJson(body) as { flows?: unknown[] } | undefined)?.flows ?? []) {
    const parsed = parseFlowRecord(flow);
    if (parsed.ok) {
      records.push(parsed.record);
      lines.push(JSON.stringify(flow));
    }
  }
  return { records, lines };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
