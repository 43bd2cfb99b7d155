/**
 * The service map webview as a keyboard user works it (webview/map/map-view.ts): the canvas takes the
 * focus; arrow keys move it to the nearest node in that direction, [ and ] step through the focused node's
 * links, Enter selects (Ctrl+Enter adds to the selection). What has the focus is read from the map's
 * aria-live region, which says it in words: "ui/ui, workload, namespace ui, 4 links" for a node,
 * "ui/ui → carts/carts · 8081/TCP · healthy" for a link.
 */
import { strict as assert } from 'node:assert';
import type { Frame, Locator, Page } from 'playwright-core';

type Arrow = 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown';

export class ServiceMapUi {
  constructor(
    private readonly page: Page,
    readonly frame: Frame,
  ) {}

  get canvas(): Locator {
    return this.frame.locator('canvas.map-canvas');
  }

  get details(): Locator {
    return this.frame.locator('aside.details');
  }

  get generateButton(): Locator {
    return this.frame.locator('vscode-button.generate');
  }

  /** What the aria-live region says has the focus. */
  announced(): Promise<string> {
    return this.frame.locator('.map .sr-only').innerText();
  }

  /** Counts the canvas publishes for assistive technology (data-nodes / data-links). */
  async counts(): Promise<{ nodes: number; links: number }> {
    return { nodes: Number(await this.canvas.getAttribute('data-nodes')), links: Number(await this.canvas.getAttribute('data-links')) };
  }

  async focus(): Promise<void> {
    await this.canvas.focus();
  }

  private async press(key: string): Promise<string> {
    await this.page.keyboard.press(key);
    return this.announced();
  }

  /** Presses `key` until the focus stops moving; calls `visit` with every node reached. Stops early when `visit` returns true. */
  private async sweep(key: Arrow, visit: (node: string) => boolean): Promise<boolean> {
    let last = await this.announced();
    for (let i = 0; i < 30; i++) {
      const now = await this.press(key);
      if (now === last) {
        return false;
      }
      last = now;
      if (visit(now)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Walks the map with the arrow keys: to the top-left corner, then row by row in a snake (right, one down,
   * left, one down, …), then column by column; calls `visit` with each node's announcement until it returns
   * true. Returns every node announced on the way.
   */
  async walk(visit: (node: string) => boolean = () => false): Promise<Set<string>> {
    const seen = new Set<string>();
    const at = (text: string) => {
      seen.add(text);
      return visit(text);
    };
    // The first arrow puts the focus on the node nearest the centre of the view.
    if (at(await this.press('ArrowUp'))) {
      return seen;
    }
    const passes: [Arrow, Arrow, Arrow][] = [
      ['ArrowRight', 'ArrowLeft', 'ArrowDown'],
      ['ArrowDown', 'ArrowUp', 'ArrowRight'],
    ];
    for (const [across, back, step] of passes) {
      if ((await this.sweep(back, at)) || (await this.sweep(back === 'ArrowLeft' ? 'ArrowUp' : 'ArrowLeft', at))) {
        return seen;
      }
      for (let pass = 0, dir = across; pass < 20; pass++, dir = dir === across ? back : across) {
        if (await this.sweep(dir, at)) {
          return seen;
        }
        const before = await this.announced();
        const after = await this.press(step);
        if (after === before) {
          break;
        }
        if (at(after)) {
          return seen;
        }
      }
    }
    return seen;
  }

  /** The number of links a node's announcement ends with ("…, 4 links"). */
  static linkCount(announcement: string): number {
    return Number(/, (\d+) links?$/.exec(announcement)?.[1] ?? 0);
  }

  /** Moves the keyboard focus to the node labelled `label` (e.g. "ui/ui"); returns its announcement. */
  async focusNode(label: string): Promise<string> {
    await this.focus();
    const current = await this.announced();
    if (current.startsWith(`${label},`)) {
      return current;
    }
    let found: string | undefined;
    const seen = await this.walk((node) => {
      if (node.startsWith(`${label},`)) {
        found = node;
        return true;
      }
      return false;
    });
    assert.ok(found, `the arrow keys never reached ${label} on the map; they reached: ${[...seen].join(' | ')}`);
    return found;
  }

  /** The focused node's `count` links (see linkCount), as announced while stepping through them with ]. */
  async linksOfFocused(count: number): Promise<string[]> {
    const links: string[] = [];
    for (let i = 0; i < count; i++) {
      links.push(await this.press(']'));
    }
    return links;
  }

  /**
   * Selects those of the focused node's `count` links for which `want` holds: ] to each, Enter for the first
   * (replacing any selection), Ctrl+Enter for the others. Returns the links selected.
   */
  async selectLinksOfFocused(count: number, want: (link: string) => boolean): Promise<string[]> {
    const selected: string[] = [];
    for (let i = 0; i < count; i++) {
      const link = await this.press(']');
      if (want(link)) {
        await this.page.keyboard.press(selected.length === 0 ? 'Enter' : 'Control+Enter');
        selected.push(link);
      }
    }
    return selected;
  }
}
