/**
 * Types for code that runs inside the page (page.evaluate callbacks): the test tsconfig has no DOM lib, so
 * callbacks cast `globalThis as unknown as PageGlobals` (a callback is serialised into the page: it can
 * use types, but no imported value).
 */
import type { WebviewMessage } from '../../../src/core/view/protocol';

export interface PageElement {
  readonly textContent: string | null;
  readonly tagName: string;
  readonly dataset: Record<string, string | undefined>;
  readonly shadowRoot: PageNode | null;
  readonly children: ArrayLike<PageElement>;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { x: number; y: number; width: number; height: number };
  scrollTop: number;
  readonly clientHeight: number;
  click(): void;
}

export interface PageNode {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
}

export interface FlowlensDebug {
  graph(): { level: string; nodes: string[]; links: string[]; groups: string[] } | undefined;
  screenPosition(id: string): { x: number; y: number } | undefined;
  linkScreenPoint(id: string, t: number): { x: number; y: number } | undefined;
  hitTest(x: number, y: number): { node?: string; link?: string };
  position(id: string): { x: number; y: number } | undefined;
  mapTimings(): { scene: number; frame: number; scenes: number; frames: number };
  renderMap(): void;
  tableFilterMs(): number;
  visibleRows(): string[];
  state(): Record<string, unknown>;
  flushState(): void;
  fit(): void;
  setTransform(t: { x: number; y: number; k: number }): void;
}

export interface PageGlobals {
  readonly __posted: WebviewMessage[];
  readonly __violations: { directive: string; blocked: string; sample: string }[];
  readonly __xss: unknown[];
  readonly flowlens: FlowlensDebug;
  readonly document: PageNode & { readonly body: PageElement; readonly documentElement: PageElement };
  readonly performance: { now(): number };
  postMessage(message: unknown, origin: string): void;
  requestAnimationFrame(cb: (t: number) => void): number;
  setTimeout(cb: () => void, ms: number): number;
}
