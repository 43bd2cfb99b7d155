/**
 * Edge health, as the map colours it and the "only unhealthy" filter reads it:
 * - `failing`: failed connections, retransmission timeouts, or 2 % or more of the packets retransmitted;
 * - `degraded`: any retransmission or reset;
 * - `healthy`: none of these.
 * Sums of counters over several edges (a map link spanning several ports) use the same rules.
 */
import type { Counters } from './protocol';

export type Health = 'healthy' | 'degraded' | 'failing';
export const HEALTH_ORDER: readonly Health[] = ['healthy', 'degraded', 'failing'];

/** Retransmitted share of the packets sent (both directions); 0 when no packets. */
export function retransmitRate(t: Counters): number {
  const packets = t.packetsToServer + t.packetsToClient;
  return packets > 0 ? t.retransmits / packets : t.retransmits > 0 ? 1 : 0;
}

export function edgeHealth(t: Counters): Health {
  if (t.failedConnections > 0 || t.rto > 0 || retransmitRate(t) >= 0.02) {
    return 'failing';
  }
  if (t.retransmits > 0 || t.resets > 0) {
    return 'degraded';
  }
  return 'healthy';
}

export function worseHealth(a: Health, b: Health): Health {
  return HEALTH_ORDER.indexOf(a) >= HEALTH_ORDER.indexOf(b) ? a : b;
}

export function zeroCounters(): Counters {
  return { bytesToServer: 0, bytesToClient: 0, packetsToServer: 0, packetsToClient: 0, connections: 0, retransmits: 0, rto: 0, resets: 0, failedConnections: 0, rttUs: 0 };
}

/** Adds b into a. RTT: the larger (the worse) of the two, as a sum of RTTs means nothing. */
export function addCounters(a: Counters, b: Counters): void {
  a.bytesToServer += b.bytesToServer;
  a.bytesToClient += b.bytesToClient;
  a.packetsToServer += b.packetsToServer;
  a.packetsToClient += b.packetsToClient;
  a.connections += b.connections;
  a.retransmits += b.retransmits;
  a.rto += b.rto;
  a.resets += b.resets;
  a.failedConnections += b.failedConnections;
  a.rttUs = Math.max(a.rttUs, b.rttUs);
}
