/** Human-readable figures for the map and the table (decimal units, as network tools print them). */

export function formatBytes(n: number): string {
  if (n < 1000) {
    return `${n} B`;
  }
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** RTT from microseconds: "850 µs", "12.4 ms", "1.20 s"; "–" when unknown (0). */
export function formatRtt(us: number): string {
  if (us <= 0) {
    return '–';
  }
  if (us < 1000) {
    return `${us} µs`;
  }
  if (us < 1_000_000) {
    const ms = us / 1000;
    return `${ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)} ms`;
  }
  return `${(us / 1_000_000).toFixed(2)} s`;
}

export function formatPercent(x: number): string {
  return x === 0 ? '0 %' : x < 0.001 ? '<0.1 %' : `${(x * 100).toFixed(1)} %`;
}
