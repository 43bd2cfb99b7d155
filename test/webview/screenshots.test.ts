/**
 * Screenshots of the webview in the light, dark and high-contrast themes, for people to look at
 * (out/test-artifacts/webview/). The test checks that they were written and that nothing went wrong while
 * drawing; what they show is judged by eye.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { shopSnapshot, syntheticSnapshot } from './fixtures';
import { launchBrowser, openWebview, pageErrors, postToWebview, settle, violations, type Browser } from './harness/browser';
import type { PageGlobals } from './harness/page-globals';
import { REPO, startHarness, type Harness } from './harness/server';
import type { ThemeName } from './harness/themes';

export const ARTIFACTS = join(REPO, 'out', 'test-artifacts', 'webview');

async function select(page: Page, link: string): Promise<void> {
  const p = await page.evaluate((l) => {
    const f = (globalThis as unknown as PageGlobals).flowlens;
    for (const t of [0.5, 0.4, 0.6, 0.3, 0.7]) {
      const q = f.linkScreenPoint(l, t);
      if (q && f.hitTest(q.x, q.y).link === l) {
        return q;
      }
    }
    return undefined;
  }, link);
  assert.ok(p, link);
  const box = (await page.locator('.map-canvas').boundingBox())!;
  await page.mouse.click(box.x + p.x, box.y + p.y);
  await settle(page);
}

suite('webview screenshots', function () {
  this.timeout(90_000);
  let harness: Harness;
  let browser: Browser;

  suiteSetup(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    harness = await startHarness();
    browser = await launchBrowser();
  });

  suiteTeardown(async () => {
    await browser?.close();
    await harness?.close();
  });

  async function shot(theme: ThemeName, name: string, prepare: (page: Page) => Promise<void>): Promise<void> {
    const page = await openWebview(browser.context, harness.url(theme));
    await postToWebview(page, { type: 'snapshot', snapshot: shopSnapshot() });
    await settle(page);
    await page.waitForTimeout(300);
    await prepare(page);
    await page.waitForTimeout(300);
    await settle(page);
    const path = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path });
    assert.ok(statSync(path).size > 10_000);
    assert.deepEqual(pageErrors(page), []);
    assert.deepEqual(await violations(page), []);
    await page.close();
  }

  for (const theme of ['light', 'dark', 'high-contrast'] as const) {
    test(`${theme}: workload view, a failing cross-zone link selected`, async () => {
      await shot(theme, `workloads-link-${theme}`, (page) => select(page, 'wl:Deployment/ui/ui>wl:Deployment/orders/orders'));
    });
  }

  test('dark: pod view, a node selected, a table row active', async () => {
    await shot('dark', 'pods-node-dark', async (page) => {
      await page.locator('vscode-single-select.level').evaluate((e) => {
        (e as unknown as { value: string }).value = 'pod';
        (e as unknown as { dispatchEvent(ev: unknown): void }).dispatchEvent(new (globalThis as unknown as { Event: new (t: string) => unknown }).Event('change'));
      });
      await page.waitForTimeout(300);
      const p = await page.evaluate(() => (globalThis as unknown as PageGlobals).flowlens.screenPosition('pod:orders/orders-8d2e-a1'));
      const box = (await page.locator('.map-canvas').boundingBox())!;
      await page.mouse.click(box.x + p!.x, box.y + p!.y);
    });
  });

  test('light: cloud services table with custom columns and a query', async () => {
    await shot('light', 'table-cloud-light', async (page) => {
      await page.locator('vscode-tab-header[data-view="cloud"]').click();
      await page.locator('vscode-button.columns-button').click();
      await page.locator('.column-menu vscode-checkbox[data-column="localZone"]').click();
      await page.locator('.column-menu vscode-checkbox[data-column="localNode"]').click();
    });
  });

  test('dark: 1,000 workloads and 5,000 links cluster-wide', async () => {
    await shot('dark', 'scale-1000-dark', async (page) => {
      await postToWebview(page, { type: 'snapshot', snapshot: syntheticSnapshot({ namespaces: 40, workloads: 1000, podsPerWorkload: 2, workloadEdges: 5000, podEdges: 10_000 }) });
      await page.waitForTimeout(500);
      await page.evaluate(() => (globalThis as unknown as PageGlobals).flowlens.fit());
    });
  });
});
