/**
 * CSV export of the flow table's visible rows (RFC 4180: CRLF line ends, fields quoted when they hold a
 * comma, quote or line break). Numbers are raw (bytes, microseconds) with the unit in the header.
 * Cluster strings are untrusted: a text cell that a spreadsheet would read as a formula (starting with
 * = + - @, tab or carriage return) is prefixed with an apostrophe.
 */
import { COLUMN_BY_ID, type FlowRow } from './flow-table';

const HEADER_UNITS: Readonly<Record<string, string>> = { bytes: ' (bytes)', rtt: ' (µs)' };

export function csvField(value: string | number): string {
  if (typeof value === 'number') {
    return String(value);
  }
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function rowsToCsv(rows: readonly FlowRow[], columnIds: readonly string[]): string {
  const columns = columnIds.map((id) => COLUMN_BY_ID.get(id)).filter((c) => c !== undefined);
  const lines = [columns.map((c) => csvField(`${c.title}${HEADER_UNITS[c.type] ?? ''}`)).join(',')];
  for (const r of rows) {
    lines.push(columns.map((c) => csvField(c.value(r))).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
