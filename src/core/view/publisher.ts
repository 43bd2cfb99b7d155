/**
 * Throttled snapshots and deltas for the webview. The host tells the publisher when data changed
 * (`invalidate`), when the user chose another window (`setWindow`) and when the webview needs everything
 * again (`resync`: it (re)loaded or a delta did not apply). The publisher builds a snapshot at most once per
 * interval (trailing: the latest data always goes out), sends a full snapshot first and after a window
 * change or resync, and otherwise the delta against what it sent last, unless that delta would not be
 * smaller than a snapshot.
 *
 * Timers and clock are injected so tests drive time; the host passes the global ones. Call `dispose()` with
 * the panel.
 */
import { deltaSize, diffSnapshots, snapshotSize } from './delta';
import type { HostMessage, TimeWindow, ViewSnapshot } from './protocol';

export interface PublisherClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface PublisherOptions {
  /** Builds the snapshot for a window; seq is set by the publisher. */
  readonly build: (window: TimeWindow, nowMs: number) => Omit<ViewSnapshot, 'seq'>;
  readonly post: (message: HostMessage) => void;
  /** Minimum time between two posts (default 1000 ms). */
  readonly intervalMs?: number;
  readonly clock?: PublisherClock;
  readonly window?: TimeWindow;
}

const globalClock: PublisherClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class SnapshotPublisher {
  private readonly intervalMs: number;
  private readonly clock: PublisherClock;
  private windowChoice: TimeWindow;
  private last: ViewSnapshot | undefined;
  private seq = 0;
  private lastPostMs = -Infinity;
  private timer: unknown;
  private needFull = true;
  private disposed = false;
  /** Counts of what was posted, for the log and tests. */
  readonly stats = { snapshots: 0, deltas: 0, builds: 0 };

  constructor(private readonly options: PublisherOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.clock = options.clock ?? globalClock;
    this.windowChoice = options.window ?? '15m';
  }

  get window(): TimeWindow {
    return this.windowChoice;
  }

  /** New data: post within the interval. */
  invalidate(): void {
    this.schedule();
  }

  setWindow(window: TimeWindow): void {
    if (window !== this.windowChoice) {
      this.windowChoice = window;
      this.needFull = true;
    }
    this.flushSoon();
  }

  /** The webview (re)loaded or lost track: a full snapshot goes out now (not throttled). */
  resync(window?: TimeWindow): void {
    if (window) {
      this.windowChoice = window;
    }
    this.needFull = true;
    this.flushSoon();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private flushSoon(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flush();
  }

  private schedule(): void {
    if (this.disposed || this.timer !== undefined) {
      return;
    }
    const wait = Math.max(0, this.lastPostMs + this.intervalMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    if (this.disposed) {
      return;
    }
    const now = this.clock.now();
    this.stats.builds++;
    const next: ViewSnapshot = { ...this.options.build(this.windowChoice, now), seq: ++this.seq };
    if (this.needFull || !this.last || this.last.window !== next.window) {
      this.options.post({ type: 'snapshot', snapshot: next });
      this.stats.snapshots++;
    } else {
      const delta = diffSnapshots(this.last, next);
      if (deltaSize(delta) >= snapshotSize(next)) {
        this.options.post({ type: 'snapshot', snapshot: next });
        this.stats.snapshots++;
      } else {
        this.options.post({ type: 'delta', delta });
        this.stats.deltas++;
      }
    }
    this.needFull = false;
    this.last = next;
    this.lastPostMs = now;
  }
}
