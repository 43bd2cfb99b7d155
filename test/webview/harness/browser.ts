/**
 * Headless Debian Chromium through playwright-core, started as notes/vscode-in-ci.md says (no network
 * features, no GPU), with a throwaway profile; and helpers to drive the FlowLens webview in it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { HostMessage, WebviewMessage } from '../../../src/core/view/protocol';
import type { PageGlobals } from './page-globals';
import { CHROMIUM, CHROMIUM_ARGS } from '../../chromium';


export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(viewport = { width: 1400, height: 900 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'flowlens-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    // Chromium's crash-report database and caches follow XDG: keep them in the throwaway profile, not ~.
    env: { ...process.env, XDG_CONFIG_HOME: join(profile, 'xdg-config'), XDG_CACHE_HOME: join(profile, 'xdg-cache') },
  });
  // Only loopback: anything else the page tries is refused.
  await context.route(/^(?!http:\/\/127\.0\.0\.1[:/]).*/, (route) => route.abort());
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens the webview and waits until it has said "ready". */
export async function openWebview(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  (page as Page & { flowlensErrors?: string[] }).flowlensErrors = errors;
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).__posted.some((m) => m.type === 'ready'));
  return page;
}

export function pageErrors(page: Page): string[] {
  return (page as Page & { flowlensErrors?: string[] }).flowlensErrors ?? [];
}

/** Delivers a message as the extension host would (webview.postMessage arrives as a window message). */
export async function postToWebview(page: Page, message: HostMessage | Record<string, unknown>): Promise<void> {
  await page.evaluate((m) => (globalThis as unknown as PageGlobals).postMessage(m, '*'), message as unknown as Record<string, unknown>);
}

export async function posted(page: Page): Promise<WebviewMessage[]> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).__posted);
}

export async function violations(page: Page): Promise<unknown[]> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).__violations);
}

/** Two animation frames: whatever the webview scheduled has been drawn. */
export async function settle(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((r) => (globalThis as unknown as PageGlobals).requestAnimationFrame(() => (globalThis as unknown as PageGlobals).requestAnimationFrame(() => r()))));
}
