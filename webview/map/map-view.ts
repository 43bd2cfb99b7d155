/**
 * The service map, drawn on a canvas (chosen by measurement over SVG: see scripts/bench-webview.ts and the
 * README). The scene — groups, links, nodes, labels — is rendered into an offscreen layer only when the
 * data, filters, theme or size change, or when a zoom/pan gesture ends; every interaction frame (pan, zoom,
 * hover, selection) blits that layer and draws the few highlighted items on top. That keeps interaction
 * frames at display rate even for 1,000 nodes and 5,000 links in software rendering.
 *
 * Encoding: link width by bytes (both directions, log scale, constant on screen), colour by health,
 * dashes for cross-zone traffic, an arrow at the server end, a curve when both directions exist; node
 * colour by kind, a ring coloured by the zone(s) its pods run in.
 *
 * Keyboard (the canvas is focusable): arrows move the focus to the nearest node in that direction, Enter
 * selects it (Ctrl/Shift+Enter adds to the selection), [ and ] step through the focused node's links,
 * + and - zoom, 0 fits, Escape clears the selection. An aria-live region says what has the focus.
 */
import { quadtree, type Quadtree } from 'd3-quadtree';
import { scaleLog } from 'd3-scale';
import { select } from 'd3-selection';
import { zoom, zoomIdentity, type D3ZoomEvent, type ZoomBehavior, type ZoomTransform } from 'd3-zoom';
import type { MapGraph, MapLink, MapNode } from '../../src/core/view/map-graph';
import { el } from '../dom';
import { nodeRadius, type MapLayout, type Point } from './layout';
import { readTheme, type MapTheme } from './theme';

export interface MapViewCallbacks {
  /** A click or Enter on a node or link; `additive` for Ctrl/Cmd/Shift. Undefined target: empty space. */
  select(target: { node?: string; link?: string } | undefined, additive: boolean): void;
  /** The user zoomed or panned (for persisting). */
  transformChanged(t: { x: number; y: number; k: number }): void;
  /** A node was focused by keyboard (for announcing). */
  focusChanged?(node: string | undefined): void;
}

export interface MapDecorations {
  selectedNodes: ReadonlySet<string>;
  selectedLinks: ReadonlySet<string>;
  /** Links highlighted from the flow table. */
  highlightedLinks: ReadonlySet<string>;
  /** Search matches; when set, everything else is dimmed. */
  matches?: ReadonlySet<string>;
}

interface Hit {
  node?: MapNode;
  link?: MapLink;
}

const GESTURE_SETTLE_MS = 140;

export class MapView {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly layer: HTMLCanvasElement;
  private readonly layerCtx: CanvasRenderingContext2D;
  private readonly tooltip: HTMLElement;
  private readonly live: HTMLElement;
  private readonly zoomBehavior: ZoomBehavior<HTMLCanvasElement, unknown>;
  private theme: MapTheme;
  private graph: MapGraph | undefined;
  private layout: MapLayout | undefined;
  private decorations: MapDecorations = { selectedNodes: new Set(), selectedLinks: new Set(), highlightedLinks: new Set() };
  private transform: ZoomTransform = zoomIdentity;
  private layerTransform: ZoomTransform = zoomIdentity;
  private width = 0;
  private height = 0;
  private dpr = 1;
  private tree: Quadtree<MapNode> | undefined;
  private widthScale = scaleLog().domain([1, 1e9]).range([1, 7]).clamp(true);
  private hover: Hit = {};
  private focusNode: string | undefined;
  private focusLinkIndex = -1;
  private settleTimer: number | undefined;
  private frameRequested = false;
  private sceneDirty = true;
  private zones: string[] = [];
  private programmatic = false;
  /** A fit asked for before the canvas had a size (null: all nodes). */
  private pendingFit: readonly string[] | null | undefined;
  /** Time spent in the last full scene render and the last frame, in ms (for the benchmark). */
  readonly timings = { scene: 0, frame: 0, scenes: 0, frames: 0 };

  constructor(private readonly callbacks: MapViewCallbacks) {
    this.canvas = el('canvas', { className: 'map-canvas', attrs: { tabindex: '0', role: 'application', 'aria-roledescription': 'service map', 'aria-label': 'Service map' } });
    this.tooltip = el('div', { className: 'map-tooltip', attrs: { role: 'tooltip' } });
    this.tooltip.hidden = true;
    this.live = el('div', { className: 'sr-only', attrs: { 'aria-live': 'polite' } });
    this.element = el('div', { className: 'map' }, [this.canvas, this.tooltip, this.live]);
    this.ctx = this.canvas.getContext('2d')!;
    this.layer = document.createElement('canvas');
    this.layerCtx = this.layer.getContext('2d')!;
    this.theme = readTheme();

    this.zoomBehavior = zoom<HTMLCanvasElement, unknown>()
      .scaleExtent([0.05, 8])
      .on('zoom', (ev: D3ZoomEvent<HTMLCanvasElement, unknown>) => this.onZoom(ev.transform))
      .on('end', () => this.callbacks.transformChanged({ x: this.transform.x, y: this.transform.y, k: this.transform.k }));
    select(this.canvas).call(this.zoomBehavior).on('dblclick.zoom', null);

    this.canvas.addEventListener('mousemove', (ev) => this.onMouseMove(ev));
    this.canvas.addEventListener('mouseleave', () => {
      this.hover = {};
      this.tooltip.hidden = true;
      this.requestFrame();
    });
    this.canvas.addEventListener('click', (ev) => {
      const hit = this.hitTest(ev.offsetX, ev.offsetY);
      const additive = ev.ctrlKey || ev.metaKey || ev.shiftKey;
      this.callbacks.select(hit.node ? { node: hit.node.id } : hit.link ? { link: hit.link.id } : undefined, additive);
    });
    this.canvas.addEventListener('keydown', (ev) => this.onKey(ev));
    new ResizeObserver(() => this.resize()).observe(this.element);
    new MutationObserver(() => {
      this.theme = readTheme();
      this.invalidateScene();
    }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
  }

  setGraph(graph: MapGraph, layout: MapLayout): void {
    this.graph = graph;
    this.layout = layout;
    let max = 1;
    const zones = new Set<string>();
    for (const l of graph.links) {
      max = Math.max(max, l.totals.bytesToServer + l.totals.bytesToClient);
    }
    for (const n of graph.nodes) {
      for (const z of n.zones) {
        zones.add(z);
      }
    }
    this.zones = [...zones].sort();
    this.widthScale = scaleLog().domain([1, Math.max(10, max)]).range([1, 7]).clamp(true);
    this.tree = quadtree<MapNode>()
      .x((n) => layout.position(n.id)?.x ?? 0)
      .y((n) => layout.position(n.id)?.y ?? 0)
      .addAll(graph.nodes.filter((n) => layout.position(n.id)));
    if (this.focusNode && !graph.nodeById.has(this.focusNode)) {
      this.focusNode = undefined;
    }
    this.canvas.dataset.nodes = String(graph.nodes.length);
    this.canvas.dataset.links = String(graph.links.length);
    this.canvas.setAttribute('aria-label', `Service map, ${graph.level} view: ${graph.nodes.length} nodes, ${graph.links.length} links. Arrow keys move between nodes, Enter selects.`);
    this.invalidateScene();
  }

  setDecorations(d: MapDecorations): void {
    const dimChanged = (d.matches === undefined) !== (this.decorations.matches === undefined) || (d.matches && this.decorations.matches && !sameSet(d.matches, this.decorations.matches));
    this.decorations = d;
    if (dimChanged) {
      this.invalidateScene();
    } else {
      this.requestFrame();
    }
  }

  /** The zone palette as drawn (for the legend). */
  zoneColors(): { zone: string; color: string }[] {
    return this.zones.map((zone, i) => ({ zone, color: this.theme.zones[i % this.theme.zones.length] }));
  }

  get currentTheme(): MapTheme {
    return this.theme;
  }

  getTransform(): { x: number; y: number; k: number } {
    return { x: this.transform.x, y: this.transform.y, k: this.transform.k };
  }

  /** A transform set by code (fit, reveal, restore): the scene is rendered for it at once, not after a gesture. */
  setTransform(t: { x: number; y: number; k: number }): void {
    this.programmatic = true;
    try {
      select(this.canvas).call(this.zoomBehavior.transform, zoomIdentity.translate(t.x, t.y).scale(t.k));
    } finally {
      this.programmatic = false;
    }
  }

  /** Fits the given nodes (default: all) into view. */
  fit(ids?: readonly string[]): void {
    if (!this.graph || !this.layout) {
      return;
    }
    if (this.width <= 1) {
      // Not laid out yet: fit once the size is known.
      this.pendingFit = ids ?? null;
      return;
    }
    // Room for group circles and their names around the nodes, and for the legend below.
    const boxes: { x0: number; y0: number; x1: number; y1: number }[] = [];
    if (ids) {
      for (const id of ids) {
        const p = this.layout.position(id);
        if (p) {
          boxes.push({ x0: p.x - 90, y0: p.y - 60, x1: p.x + 150, y1: p.y + 60 });
        }
      }
    } else {
      for (const b of this.layout.groupBounds(this.graph).values()) {
        boxes.push({ x0: b.x - b.r - 10, y0: b.y - b.r - 10, x1: b.x + b.r + 60, y1: b.y + b.r + 10 });
      }
    }
    if (boxes.length === 0) {
      return;
    }
    const legend = 36;
    const minX = Math.min(...boxes.map((b) => b.x0));
    const maxX = Math.max(...boxes.map((b) => b.x1));
    const minY = Math.min(...boxes.map((b) => b.y0));
    const maxY = Math.max(...boxes.map((b) => b.y1));
    // Group names are drawn at a fixed screen size above their circles: keep 24 px for them at the top.
    const top = 24;
    const h = Math.max(50, this.height - legend - top);
    const k = Math.min(2, this.width / (maxX - minX), h / (maxY - minY));
    const x = this.width / 2 - (k * (minX + maxX)) / 2;
    const y = top + h / 2 - (k * (minY + maxY)) / 2;
    this.setTransform({ x, y, k });
  }

  /** Centres a node or link if it is off screen. */
  reveal(target: { node?: string; link?: string }): void {
    if (!this.graph || !this.layout) {
      return;
    }
    let p: Point | undefined;
    if (target.node) {
      p = this.layout.position(target.node);
    } else if (target.link) {
      const l = this.graph.linkById.get(target.link);
      const a = l && this.layout.position(l.source);
      const b = l && this.layout.position(l.target);
      p = a && b ? { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 } : undefined;
    }
    if (!p) {
      return;
    }
    const [sx, sy] = this.transform.apply([p.x, p.y]);
    if (sx < 40 || sy < 40 || sx > this.width - 40 || sy > this.height - 40) {
      this.setTransform({ x: this.width / 2 - this.transform.k * p.x, y: this.height / 2 - this.transform.k * p.y, k: this.transform.k });
    }
  }

  zoomBy(factor: number): void {
    select(this.canvas).call(this.zoomBehavior.scaleBy, factor);
  }

  /** Screen position (CSS pixels, relative to the canvas) of a node, for tests and tooltips. */
  screenPosition(id: string): Point | undefined {
    const p = this.layout?.position(id);
    if (!p) {
      return undefined;
    }
    const [x, y] = this.transform.apply([p.x, p.y]);
    return { x, y };
  }

  /** The point at t (0..1) along a link's drawn path, in screen coordinates. */
  linkScreenPoint(id: string, t = 0.5): Point | undefined {
    const l = this.graph?.linkById.get(id);
    const g = l && this.linkGeometry(l);
    if (!g) {
      return undefined;
    }
    const u = 1 - t;
    const wx = g.curved ? u * u * g.ax + 2 * u * t * g.cx + t * t * g.bx : u * g.ax + t * g.bx;
    const wy = g.curved ? u * u * g.ay + 2 * u * t * g.cy + t * t * g.by : u * g.ay + t * g.by;
    const [x, y] = this.transform.apply([wx, wy]);
    return { x, y };
  }

  /** What a click at this screen point (CSS pixels, relative to the canvas) would select. */
  hitTarget(x: number, y: number): { node?: string; link?: string } {
    const hit = this.hitTest(x, y);
    return hit.node ? { node: hit.node.id } : hit.link ? { link: hit.link.id } : {};
  }

  focusedNode(): string | undefined {
    return this.focusNode;
  }

  /** Renders the scene now (the benchmark measures this). */
  renderNow(): void {
    this.renderScene();
    this.drawFrame();
  }

  private resize(): void {
    const rect = this.element.getBoundingClientRect();
    this.width = Math.max(1, Math.floor(rect.width));
    this.height = Math.max(1, Math.floor(rect.height));
    this.dpr = window.devicePixelRatio || 1;
    for (const c of [this.canvas, this.layer]) {
      c.width = Math.floor(this.width * this.dpr);
      c.height = Math.floor(this.height * this.dpr);
    }
    this.canvas.style.width = `${this.width}px`;
    this.canvas.style.height = `${this.height}px`;
    this.invalidateScene();
    if (this.pendingFit !== undefined && this.width > 1) {
      const ids = this.pendingFit;
      this.pendingFit = undefined;
      this.fit(ids ?? undefined);
    }
  }

  private onZoom(t: ZoomTransform): void {
    this.transform = t;
    if (this.settleTimer !== undefined) {
      clearTimeout(this.settleTimer);
      this.settleTimer = undefined;
    }
    if (this.programmatic) {
      this.invalidateScene();
      return;
    }
    // While the gesture goes on, frames blit the last scene; the scene is re-rendered once it settles.
    this.settleTimer = window.setTimeout(() => {
      this.settleTimer = undefined;
      this.invalidateScene();
    }, GESTURE_SETTLE_MS);
    this.tooltip.hidden = true;
    this.requestFrame();
  }

  private invalidateScene(): void {
    this.sceneDirty = true;
    this.requestFrame();
  }

  private requestFrame(): void {
    if (this.frameRequested) {
      return;
    }
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      if (this.sceneDirty) {
        this.renderScene();
      }
      this.drawFrame();
    });
  }

  private renderScene(): void {
    const t0 = performance.now();
    this.sceneDirty = false;
    this.layerTransform = this.transform;
    const c = this.layerCtx;
    c.setTransform(1, 0, 0, 1, 0, 0);
    c.fillStyle = this.theme.background;
    c.fillRect(0, 0, this.layer.width, this.layer.height);
    if (this.graph && this.layout) {
      this.drawScene(c, this.layerTransform);
    }
    this.timings.scene = performance.now() - t0;
    this.timings.scenes++;
  }

  private drawFrame(): void {
    const t0 = performance.now();
    const c = this.ctx;
    c.setTransform(1, 0, 0, 1, 0, 0);
    c.fillStyle = this.theme.background;
    c.fillRect(0, 0, this.canvas.width, this.canvas.height);
    // Blit the scene with the transform relative to the one it was rendered at.
    const s = this.transform.k / this.layerTransform.k;
    const tx = this.transform.x - s * this.layerTransform.x;
    const ty = this.transform.y - s * this.layerTransform.y;
    c.setTransform(s, 0, 0, s, tx * this.dpr, ty * this.dpr);
    c.drawImage(this.layer, 0, 0);
    if (this.graph && this.layout) {
      this.drawOverlay(c);
    }
    this.timings.frame = performance.now() - t0;
    this.timings.frames++;
  }

  private worldTransform(c: CanvasRenderingContext2D, t: ZoomTransform): void {
    c.setTransform(t.k * this.dpr, 0, 0, t.k * this.dpr, t.x * this.dpr, t.y * this.dpr);
  }

  private drawScene(c: CanvasRenderingContext2D, t: ZoomTransform): void {
    const graph = this.graph!;
    const layout = this.layout!;
    const k = t.k;
    const theme = this.theme;
    const matches = this.decorations.matches;
    // Visible world rectangle (with a margin) for culling.
    const [x0, y0] = t.invert([-50, -50]);
    const [x1, y1] = t.invert([this.width + 50, this.height + 50]);
    const visible = (p: Point, r = 0) => p.x + r >= x0 && p.x - r <= x1 && p.y + r >= y0 && p.y - r <= y1;
    this.worldTransform(c, t);

    // Groups.
    const bounds = layout.groupBounds(graph);
    c.lineWidth = 1 / k;
    for (const g of graph.groups) {
      const b = bounds.get(g.id);
      if (!b || !visible(b, b.r)) {
        continue;
      }
      c.globalAlpha = 0.55;
      c.fillStyle = theme.groupFill;
      c.beginPath();
      c.arc(b.x, b.y, b.r, 0, Math.PI * 2);
      c.fill();
      c.globalAlpha = 1;
      c.strokeStyle = theme.groupBorder;
      c.setLineDash(g.kind === 'namespace' ? [] : [6 / k, 4 / k]);
      c.stroke();
    }
    c.setLineDash([]);

    // Links, grouped by style to limit state changes. Zoomed out, lines get thinner; in a dense map healthy
    // links fade so that the unhealthy ones stand out.
    const density = Math.min(1, 300 / Math.max(1, graph.links.length));
    const healthyAlpha = matches ? 0.12 : 0.3 + 0.55 * density;
    const problemAlpha = matches ? 0.2 : 0.95;
    const thin = Math.max(0.2, Math.min(1, k));
    const rank = { healthy: 0, degraded: 1, failing: 2 };
    const sorted = [...graph.links].sort((a, b) => rank[a.health] - rank[b.health] || Number(a.crossZone) - Number(b.crossZone));
    let style = '';
    for (const l of sorted) {
      const g = this.linkGeometry(l);
      if (!g || !(visible({ x: g.minX, y: g.minY }) || visible({ x: g.maxX, y: g.maxY }) || visible({ x: g.mx, y: g.my }))) {
        continue;
      }
      const s = `${l.health}|${l.crossZone}`;
      if (s !== style) {
        style = s;
        c.strokeStyle = theme.health[l.health];
        c.fillStyle = theme.health[l.health];
        c.globalAlpha = l.health === 'healthy' ? healthyAlpha : problemAlpha;
        c.setLineDash(l.crossZone ? [7 / k, 4 / k] : []);
      }
      const w = this.linkWidth(l) * thin;
      c.lineWidth = w / k;
      this.strokeLink(c, g);
      if (k > 0.3) {
        this.arrowHead(c, g, w, k);
      }
    }
    c.setLineDash([]);
    c.globalAlpha = 1;

    // Nodes.
    for (const n of graph.nodes) {
      const p = layout.position(n.id);
      if (!p || !visible(p, 30)) {
        continue;
      }
      c.globalAlpha = matches && !matches.has(n.id) ? 0.25 : 1;
      this.drawNode(c, n, p, k);
    }
    c.globalAlpha = 1;

    // Labels: group names always; node names once they are legible.
    c.textBaseline = 'middle';
    c.fillStyle = theme.foreground;
    const groupFont = 13 / Math.max(k, 0.25);
    c.font = `600 ${groupFont}px ${theme.font}`;
    c.textAlign = 'center';
    for (const g of graph.groups) {
      const b = bounds.get(g.id);
      if (b && visible(b, b.r)) {
        c.fillText(g.label, b.x, b.y - b.r - groupFont * 0.7);
      }
    }
    if (k >= 0.45) {
      c.font = `${11 / k}px ${theme.font}`;
      c.textAlign = 'left';
      c.lineJoin = 'round';
      c.lineWidth = 3 / k;
      c.strokeStyle = theme.background;
      for (const n of graph.nodes) {
        const p = layout.position(n.id);
        if (!p || !visible(p, 100)) {
          continue;
        }
        c.globalAlpha = matches && !matches.has(n.id) ? 0.3 : 1;
        // A halo in the background colour keeps labels legible over links.
        const text = truncate(n.name, 32);
        c.strokeText(text, p.x + nodeRadius(n) + 6 / k, p.y);
        c.fillText(text, p.x + nodeRadius(n) + 6 / k, p.y);
      }
      c.globalAlpha = 1;
    }
  }

  private drawNode(c: CanvasRenderingContext2D, n: MapNode, p: Point, k: number): void {
    const r = nodeRadius(n);
    const theme = this.theme;
    // Zone ring: one arc per zone the node's pods run in.
    if (n.zones.length > 0) {
      const step = (Math.PI * 2) / n.zones.length;
      c.lineWidth = 3.5;
      n.zones.forEach((z, i) => {
        c.strokeStyle = theme.zones[this.zones.indexOf(z) % theme.zones.length];
        c.beginPath();
        c.arc(p.x, p.y, r + 2.5, -Math.PI / 2 + i * step, -Math.PI / 2 + (i + 1) * step);
        c.stroke();
      });
    }
    c.fillStyle = theme.nodeFill[n.kind];
    c.beginPath();
    if (n.kind === 'cloud-service' || n.kind === 'internet') {
      // Outside the cluster: a rounded square.
      roundRect(c, p.x - r, p.y - r, 2 * r, 2 * r, 4);
    } else if (n.kind === 'service' || n.kind === 'node') {
      c.moveTo(p.x, p.y - r);
      c.lineTo(p.x + r, p.y);
      c.lineTo(p.x, p.y + r);
      c.lineTo(p.x - r, p.y);
      c.closePath();
    } else {
      c.arc(p.x, p.y, r, 0, Math.PI * 2);
    }
    c.fill();
    c.lineWidth = (theme.highContrast ? 2 : 1) / k;
    c.strokeStyle = theme.nodeBorder;
    c.stroke();
    if (n.kind === 'cloud-service' || n.kind === 'internet') {
      c.fillStyle = theme.background;
      c.font = `bold ${8}px ${theme.font}`;
      c.textAlign = 'center';
      c.textBaseline = 'middle';
      c.fillText(n.kind === 'internet' ? 'WWW' : truncate(n.label, 4), p.x, p.y);
    }
  }

  private drawOverlay(c: CanvasRenderingContext2D): void {
    const graph = this.graph!;
    const layout = this.layout!;
    const d = this.decorations;
    const k = this.transform.k;
    this.worldTransform(c, this.transform);
    const links = new Map<string, string>();
    for (const id of d.highlightedLinks) {
      links.set(id, this.theme.highlight);
    }
    for (const id of d.selectedLinks) {
      links.set(id, this.theme.selection);
    }
    if (this.hover.link) {
      links.set(this.hover.link.id, links.get(this.hover.link.id) ?? this.theme.foreground);
    }
    if (this.focusNode && this.focusLinkIndex >= 0) {
      const l = this.linksOf(this.focusNode)[this.focusLinkIndex];
      if (l) {
        links.set(l.id, this.theme.selection);
      }
    }
    for (const [id, color] of links) {
      const l = graph.linkById.get(id);
      const g = l && this.linkGeometry(l);
      if (!l || !g) {
        continue;
      }
      const w = this.linkWidth(l);
      c.setLineDash([]);
      c.globalAlpha = 0.9;
      c.strokeStyle = color;
      c.lineWidth = (w + 5) / k;
      this.strokeLink(c, g);
      c.globalAlpha = 1;
      c.strokeStyle = this.theme.health[l.health];
      c.fillStyle = this.theme.health[l.health];
      c.setLineDash(l.crossZone ? [7 / k, 4 / k] : []);
      c.lineWidth = w / k;
      this.strokeLink(c, g);
      this.arrowHead(c, g, w, k);
      c.setLineDash([]);
    }
    const nodes = new Map<string, string>();
    for (const id of d.selectedNodes) {
      nodes.set(id, this.theme.selection);
    }
    if (this.hover.node) {
      nodes.set(this.hover.node.id, nodes.get(this.hover.node.id) ?? this.theme.foreground);
    }
    if (this.focusNode) {
      nodes.set(this.focusNode, this.theme.selection);
    }
    for (const [id, color] of nodes) {
      const n = graph.nodeById.get(id);
      const p = n && layout.position(id);
      if (!n || !p) {
        continue;
      }
      this.drawNode(c, n, p, k);
      c.strokeStyle = color;
      c.lineWidth = 2.5 / k;
      c.setLineDash(id === this.focusNode && !d.selectedNodes.has(id) ? [3 / k, 2 / k] : []);
      c.beginPath();
      c.arc(p.x, p.y, nodeRadius(n) + 6 + 1 / k, 0, Math.PI * 2);
      c.stroke();
      c.setLineDash([]);
      // Selected and hovered nodes always get their label, whatever the zoom.
      c.fillStyle = this.theme.foreground;
      c.strokeStyle = this.theme.background;
      c.lineWidth = 3 / k;
      c.lineJoin = 'round';
      c.font = `600 ${12 / k}px ${this.theme.font}`;
      c.textAlign = 'left';
      c.textBaseline = 'middle';
      const text = truncate(n.label, 60);
      c.strokeText(text, p.x + nodeRadius(n) + 8 / k, p.y);
      c.fillText(text, p.x + nodeRadius(n) + 8 / k, p.y);
    }
  }

  private linkWidth(l: MapLink): number {
    return this.widthScale(Math.max(1, l.totals.bytesToServer + l.totals.bytesToClient));
  }

  /** Straight, or a quadratic curve when both directions exist (each bends to its own side). */
  private linkGeometry(l: MapLink): { ax: number; ay: number; bx: number; by: number; cx: number; cy: number; mx: number; my: number; curved: boolean; minX: number; minY: number; maxX: number; maxY: number } | undefined {
    const a = this.layout?.position(l.source);
    const b = this.layout?.position(l.target);
    if (!a || !b) {
      return undefined;
    }
    const target = this.graph!.nodeById.get(l.target)!;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len = Math.hypot(dx, dy) || 1;
    let cx = (a.x + b.x) / 2;
    let cy = (a.y + b.y) / 2;
    let mx = cx;
    let my = cy;
    const curved = l.bidirectional;
    if (curved) {
      const bend = Math.min(40, len * 0.18);
      cx += (-dy / len) * bend;
      cy += (dx / len) * bend;
      mx = 0.25 * a.x + 0.5 * cx + 0.25 * b.x;
      my = 0.25 * a.y + 0.5 * cy + 0.25 * b.y;
    }
    // End at the target's rim, so the arrow is visible.
    const ex = curved ? b.x - cx : dx;
    const ey = curved ? b.y - cy : dy;
    const el = Math.hypot(ex, ey) || 1;
    const rr = nodeRadius(target) + 4;
    const bx = b.x - (ex / el) * rr;
    const by = b.y - (ey / el) * rr;
    return { ax: a.x, ay: a.y, bx, by, cx, cy, mx, my, curved, minX: Math.min(a.x, b.x), minY: Math.min(a.y, b.y), maxX: Math.max(a.x, b.x), maxY: Math.max(a.y, b.y) };
  }

  private strokeLink(c: CanvasRenderingContext2D, g: NonNullable<ReturnType<MapView['linkGeometry']>>): void {
    c.beginPath();
    c.moveTo(g.ax, g.ay);
    if (g.curved) {
      c.quadraticCurveTo(g.cx, g.cy, g.bx, g.by);
    } else {
      c.lineTo(g.bx, g.by);
    }
    c.stroke();
  }

  private arrowHead(c: CanvasRenderingContext2D, g: NonNullable<ReturnType<MapView['linkGeometry']>>, w: number, k: number): void {
    const fx = g.curved ? g.cx : g.ax;
    const fy = g.curved ? g.cy : g.ay;
    const dx = g.bx - fx;
    const dy = g.by - fy;
    const len = Math.hypot(dx, dy) || 1;
    const ux = dx / len;
    const uy = dy / len;
    const size = (5 + w) / k;
    const dash = c.getLineDash();
    c.setLineDash([]);
    c.beginPath();
    c.moveTo(g.bx, g.by);
    c.lineTo(g.bx - ux * size * 1.6 - uy * size * 0.8, g.by - uy * size * 1.6 + ux * size * 0.8);
    c.lineTo(g.bx - ux * size * 1.6 + uy * size * 0.8, g.by - uy * size * 1.6 - ux * size * 0.8);
    c.closePath();
    c.fill();
    c.setLineDash(dash);
  }

  private hitTest(sx: number, sy: number): Hit {
    if (!this.graph || !this.layout || !this.tree) {
      return {};
    }
    const [wx, wy] = this.transform.invert([sx, sy]);
    const k = this.transform.k;
    const node = this.tree.find(wx, wy, 16 / Math.min(k, 1) + 4);
    if (node && Math.hypot((this.layout.position(node.id)?.x ?? 0) - wx, (this.layout.position(node.id)?.y ?? 0) - wy) <= nodeRadius(node) + 4 / k) {
      return { node };
    }
    let best: MapLink | undefined;
    let bestD = 6 / k;
    for (const l of this.graph.links) {
      const g = this.linkGeometry(l);
      if (!g || wx < g.minX - 50 || wx > g.maxX + 50 || wy < g.minY - 50 || wy > g.maxY + 50) {
        continue;
      }
      const d = g.curved
        ? Math.min(segmentDistance(wx, wy, g.ax, g.ay, g.mx, g.my), segmentDistance(wx, wy, g.mx, g.my, g.bx, g.by))
        : segmentDistance(wx, wy, g.ax, g.ay, g.bx, g.by);
      const tolerance = Math.max(bestD, this.linkWidth(l) / 2 / k + 3 / k);
      if (d <= tolerance && (!best || d < bestD)) {
        best = l;
        bestD = d;
      }
    }
    if (best) {
      return { link: best };
    }
    return node && Math.hypot((this.layout.position(node.id)?.x ?? 0) - wx, (this.layout.position(node.id)?.y ?? 0) - wy) <= nodeRadius(node) + 10 / k ? { node } : {};
  }

  private onMouseMove(ev: MouseEvent): void {
    if (ev.buttons !== 0) {
      return;
    }
    const hit = this.hitTest(ev.offsetX, ev.offsetY);
    if (hit.node !== this.hover.node || hit.link !== this.hover.link) {
      this.hover = hit;
      this.canvas.style.cursor = hit.node || hit.link ? 'pointer' : 'default';
      this.requestFrame();
    }
    if (hit.node || hit.link) {
      this.tooltip.textContent = hit.node ? tooltipOfNode(hit.node) : tooltipOfLink(hit.link!, this.graph!);
      this.tooltip.hidden = false;
      this.tooltip.style.left = `${Math.min(ev.offsetX + 14, this.width - 260)}px`;
      this.tooltip.style.top = `${ev.offsetY + 14}px`;
    } else {
      this.tooltip.hidden = true;
    }
  }

  private linksOf(node: string): MapLink[] {
    return (this.graph?.links ?? []).filter((l) => l.source === node || l.target === node);
  }

  private setFocus(id: string | undefined): void {
    this.focusNode = id;
    this.focusLinkIndex = -1;
    this.callbacks.focusChanged?.(id);
    const n = id ? this.graph?.nodeById.get(id) : undefined;
    this.live.textContent = n ? `${n.label}, ${n.kind}${n.namespace ? `, namespace ${n.namespace}` : ''}, ${this.linksOf(n.id).length} links` : '';
    if (id) {
      this.reveal({ node: id });
    }
    this.requestFrame();
  }

  private onKey(ev: KeyboardEvent): void {
    if (!this.graph || !this.layout) {
      return;
    }
    const additive = ev.ctrlKey || ev.metaKey || ev.shiftKey;
    const dirs: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (dirs[ev.key]) {
      ev.preventDefault();
      this.moveFocus(dirs[ev.key]);
      return;
    }
    switch (ev.key) {
      case 'Enter':
      case ' ': {
        ev.preventDefault();
        if (this.focusNode && this.focusLinkIndex >= 0) {
          const l = this.linksOf(this.focusNode)[this.focusLinkIndex];
          if (l) {
            this.callbacks.select({ link: l.id }, additive);
          }
        } else if (this.focusNode) {
          this.callbacks.select({ node: this.focusNode }, additive);
        }
        return;
      }
      case ']':
      case '[': {
        if (!this.focusNode) {
          return;
        }
        const links = this.linksOf(this.focusNode);
        if (links.length === 0) {
          return;
        }
        this.focusLinkIndex = (this.focusLinkIndex + (ev.key === ']' ? 1 : links.length - 1 + (this.focusLinkIndex < 0 ? 1 : 0))) % links.length;
        const l = links[this.focusLinkIndex];
        this.live.textContent = tooltipOfLink(l, this.graph);
        this.reveal({ link: l.id });
        this.requestFrame();
        return;
      }
      case '+':
      case '=':
        this.zoomBy(1.3);
        return;
      case '-':
        this.zoomBy(1 / 1.3);
        return;
      case '0':
        this.fit();
        return;
      case 'Escape':
        this.focusLinkIndex = -1;
        this.callbacks.select(undefined, false);
        return;
    }
  }

  private moveFocus([dx, dy]: [number, number]): void {
    const graph = this.graph!;
    const layout = this.layout!;
    const from = this.focusNode ? layout.position(this.focusNode) : undefined;
    if (!from) {
      // Start at the node nearest the centre of the view.
      const [cx, cy] = this.transform.invert([this.width / 2, this.height / 2]);
      const n = this.tree?.find(cx, cy);
      this.setFocus(n?.id);
      return;
    }
    let best: string | undefined;
    let bestScore = Infinity;
    for (const n of graph.nodes) {
      const p = layout.position(n.id);
      if (!p || n.id === this.focusNode) {
        continue;
      }
      const vx = p.x - from.x;
      const vy = p.y - from.y;
      const along = vx * dx + vy * dy;
      if (along <= 0) {
        continue;
      }
      const across = Math.abs(vx * dy - vy * dx);
      const score = along + 2 * across;
      if (score < bestScore) {
        bestScore = score;
        best = n.id;
      }
    }
    if (best) {
      this.setFocus(best);
    }
  }
}

function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function roundRect(c: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, r: number): void {
  c.moveTo(x + r, y);
  c.arcTo(x + w, y, x + w, y + h, r);
  c.arcTo(x + w, y + h, x, y + h, r);
  c.arcTo(x, y + h, x, y, r);
  c.arcTo(x, y, x + w, y, r);
  c.closePath();
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function tooltipOfNode(n: MapNode): string {
  const zones = n.zones.length ? ` · ${n.zones.join(', ')}` : '';
  return `${n.label} (${n.kind})${zones}`;
}

export function tooltipOfLink(l: MapLink, graph: MapGraph): string {
  const a = graph.nodeById.get(l.source)?.label ?? l.source;
  const b = graph.nodeById.get(l.target)?.label ?? l.target;
  const ports = l.edges.map((e) => `${e.port}/${e.protocol}`).join(', ');
  return `${a} → ${b} · ${ports} · ${l.health}${l.crossZone ? ' · cross-zone' : ''}`;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) {
    return false;
  }
  for (const x of a) {
    if (!b.has(x)) {
      return false;
    }
  }
  return true;
}
