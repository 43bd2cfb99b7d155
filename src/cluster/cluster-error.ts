/**
 * Failures talking to a cluster, classified so that every message says what failed and how to fix it:
 * unreachable API server, rejected credentials, RBAC denials, and the API's own validation errors.
 */
import { ApiException } from '@kubernetes/client-node';

export type ClusterErrorKind = 'unreachable' | 'unauthorized' | 'forbidden' | 'not-found' | 'conflict' | 'invalid' | 'timeout' | 'cancelled' | 'config' | 'other';

export class ClusterError extends Error {
  constructor(
    message: string,
    readonly kind: ClusterErrorKind,
    /** What to do about it, for the user. */
    readonly hint?: string,
  ) {
    super(message);
  }

  /** Message and hint in one line. */
  get full(): string {
    return this.hint ? `${this.message}. ${this.hint}` : this.message;
  }
}

export interface ClusterIdentity {
  readonly context?: string;
  readonly server?: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE']);

/** Turns anything a Kubernetes call threw into a ClusterError; `action` says what was being done ("list pods"). */
export function toClusterError(e: unknown, action: string, who: ClusterIdentity = {}): ClusterError {
  if (e instanceof ClusterError) {
    return e;
  }
  const where = who.context ? ` (context ${who.context}${who.server ? `, ${who.server}` : ''})` : who.server ? ` (${who.server})` : '';
  const status = statusCode(e);
  const apiMessage = apiStatusMessage(e);
  switch (status) {
    case 401:
      return new ClusterError(
        `cannot ${action}: the cluster rejected the credentials${where}`,
        'unauthorized',
        'They may have expired: log in again (for EKS: `aws sso login`, then `aws eks update-kubeconfig`); FlowLens reconnects by itself',
      );
    case 403:
      return new ClusterError(
        `cannot ${action}: forbidden by RBAC${where}${apiMessage ? `: ${apiMessage}` : ''}`,
        'forbidden',
        'Ask a cluster admin for the permissions listed in the README (Permissions)',
      );
    case 404:
      return new ClusterError(`cannot ${action}: not found${where}${apiMessage ? `: ${apiMessage}` : ''}`, 'not-found');
    case 409:
      return new ClusterError(`cannot ${action}: conflict${where}${apiMessage ? `: ${apiMessage}` : ''}`, 'conflict');
    case 422:
    case 400:
      return new ClusterError(`cannot ${action}: the API server rejected it${where}${apiMessage ? `: ${apiMessage}` : ''}`, 'invalid');
  }
  const code = networkCode(e);
  if (code && NETWORK_CODES.has(code)) {
    return new ClusterError(
      `cannot ${action}: the API server is unreachable${where} (${code})`,
      'unreachable',
      'Check that the cluster is running and the kubeconfig points at it; FlowLens retries by itself',
    );
  }
  // A watch cut off mid-stream (node-fetch's "Premature close"): the API server went away while we listened.
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || (e instanceof Error && e.message === 'Premature close')) {
    return new ClusterError(
      `cannot ${action}: lost the connection to the API server${where}`,
      'unreachable',
      'Check that the cluster is running; FlowLens reconnects by itself when it is back',
    );
  }
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new ClusterError(`cannot ${action}: the API server's TLS certificate is not trusted${where} (${code})`, 'unreachable', 'Check certificate-authority in the kubeconfig');
  }
  const message = e instanceof Error ? e.message : String(e);
  return new ClusterError(`cannot ${action}${where}: ${status ? `HTTP ${status}: ` : ''}${apiMessage ?? firstLine(message)}`, 'other');
}

function statusCode(e: unknown): number | undefined {
  if (e instanceof ApiException) {
    return e.code;
  }
  const code = (e as { code?: unknown; statusCode?: unknown })?.statusCode ?? (e as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The metav1.Status body of a failed call (details.causes carry field paths for 422 and 409). */
export interface ApiStatus {
  readonly message?: string;
  readonly details?: {
    readonly kind?: string;
    readonly causes?: readonly { readonly reason?: string; readonly message?: string; readonly field?: string }[];
  };
}

/** The metav1.Status body, when the API server sent one. */
export function apiStatus(e: unknown): ApiStatus | undefined {
  const body = (e as { body?: unknown })?.body;
  const parsed = typeof body === 'string' ? safeJson(body) : body;
  return parsed !== null && typeof parsed === 'object' ? (parsed as ApiStatus) : undefined;
}

function apiStatusMessage(e: unknown): string | undefined {
  const message = apiStatus(e)?.message;
  return typeof message === 'string' ? message : undefined;
}

function networkCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 4; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') {
      return code;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}
