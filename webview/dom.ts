/**
 * DOM helpers. Every string goes in as text (textContent, attribute values): nothing from the cluster is
 * ever parsed as HTML. Styles are set through the CSSOM (`el.style.x = ...`), which the CSP allows, never
 * through `style` attributes.
 */
export interface ElOptions {
  className?: string;
  text?: string;
  title?: string;
  attrs?: Record<string, string>;
  on?: Partial<Record<keyof HTMLElementEventMap, (ev: Event) => void>>;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, options?: ElOptions, children?: (Node | string)[]): HTMLElementTagNameMap[K];
export function el(tag: string, options?: ElOptions, children?: (Node | string)[]): HTMLElement;
export function el(tag: string, options: ElOptions = {}, children: (Node | string)[] = []): HTMLElement {
  const e = document.createElement(tag);
  if (options.className) {
    e.className = options.className;
  }
  if (options.text !== undefined) {
    e.textContent = options.text;
  }
  if (options.title !== undefined) {
    e.title = options.title;
  }
  for (const [k, v] of Object.entries(options.attrs ?? {})) {
    e.setAttribute(k, v);
  }
  for (const [k, fn] of Object.entries(options.on ?? {})) {
    if (fn) {
      e.addEventListener(k, fn);
    }
  }
  for (const c of children) {
    e.append(c);
  }
  return e;
}

export function clear(e: Element): void {
  e.replaceChildren();
}

/** A codicon (the font comes with the page's codicon stylesheet). */
export function icon(name: string, label?: string): HTMLElement {
  const i = el('span', { className: `codicon codicon-${name}`, attrs: label ? { role: 'img', 'aria-label': label } : { 'aria-hidden': 'true' } });
  return i;
}
