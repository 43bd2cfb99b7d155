import { strict as assert } from 'node:assert';
import type { HostMessage, TimeWindow, ViewSnapshot } from '../../../src/core/view/protocol';
import { SnapshotPublisher, type PublisherClock } from '../../../src/core/view/publisher';
import { shopSnapshot } from '../../webview/fixtures';

/** A clock whose time only moves when the test says so. */
class FakeClock implements PublisherClock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) {
        break;
      }
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
  get pending(): number {
    return this.timers.length;
  }
}

suite('view publisher: throttled snapshots and deltas', () => {
  function setup() {
    const clock = new FakeClock();
    const posts: HostMessage[] = [];
    let data: Omit<ViewSnapshot, 'seq'> = shopSnapshot();
    const builds: TimeWindow[] = [];
    const p = new SnapshotPublisher({
      clock,
      intervalMs: 1000,
      post: (m) => posts.push(m),
      build: (w) => {
        builds.push(w);
        return { ...data, window: w };
      },
    });
    return { clock, posts, builds, p, set: (d: Omit<ViewSnapshot, 'seq'>) => (data = d) };
  }

  test('the first post is a full snapshot, sent at once on resync', () => {
    const { posts, p } = setup();
    p.resync('5m');
    assert.equal(posts.length, 1);
    assert.equal(posts[0].type, 'snapshot');
    assert.equal(posts[0].type === 'snapshot' && posts[0].snapshot.window, '5m');
    assert.equal(posts[0].type === 'snapshot' && posts[0].snapshot.seq, 1);
  });

  test('bursts of changes are throttled to one post per interval, the latest data, as deltas', () => {
    const { clock, posts, builds, p, set } = setup();
    p.resync();
    for (let i = 0; i < 50; i++) {
      clock.advance(10);
      const s = structuredClone(shopSnapshot());
      s.podEdges[0].totals.bytesToServer += i + 1;
      set(s);
      p.invalidate();
    }
    assert.equal(posts.length, 1, 'nothing before the interval has passed');
    clock.advance(1000);
    assert.equal(posts.length, 2);
    assert.equal(builds.length, 2, 'one build per post, not per change');
    const d = posts[1];
    assert.equal(d.type, 'delta');
    if (d.type === 'delta') {
      assert.deepEqual([d.delta.baseSeq, d.delta.seq, d.delta.podEdges.length], [1, 2, 1]);
      assert.equal(d.delta.podEdges[0].totals.bytesToServer, shopSnapshot().podEdges[0].totals.bytesToServer + 50);
    }
  });

  test('a window change sends a full snapshot for the new window at once; dispose stops everything', () => {
    const { clock, posts, p } = setup();
    p.resync();
    p.setWindow('1h');
    assert.deepEqual(posts.map((m) => (m.type === 'snapshot' ? `snapshot ${m.snapshot.window}` : m.type)), ['snapshot 15m', 'snapshot 1h']);
    p.invalidate();
    p.dispose();
    clock.advance(5000);
    assert.equal(posts.length, 2);
    assert.equal(clock.pending, 0);
  });

  test('a delta as large as a snapshot is sent as a snapshot', () => {
    const { clock, posts, p, set } = setup();
    p.resync();
    set({ ...shopSnapshot(), podEdges: [], workloadEdges: [], endpoints: [] });
    p.invalidate();
    clock.advance(1000);
    assert.equal(posts[1].type, 'snapshot');
  });
});
