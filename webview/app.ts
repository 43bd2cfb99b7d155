/**
 * The FlowLens webview: toolbar (view, scope, window, search, filters), service map, selection details and
 * flow table, wired to the extension host through validated messages, with the UI state persisted through
 * VS Code's webview state API so that hiding and re-showing the panel restores it exactly.
 */
import { FLOW_CATEGORIES, type FlowCategory } from '../src/core/flows/flow-record';
import { applyDelta } from '../src/core/view/delta';
import { buildRows, type FlowRow } from '../src/core/view/flow-table';
import { rowsToCsv } from '../src/core/view/csv';
import {
  buildMapGraph,
  endpointIndex,
  linkId,
  mapNodeIdOf,
  NO_FILTERS,
  workloadNodeIdOf,
  type MapFilters,
  type MapGraph,
  type MapLink,
  type MapNode,
} from '../src/core/view/map-graph';
import { endpointRef, parseHostMessage, PROTOCOL_VERSION, TIME_WINDOWS, type EdgeRef, type EdgeView, type EndpointView, type HostMessage, type ViewLevel, type ViewSnapshot, type ViewStatus } from '../src/core/view/protocol';
import { DetailsPanel } from './details';
import { clear, el } from './dom';
import { MapLayout } from './map/layout';
import { MapView } from './map/map-view';
import { restoreState, type UiState } from './state';
import { FlowTableView } from './table/table-view';
import { vscodeApi, type VsCodeApi } from './vscode-api';

type Field = HTMLElement & { value: string };
type MultiField = HTMLElement & { value: string[] };
type Checkbox = HTMLElement & { checked: boolean };

const CATEGORY_TITLES: Readonly<Record<FlowCategory, string>> = {
  'intra-node': 'Intra-node',
  'intra-zone': 'Intra-zone',
  'inter-zone': 'Cross-zone',
  'cloud-service': 'Cloud service',
  external: 'External',
};

export class App {
  private readonly api: VsCodeApi;
  private readonly ui: UiState;
  private snapshot: ViewSnapshot | undefined;
  private endpoints = new Map<string, EndpointView>();
  private rows: FlowRow[] = [];
  /** Map link id (per level) -> flow table row keys. */
  private rowsByLink: Record<ViewLevel, Map<string, string[]>> = { workload: new Map(), pod: new Map() };
  private readonly layouts: Record<ViewLevel, MapLayout>;
  private graph: MapGraph | undefined;
  private readonly map: MapView;
  private readonly details: DetailsPanel;
  private readonly table: FlowTableView;
  private readonly banner: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly legendZones: HTMLElement;
  private readonly nsSelect: MultiField;
  private readonly generateButton: HTMLElement;
  private readonly nsSummary: HTMLElement;
  private readonly catSummary: HTMLElement;
  private persistTimer: number | undefined;
  private searchCursor = -1;
  /** The link of the table row last clicked, highlighted on the map. */
  private tableLinks = new Set<string>();
  private needsFit: boolean;

  constructor(root: HTMLElement) {
    this.api = vscodeApi();
    this.ui = restoreState(this.api.getState());
    this.layouts = { workload: new MapLayout(this.ui.positions.workload), pod: new MapLayout(this.ui.positions.pod) };
    this.needsFit = this.ui.zoom[this.ui.level] === undefined;

    this.map = new MapView({
      select: (target, additive) => this.select(target, additive),
      transformChanged: (t) => {
        this.ui.zoom[this.ui.level] = t;
        this.persist();
      },
    });
    this.details = new DetailsPanel({
      showFlows: (links) => this.showFlows(links),
      generatePolicy: () => this.generatePolicy(),
      podEvents: (n) => this.podEvents(n),
      selectLink: (id) => this.select({ link: id }, false),
      clearSelection: () => this.select(undefined, false),
    });
    this.table = new FlowTableView(
      { view: this.ui.tableView, crossZoneOnly: this.ui.crossZoneOnly, query: this.ui.query, columns: this.ui.columns, sort: this.ui.sort },
      {
        settingsChanged: (s) => {
          Object.assign(this.ui, { tableView: s.view, crossZoneOnly: s.crossZoneOnly, query: s.query, columns: s.columns, sort: s.sort });
          this.persist();
        },
        rowActivated: (r) => this.rowActivated(r),
        exportCsv: (rows, columns) => this.exportCsv(rows, columns),
      },
    );

    // Toolbar.
    const level = this.select_('level', 'View', [
      ['workload', 'Workloads'],
      ['pod', 'Pods'],
    ], this.ui.level);
    level.addEventListener('change', () => this.setLevel(level.value as ViewLevel));
    this.nsSelect = el('vscode-multi-select', { className: 'namespaces', attrs: { combobox: '', 'aria-label': 'Namespaces in scope', title: 'Namespaces in scope (none: the whole cluster)' } }) as MultiField;
    this.nsSummary = el('span', { className: 'summary' });
    this.nsSelect.addEventListener('change', () => {
      this.ui.namespaces = [...this.nsSelect.value];
      this.updateSummaries();
      this.refresh({ fit: true });
    });
    const windowSelect = this.select_('window', 'Time window', TIME_WINDOWS.map((w) => [w, `Last ${w}`]), this.ui.window);
    windowSelect.addEventListener('change', () => {
      this.ui.window = windowSelect.value as UiState['window'];
      this.persist();
      this.api.postMessage({ type: 'setWindow', window: this.ui.window });
    });
    const search = this.textfield('search', 'Search nodes', this.ui.search, 'search');
    search.addEventListener('input', () => {
      this.ui.search = search.value;
      this.searchCursor = -1;
      this.applyDecorations();
      this.persist();
    });
    search.addEventListener('keydown', (ev) => {
      if ((ev as KeyboardEvent).key === 'Enter') {
        this.nextSearchMatch();
      }
    });
    const workload = this.textfield('workload-filter', 'Workload filter', this.ui.workload, 'filter');
    workload.addEventListener('input', () => {
      this.ui.workload = workload.value;
      this.refresh({});
    });
    const ports = this.textfield('port-filter', 'Ports, e.g. 80,443', this.ui.ports.join(','), 'plug');
    ports.addEventListener('input', () => {
      this.ui.ports = ports.value
        .split(/[\s,]+/)
        .map((p) => Number(p))
        .filter((p) => Number.isInteger(p) && p > 0 && p <= 65535);
      this.refresh({});
    });
    const categories = el('vscode-multi-select', { className: 'categories', attrs: { 'aria-label': 'Categories', title: 'Traffic categories (none: all)' } }) as MultiField;
    for (const c of FLOW_CATEGORIES) {
      categories.append(el('vscode-option', { text: CATEGORY_TITLES[c], attrs: { value: c } }));
    }
    categories.value = this.ui.categories;
    this.catSummary = el('span', { className: 'summary' });
    categories.addEventListener('change', () => {
      this.ui.categories = categories.value.filter((c): c is FlowCategory => FLOW_CATEGORIES.includes(c as FlowCategory));
      this.updateSummaries();
      this.refresh({});
    });
    const unhealthy = el('vscode-checkbox', { className: 'only-unhealthy', attrs: { label: 'Only unhealthy' } }) as Checkbox;
    unhealthy.checked = this.ui.onlyUnhealthy;
    unhealthy.addEventListener('change', () => {
      this.ui.onlyUnhealthy = unhealthy.checked;
      this.refresh({});
    });
    const fit = this.button('fit', 'Fit', 'screen-full', 'Fit the map to the window (0)', true);
    fit.addEventListener('click', () => this.map.fit());
    const relayout = this.button('relayout', 'Re-layout', 'refresh', 'Lay the map out afresh', true);
    relayout.addEventListener('click', () => {
      const full = this.fullGraph();
      if (full) {
        this.layouts[this.ui.level].relayout(full);
        this.refresh({ fit: true });
      }
    });
    this.generateButton = this.button('generate', 'Generate NetworkPolicy', 'shield', 'Generate NetworkPolicies for the selected nodes and links', false);
    this.generateButton.addEventListener('click', () => this.generatePolicy());

    const toolbar = el('header', { className: 'toolbar', attrs: { role: 'toolbar', 'aria-label': 'Map controls' } }, [
      level,
      labelled('Namespaces', this.nsSelect, this.nsSummary),
      windowSelect,
      search,
      el('span', { className: 'spacer' }),
      fit,
      relayout,
      this.generateButton,
    ]);
    const filterbar = el('div', { className: 'toolbar filterbar', attrs: { role: 'toolbar', 'aria-label': 'Map filters' } }, [
      el('span', { className: 'codicon codicon-filter', attrs: { 'aria-hidden': 'true' } }),
      workload,
      ports,
      labelled('Categories', categories, this.catSummary),
      unhealthy,
    ]);
    this.banner = el('div', { className: 'banner', attrs: { role: 'status' } });
    this.banner.hidden = true;
    this.empty = el('div', { className: 'empty', text: 'Waiting for flows…' });
    this.legendZones = el('div', { className: 'legend-zones' });
    const mapArea = el('div', { className: 'map-area' }, [this.map.element, this.empty, legend(this.legendZones)]);
    const main = el('div', { className: 'main' }, [mapArea, this.details.element]);
    const splitter = el('div', { className: 'splitter', attrs: { role: 'separator', 'aria-orientation': 'horizontal', tabindex: '0', 'aria-label': 'Resize the flow table' } });
    root.replaceChildren(toolbar, filterbar, this.banner, main, splitter, this.table.element);
    this.setupSplitter(root, splitter);
    this.applyTableHeight(root);

    window.addEventListener('message', (ev: MessageEvent) => this.onMessage(ev.data));
    this.details.render(undefined, [], []);
    this.updateGenerateButton();
    this.updateSummaries();
    this.exposeForTests();
    this.api.postMessage({ type: 'ready', protocol: PROTOCOL_VERSION, window: this.ui.window });
  }

  // ---- messages ----

  onMessage(data: unknown): void {
    const parsed = parseHostMessage(data);
    if (!parsed.ok) {
      this.api.postMessage({ type: 'error', message: parsed.error });
      return;
    }
    this.handle(parsed.message);
  }

  private handle(m: HostMessage): void {
    switch (m.type) {
      case 'snapshot':
        this.setSnapshot(m.snapshot);
        return;
      case 'delta': {
        const next = this.snapshot && applyDelta(this.snapshot, m.delta);
        if (!next) {
          this.api.postMessage({ type: 'resync' });
          return;
        }
        this.setSnapshot(next);
        return;
      }
      case 'status':
        this.setStatus(m.status);
        return;
      case 'reveal':
        if (m.namespace) {
          this.ui.namespaces = [m.namespace];
          this.nsSelect.value = this.ui.namespaces;
          this.updateSummaries();
          this.refresh({ fit: true });
        }
        if (m.endpointId) {
          const ep = this.endpoints.get(m.endpointId);
          const node = ep && this.mapNodeOf(ep);
          if (node) {
            this.select({ node }, false);
            this.map.reveal({ node });
          }
        }
        if (m.query !== undefined) {
          this.table.update({ query: m.query });
        }
        return;
    }
  }

  private setStatus(s: ViewStatus): void {
    const text = s.message ?? (s.state === 'connecting' ? 'Connecting to the FlowLens agents…' : s.state === 'no-data' ? 'No flows yet.' : '');
    this.banner.textContent = text;
    this.banner.className = `banner banner-${s.state}`;
    this.banner.hidden = text === '' || s.state === 'live';
  }

  private setSnapshot(s: ViewSnapshot): void {
    const namespacesChanged = !this.snapshot || this.snapshot.namespaces.join('\n') !== s.namespaces.join('\n');
    this.snapshot = s;
    this.endpoints = endpointIndex(s);
    this.rows = buildRows(s, this.endpoints);
    this.rowsByLink = { workload: new Map(), pod: new Map() };
    for (const r of this.rows) {
      const client = this.endpoints.get(r.edge.client)!;
      const server = this.endpoints.get(r.edge.server)!;
      for (const level of ['workload', 'pod'] as const) {
        const id = linkId(this.mapNodeOf(client, level), this.mapNodeOf(server, level));
        const list = this.rowsByLink[level].get(id) ?? [];
        list.push(r.key);
        this.rowsByLink[level].set(id, list);
      }
    }
    if (namespacesChanged) {
      this.renderNamespaceOptions(s.namespaces);
    }
    this.table.setRows(this.rows);
    this.refresh({ fit: this.needsFit });
  }

  // ---- map ----

  private filters(): MapFilters {
    return { namespaces: this.ui.namespaces, workload: this.ui.workload.trim(), ports: this.ui.ports, categories: this.ui.categories, onlyUnhealthy: this.ui.onlyUnhealthy };
  }

  private fullGraph(): MapGraph | undefined {
    return this.snapshot && buildMapGraph(this.snapshot, this.ui.level, NO_FILTERS, this.endpoints);
  }

  /** Rebuilds the map for the current data, view and filters; the layout only gains new nodes. */
  private refresh(opts: { fit?: boolean }): void {
    this.persist();
    if (!this.snapshot) {
      return;
    }
    const layout = this.layouts[this.ui.level];
    if (layout.update(this.fullGraph()!) > 0) {
      this.ui.positions[this.ui.level] = layout.export();
    }
    this.graph = buildMapGraph(this.snapshot, this.ui.level, this.filters(), this.endpoints);
    this.table.setScope(this.ui.namespaces);
    this.map.setGraph(this.graph, layout);
    this.empty.hidden = this.graph.nodes.length > 0;
    this.empty.textContent = this.snapshot.podEdges.length === 0 ? 'No flows in this time window.' : 'No traffic matches the scope and filters.';
    this.renderZoneLegend();
    const saved = this.ui.zoom[this.ui.level];
    if (opts.fit || (!saved && this.graph.nodes.length > 0)) {
      this.map.fit();
      this.needsFit = false;
    } else if (saved) {
      this.map.setTransform(saved);
    }
    this.applyDecorations();
    this.details.render(this.graph, this.ui.selectedNodes, this.ui.selectedLinks);
    this.updateGenerateButton();
  }

  private setLevel(level: ViewLevel): void {
    if (level === this.ui.level) {
      return;
    }
    // Node and link ids differ between the views: the selection does not carry over.
    this.ui.selectedNodes = [];
    this.ui.selectedLinks = [];
    this.ui.level = level;
    this.refresh({});
  }

  private mapNodeOf(ep: EndpointView, level: ViewLevel = this.ui.level): string {
    return level === 'pod' ? mapNodeIdOf(ep) : workloadNodeIdOf(ep);
  }

  private select(target: { node?: string; link?: string } | undefined, additive: boolean): void {
    this.tableLinks = new Set();
    if (!target) {
      this.ui.selectedNodes = [];
      this.ui.selectedLinks = [];
    } else if (additive) {
      const toggle = (list: string[], id: string) => (list.includes(id) ? list.filter((x) => x !== id) : [...list, id]);
      if (target.node) {
        this.ui.selectedNodes = toggle(this.ui.selectedNodes, target.node);
      }
      if (target.link) {
        this.ui.selectedLinks = toggle(this.ui.selectedLinks, target.link);
      }
    } else {
      this.ui.selectedNodes = target.node ? [target.node] : [];
      this.ui.selectedLinks = target.link ? [target.link] : [];
    }
    this.persist();
    this.applyDecorations(true);
    this.details.render(this.graph, this.ui.selectedNodes, this.ui.selectedLinks);
    this.updateGenerateButton();
  }

  private applyDecorations(scrollTable = false): void {
    const q = this.ui.search.trim().toLowerCase();
    const matches = q && this.graph ? new Set(this.graph.nodes.filter((n) => n.label.toLowerCase().includes(q)).map((n) => n.id)) : undefined;
    const rowKeys = new Set<string>();
    for (const id of this.ui.selectedLinks) {
      for (const k of this.rowsByLink[this.ui.level].get(id) ?? []) {
        rowKeys.add(k);
      }
    }
    this.map.setDecorations({ selectedNodes: new Set(this.ui.selectedNodes), selectedLinks: new Set(this.ui.selectedLinks), highlightedLinks: this.tableLinks, ...(matches ? { matches } : {}) });
    this.table.highlight(rowKeys, scrollTable);
  }

  private nextSearchMatch(): void {
    const q = this.ui.search.trim().toLowerCase();
    if (!q || !this.graph) {
      return;
    }
    const matches = this.graph.nodes.filter((n) => n.label.toLowerCase().includes(q));
    if (matches.length === 0) {
      return;
    }
    this.searchCursor = (this.searchCursor + 1) % matches.length;
    const n = matches[this.searchCursor];
    this.select({ node: n.id }, false);
    this.map.reveal({ node: n.id });
  }

  private rowActivated(r: FlowRow): void {
    const client = this.endpoints.get(r.edge.client);
    const server = this.endpoints.get(r.edge.server);
    if (!client || !server) {
      return;
    }
    const id = linkId(this.mapNodeOf(client), this.mapNodeOf(server));
    this.tableLinks = new Set([id]);
    if (this.graph?.linkById.has(id)) {
      this.ui.selectedNodes = [];
      this.ui.selectedLinks = [id];
      this.persist();
      this.details.render(this.graph, this.ui.selectedNodes, this.ui.selectedLinks);
      this.updateGenerateButton();
      this.map.reveal({ link: id });
    }
    this.applyDecorations(false);
  }

  // ---- actions to the host ----

  private edgeRefs(links: readonly MapLink[]): EdgeRef[] {
    const refs: EdgeRef[] = [];
    for (const l of links) {
      for (const e of l.edges) {
        const r = this.edgeRef(e);
        if (r) {
          refs.push(r);
        }
      }
    }
    return refs;
  }

  private edgeRef(e: EdgeView): EdgeRef | undefined {
    const client = this.endpoints.get(e.client);
    const server = this.endpoints.get(e.server);
    return client && server ? { key: e.key, client: endpointRef(client), server: endpointRef(server), protocol: e.protocol, port: e.port } : undefined;
  }

  private selectedLinks(): MapLink[] {
    return this.ui.selectedLinks.map((id) => this.graph?.linkById.get(id)).filter((l): l is MapLink => l !== undefined);
  }

  private selectedNodes(): MapNode[] {
    return this.ui.selectedNodes.map((id) => this.graph?.nodeById.get(id)).filter((n): n is MapNode => n !== undefined);
  }

  private generatePolicy(): void {
    const links = this.selectedLinks();
    const nodes = this.selectedNodes();
    if (links.length + nodes.length === 0) {
      return;
    }
    this.api.postMessage({
      type: 'generatePolicy',
      level: this.ui.level,
      window: this.ui.window,
      edges: this.edgeRefs(links),
      nodes: nodes.flatMap((n) => n.endpoints.map(endpointRef)),
    });
  }

  private showFlows(links: readonly MapLink[]): void {
    const keys = new Set(links.flatMap((l) => this.rowsByLink[this.ui.level].get(l.id) ?? []));
    const label = links.length === 1 ? `${this.graph?.nodeById.get(links[0].source)?.label} → ${this.graph?.nodeById.get(links[0].target)?.label}` : `${links.length} links`;
    this.table.pinRows(keys, label);
    this.api.postMessage({ type: 'showFlows', level: this.ui.level, window: this.ui.window, edges: this.edgeRefs(links) });
  }

  private podEvents(n: MapNode): void {
    if (!n.namespace) {
      return;
    }
    this.api.postMessage({ type: 'openPodEvents', namespace: n.namespace, pods: [...n.pods], ...(n.workload ? { workload: n.workload } : {}) });
  }

  private exportCsv(rows: readonly FlowRow[], columns: readonly string[]): void {
    const stamp = new Date(this.snapshot?.toMs ?? Date.now()).toISOString().replace(/[:.]/g, '-');
    this.api.postMessage({ type: 'saveCsv', fileName: `flowlens-${this.ui.tableView}-flows-${stamp}.csv`, csv: rowsToCsv(rows, columns), rows: rows.length });
  }

  // ---- widgets ----

  private updateGenerateButton(): void {
    const n = this.ui.selectedNodes.length + this.ui.selectedLinks.length;
    if (n === 0) {
      this.generateButton.setAttribute('disabled', '');
    } else {
      this.generateButton.removeAttribute('disabled');
    }
    this.generateButton.textContent = n > 0 ? `Generate NetworkPolicy (${n})` : 'Generate NetworkPolicy';
  }

  private updateSummaries(): void {
    this.nsSummary.textContent = this.ui.namespaces.length === 0 ? 'all' : this.ui.namespaces.length === 1 ? this.ui.namespaces[0] : `${this.ui.namespaces.length}`;
    this.catSummary.textContent = this.ui.categories.length === 0 ? 'all' : this.ui.categories.map((c) => CATEGORY_TITLES[c]).join(', ');
  }

  private renderNamespaceOptions(namespaces: readonly string[]): void {
    clear(this.nsSelect);
    for (const ns of namespaces) {
      this.nsSelect.append(el('vscode-option', { text: ns, attrs: { value: ns } }));
    }
    this.nsSelect.value = this.ui.namespaces.filter((ns) => namespaces.includes(ns));
  }

  private renderZoneLegend(): void {
    clear(this.legendZones);
    for (const { zone, color } of this.map.zoneColors()) {
      const swatch = el('span', { className: 'swatch ring' });
      swatch.style.borderColor = color;
      this.legendZones.append(el('span', { className: 'legend-item' }, [swatch, el('span', { text: zone })]));
    }
  }

  private select_(name: string, label: string, options: [string, string][], value: string): Field {
    const s = el('vscode-single-select', { className: name, attrs: { 'aria-label': label, title: label } }) as Field;
    for (const [v, t] of options) {
      s.append(el('vscode-option', { text: t, attrs: { value: v } }));
    }
    s.value = value;
    return s;
  }

  private textfield(name: string, placeholder: string, value: string, iconName: string): Field {
    const f = el('vscode-textfield', { className: name, attrs: { placeholder, 'aria-label': placeholder } }, [el('vscode-icon', { attrs: { slot: 'content-before', name: iconName } })]) as Field;
    f.value = value;
    return f;
  }

  private button(name: string, text: string, iconName: string, title: string, secondary: boolean): HTMLElement {
    return el('vscode-button', { className: name, title, attrs: { icon: iconName, ...(secondary ? { secondary: '' } : {}) } }, [text]);
  }

  private setupSplitter(root: HTMLElement, splitter: HTMLElement): void {
    let dragging = false;
    splitter.addEventListener('pointerdown', (ev) => {
      dragging = true;
      splitter.setPointerCapture(ev.pointerId);
    });
    splitter.addEventListener('pointermove', (ev) => {
      if (!dragging) {
        return;
      }
      const rect = root.getBoundingClientRect();
      this.ui.tableHeight = Math.min(0.85, Math.max(0.12, (rect.bottom - ev.clientY) / rect.height));
      this.applyTableHeight(root);
    });
    splitter.addEventListener('pointerup', () => {
      dragging = false;
      this.persist();
    });
    splitter.addEventListener('keydown', (ev) => {
      if (ev.key === 'ArrowUp' || ev.key === 'ArrowDown') {
        this.ui.tableHeight = Math.min(0.85, Math.max(0.12, this.ui.tableHeight + (ev.key === 'ArrowUp' ? 0.05 : -0.05)));
        this.applyTableHeight(root);
        this.persist();
      }
    });
  }

  private applyTableHeight(root: HTMLElement): void {
    root.style.setProperty('--table-height', `${Math.round(this.ui.tableHeight * 100)}%`);
  }

  private persist(): void {
    clearTimeout(this.persistTimer);
    this.persistTimer = window.setTimeout(() => this.api.setState(this.ui), 150);
  }

  /** A read-only window into the app for the tests and the benchmark (no effect on behaviour). */
  private exposeForTests(): void {
    (globalThis as unknown as { flowlens: unknown }).flowlens = {
      graph: () => this.graph && { level: this.graph.level, nodes: this.graph.nodes.map((n) => n.id), links: this.graph.links.map((l) => l.id), groups: this.graph.groups.map((g) => g.id) },
      screenPosition: (id: string) => this.map.screenPosition(id),
      linkScreenPoint: (id: string, t: number) => this.map.linkScreenPoint(id, t),
      hitTest: (x: number, y: number) => this.map.hitTarget(x, y),
      position: (id: string) => this.layouts[this.ui.level].position(id),
      mapTimings: () => ({ ...this.map.timings }),
      renderMap: () => this.map.renderNow(),
      tableFilterMs: () => this.table.lastFilterMs,
      visibleRows: () => this.table.visibleRows.map((r) => r.key),
      state: () => JSON.parse(JSON.stringify(this.ui)) as unknown,
      flushState: () => {
        clearTimeout(this.persistTimer);
        this.api.setState(this.ui);
      },
      fit: () => this.map.fit(),
      setTransform: (t: { x: number; y: number; k: number }) => this.map.setTransform(t),
    };
  }
}

function labelled(text: string, control: HTMLElement, summary: HTMLElement): HTMLElement {
  return el('span', { className: 'labelled' }, [el('span', { className: 'label', text: `${text}:` }), summary, control]);
}

function legend(zones: HTMLElement): HTMLElement {
  const item = (cls: string, text: string) => el('span', { className: 'legend-item' }, [el('span', { className: `swatch ${cls}` }), el('span', { text })]);
  return el('div', { className: 'legend', attrs: { 'aria-label': 'Legend' } }, [
    item('line healthy', 'healthy'),
    item('line degraded', 'retransmits / resets'),
    item('line failing', 'RTO / failed / ≥2 % retrans.'),
    item('line dashed', 'cross-zone'),
    item('line thick', 'width: bytes'),
    item('shape service', 'Service / node'),
    item('shape outside', 'outside cluster'),
    zones,
  ]);
}
