/**
 * Where the views get their data: a live cluster session or an opened recording. The tree, the service
 * map, the policy diagnostics and the policy commands read only this interface, so every view works the
 * same on a recording as on a cluster.
 */
import type * as vscode from 'vscode';
import type { AgentConnection } from '../cluster/agent-streams';
import type { CloudRanges } from '../core/flows/cloud-ranges';
import { FlowEnricher } from '../core/flows/enrich';
import type { EnrichedFlow } from '../core/flows/enriched-flow';
import type { FlowStore } from '../core/flows/flow-store';
import type { Cluster } from '../core/kube/cluster';

export interface FlowSource extends vscode.Disposable {
  readonly kind: 'live' | 'recording';
  /** The kubeconfig context, or the recording's file name. */
  readonly label: string;
  /** The API server, or the recording's path. */
  readonly description: string;
  /** Fires (coalesced by the sources) when the model, the flows or a connection state changed. */
  readonly onDidChange: vscode.Event<void>;
  readonly store: FlowStore;
  /** The cluster model now (live) or as recorded. */
  cluster(): Cluster;
  /** Per-node agent streams; undefined for a recording. */
  agents(): readonly AgentConnection[] | undefined;
  /** Why part of the source does not work (the first failing resource), for the tree and the status bar. */
  error(): string | undefined;
}

/** Flows of one time window, enriched against the cluster model of the same moment. */
export interface WindowFlows {
  readonly cluster: Cluster;
  readonly enricher: FlowEnricher;
  readonly flows: EnrichedFlow[];
  readonly fromMs: number;
  /** The window's end: the newest data (the end of a recording, or the latest agent window). */
  readonly toMs: number;
}

/**
 * Enrichers by cluster snapshot: building one indexes every pod and Service, and the tree, the map (every
 * second) and the diagnostics all ask for the same snapshot until the cluster changes.
 */
const enrichers = new WeakMap<Cluster, { cloudRanges?: CloudRanges; enricher: FlowEnricher }>();

function enricherOf(cluster: Cluster, cloudRanges: CloudRanges | undefined): FlowEnricher {
  const cached = enrichers.get(cluster);
  if (cached && cached.cloudRanges === cloudRanges) {
    return cached.enricher;
  }
  const enricher = new FlowEnricher(cluster, { cloudRanges });
  enrichers.set(cluster, { cloudRanges, enricher });
  return enricher;
}

/**
 * The last `windowMs` of the source's flows, enriched. "Now" is the newest data rather than the clock, so
 * that a recording shows its own last minutes and a live cluster its last complete agent window.
 */
export function windowFlows(source: FlowSource, windowMs: number, cloudRanges?: CloudRanges): WindowFlows {
  const cluster = source.cluster();
  const enricher = enricherOf(cluster, cloudRanges);
  const toMs = source.store.newest ?? Date.now();
  const fromMs = toMs - windowMs + 1;
  return { cluster, enricher, flows: source.store.query(fromMs, toMs).map((r) => enricher.enrich(r)), fromMs, toMs };
}
