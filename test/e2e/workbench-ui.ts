/**
 * The VS Code workbench (code-server) driven as a user drives it: keys, clicks, and reading what is on
 * screen (DOM text and ARIA labels). Selectors are VS Code's own workbench classes; where the workbench
 * offers a keyboard path (palette, quick picks, Go to Line, quick fixes) that is what is used.
 */
import { strict as assert } from 'node:assert';
import type { Frame, Locator, Page } from 'playwright-core';
import { sleep } from '../vscode/code-server-process';

/** Polls until `probe` returns a value (not undefined), or fails naming what was awaited and what was last seen. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, seen?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) {
      return v;
    }
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${timeoutMs / 1000} s waiting for ${what}${seen ? `; on screen: ${seen()}` : ''}`);
    }
    await sleep(250);
  }
}

export class WorkbenchUi {
  constructor(readonly page: Page) {}

  /** The workbench is up and the extension's view container is in the activity bar. */
  async waitReady(): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await this.activityItem('FlowLens').waitFor({ timeout: 60_000 });
  }

  private activityItem(title: string): Locator {
    return this.page.locator(`.activitybar .action-item:has(.action-label[aria-label="${title}"])`);
  }

  // ---- command palette and quick picks ----

  private get quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  /**
   * F1, the command's title, Enter. A command contributed by an extension is listed only once the extension
   * has activated and its `when` clause holds, so the palette is reopened until it is.
   */
  async runCommand(title: string, timeoutMs = 60_000): Promise<void> {
    const row = this.quickInput.locator('.monaco-list-row', { has: this.page.locator('.label-name', { hasText: title }) });
    await until(
      `"${title}" in the command palette`,
      async () => {
        await this.page.keyboard.press('Escape');
        await this.page.keyboard.press('F1');
        await this.quickInput.locator('input').waitFor({ state: 'visible', timeout: 5000 });
        await this.page.keyboard.type(title);
        await row.first().waitFor({ timeout: 3000 });
        return true;
      },
      timeoutMs,
    );
    await this.page.keyboard.press('Enter');
  }

  /** Waits for a quick pick whose title contains `title`; returns its rows' labels and checked states. */
  async quickPick(title: string): Promise<{ label: string; checked: boolean }[]> {
    await this.quickInput.locator('.quick-input-title', { hasText: title }).waitFor({ timeout: 30_000 });
    return this.quickPickRows();
  }

  async quickPickRows(): Promise<{ label: string; checked: boolean }[]> {
    const rows = this.quickInput.locator('.monaco-list-row');
    const out: { label: string; checked: boolean }[] = [];
    for (const row of await rows.all()) {
      out.push({ label: (await row.getAttribute('aria-label')) ?? '', checked: (await row.getAttribute('aria-checked')) === 'true' });
    }
    return out;
  }

  // ---- notifications ----

  /** Waits for a notification toast whose message matches, and returns its text. */
  async notification(message: RegExp, timeoutMs = 30_000): Promise<string> {
    const toast = this.page.locator('.notifications-toasts .notification-list-item-message', { hasText: message });
    await toast.first().waitFor({ timeout: timeoutMs });
    return (await toast.first().innerText()).trim();
  }

  notificationsOnScreen(): Promise<string[]> {
    return this.page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts();
  }

  // ---- the FlowLens tree ----

  /** Shows the FlowLens view container (a click on an already shown one would hide the side bar). */
  async showFlowLensView(): Promise<void> {
    const item = this.activityItem('FlowLens');
    if (!(await item.evaluate((e) => e.classList.contains('checked')))) {
      await item.locator('.action-label').click();
    }
    await this.treeRows().first().waitFor({ timeout: 30_000 });
  }

  private treeRows(): Locator {
    return this.page.locator('.pane:has(.pane-header[aria-label*="Cluster"]) .monaco-list-row');
  }

  /** The tree's rows as screen readers get them: "label: N bytes, N flows, …" for items with traffic. */
  treeRowLabels(): Promise<string[]> {
    return this.treeRows().evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? ''));
  }

  // ---- webviews ----

  /** The content frame of the webview whose document contains `selector` (webviews are nested iframes). */
  async webviewFrame(selector: string, timeoutMs = 30_000): Promise<Frame> {
    return until(
      `a webview with ${selector}`,
      async () => {
        for (const frame of this.page.frames()) {
          // By URL, not by frame name: playwright keeps the name a frame had when attached ("pending-frame").
          if (frame.url().includes('/webview/') && (await frame.locator(selector).count()) > 0) {
            return frame;
          }
        }
        return undefined;
      },
      timeoutMs,
    );
  }

  // ---- editors ----

  /** The title of the active editor's tab (its ARIA label: the text wraps between name and extension). */
  async activeTab(): Promise<string> {
    return (await this.page.locator('.editor-group-container.active .tab.active').getAttribute('aria-label')) ?? '';
  }

  /** Waits until the active editor has the keyboard focus (opening one from a list is asynchronous). */
  async editorFocused(): Promise<void> {
    await this.page.locator('.editor-group-container.active .monaco-editor.focused').waitFor({ timeout: 10_000 });
  }

  /** Go to Line (Ctrl+G), then select `count` whole lines from there (Ctrl+L extends by a line each time). */
  async selectLines(line: number, count: number): Promise<void> {
    await this.page.keyboard.press('Control+g');
    await this.quickInput.locator('input').waitFor({ state: 'visible' });
    await this.page.keyboard.type(String(line));
    await this.page.keyboard.press('Enter');
    await this.quickInput.waitFor({ state: 'hidden' });
    for (let i = 0; i < count; i++) {
      await this.page.keyboard.press('Control+l');
    }
  }

  /** The CodeLens links above the lines of the active editor. */
  codeLens(title: string): Locator {
    return this.page.locator('.editor-group-container.active .codelens-decoration a', { hasText: title });
  }

  // ---- problems ----

  /** Opens the Problems panel (Ctrl+Shift+M) and returns its rows' ARIA labels (severity, message, place). */
  async problems(): Promise<string[]> {
    const panel = this.page.locator('.markers-panel');
    if (!(await panel.isVisible())) {
      await this.page.keyboard.press('Control+Shift+m');
      await panel.waitFor({ state: 'visible' });
    }
    return panel.locator('.monaco-list-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? ''));
  }

  problemRow(text: string): Locator {
    return this.page.locator('.markers-panel .monaco-list-row', { hasText: text });
  }

  /** The status bar's problem counts, e.g. "No Problems" or "Errors: 0, Warnings: 1". */
  problemCounts(): Promise<string> {
    return this.page.locator('#status\\.problems .statusbar-item-label').getAttribute('aria-label').then((l) => l ?? '');
  }

  // ---- quick fix menu and dialogs ----

  /** The items of the quick fix menu (Ctrl+.) as shown. */
  actionItems(): Locator {
    return this.page.locator('.action-widget .monaco-list-row.action');
  }

  get dialog(): Locator {
    return this.page.locator('.monaco-dialog-box');
  }
}
