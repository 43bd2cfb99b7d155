/** Helpers shared by the benchmark scripts: a seeded generator (runs are comparable), decoding, timing. */

/** mulberry32: small, fast and good enough to spread synthetic objects; the same seed gives the same run. */
export function seeded(seed: number) {
  let state = seed;
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];
  return { random, int, pick };
}

/** The value of a decode that must succeed (synthetic input is valid by construction). */
export function must<T>(d: { ok: true; value: T } | { ok: false; errors: unknown }): T {
  if (!d.ok) {
    throw new Error(JSON.stringify(d.errors));
  }
  return d.value;
}

/** The result of fn and its wall time in milliseconds. */
export function timed<T>(fn: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const result = fn();
  return [result, Number(process.hrtime.bigint() - start) / 1e6];
}
