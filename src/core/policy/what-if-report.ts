/**
 * The what-if report as text, for people: the CLI's `policy validate` output and the editor's
 * "Validate against live flows" report.
 */
import { describeWorkload, formatBytes, formatTime } from './generate';
import type { FlowGroup, WhatIfReport } from './what-if';

export function formatWhatIfReport(r: WhatIfReport): string {
  const lines: string[] = [];
  const list = (ids: readonly string[]) => (ids.length > 0 ? ids.join(', ') : 'none');
  lines.push(`Policies: added ${list(r.policies.added)}; changed ${list(r.policies.changed)}; removed ${list(r.policies.removed)}.`);
  lines.push(`Flows: ${r.flows} records, ${formatTime(r.firstSeenMs!)} to ${formatTime(r.lastSeenMs!)}, in ${r.groups.length} groups (client, server, port).`);
  lines.push(`Verdicts: ${r.counts.allowedBefore} allowed before, ${r.counts.allowedAfter} after; ${r.counts.newlyDenied} newly denied, ${r.counts.newlyAllowed} newly allowed.`);
  const section = (title: string, groups: readonly FlowGroup[], verdict: string) => {
    if (groups.length === 0) {
      return;
    }
    lines.push('', `${title} (${groups.length}):`);
    for (const g of groups) {
      lines.push(`  ${verdict}  ${g.client.label} -> ${g.server.label} on ${portText(g)}`);
      lines.push(`         ${evidenceText(g)}`);
      if (g.services.length > 0) {
        lines.push(`         via Service ${g.services.join(', ')}`);
      }
      if (g.backends > 1 && g.newlyDeniedBackends.length > 0) {
        lines.push(`         denied backends: ${g.newlyDeniedBackends.join(', ')} (of ${g.backends})`);
      }
      if (g.explanation) {
        lines.push(`         ${g.explanation}`);
      }
    }
  };
  section('Newly denied: working flows these policies would break', r.newlyDenied, 'DENY ');
  section('Newly denied attempts (only connections that never succeeded; not counted as breaking)', r.newlyDeniedAttempts, 'DENY ');
  section('Newly allowed', r.newlyAllowed, 'ALLOW');
  section('Already denied by the policies in force, yet observed working', r.deniedBefore, 'DENY ');
  if (r.unusedRules.length > 0) {
    lines.push('', `Rules no observed flow uses (${r.unusedRules.length}):`);
    r.unusedRules.forEach((u) => lines.push(`  ${u.policy} ${u.rule}: ${u.description}`));
  }
  if (r.selectsNothing.length > 0) {
    lines.push('', `Policies that select no pod: ${r.selectsNothing.join(', ')}`);
  }
  if (r.newlyIsolated.length > 0) {
    lines.push('', `Pods that become isolated (${r.newlyIsolated.length}):`);
    r.newlyIsolated.forEach((c) => lines.push(`  ${c.pod} (${describeWorkload(c.workload)}): ${c.direction}, by ${c.by.join(', ')}`));
  }
  if (r.noLongerIsolated.length > 0) {
    lines.push('', `Pods no longer isolated (${r.noLongerIsolated.length}):`);
    r.noLongerIsolated.forEach((c) => lines.push(`  ${c.pod} (${describeWorkload(c.workload)}): ${c.direction}`));
  }
  lines.push(
    '',
    r.newlyDenied.length > 0
      ? `FAIL: ${r.newlyDenied.length} group(s) of working flows would be newly denied.`
      : 'PASS: no working flow would be newly denied.',
  );
  return lines.join('\n');
}

export function portText(g: FlowGroup): string {
  return `${g.port}/${g.protocol}${g.portName ? ` (${g.portName})` : ''}`;
}

export function evidenceText(g: FlowGroup): string {
  const e = g.evidence;
  return `${e.records} flow record${e.records === 1 ? '' : 's'}, ${formatBytes(e.bytes)}, ${e.connections} connection${e.connections === 1 ? '' : 's'}${e.failedConnections > 0 ? ` (${e.failedConnections} failed)` : ''}, first seen ${formatTime(e.firstSeenMs)}, last seen ${formatTime(e.lastSeenMs)}`;
}

/** "Deployment demo/ui → Deployment demo/catalog TCP 8080": a flow group in one phrase. */
export function flowText(g: FlowGroup): string {
  return `${g.client.label} → ${g.server.label} ${g.protocol} ${g.port}`;
}

/** "12 connections, 3.4 KiB" (flow records for UDP, which has no connections). */
export function shortEvidenceText(e: { records: number; connections: number; bytes: number }): string {
  const count = e.connections > 0 ? `${e.connections} connection${e.connections === 1 ? '' : 's'}` : `${e.records} flow record${e.records === 1 ? '' : 's'}`;
  return `${count}, ${formatBytes(e.bytes)}`;
}
