/**
 * The flow table: three views (cluster east-west, cloud services, external), a cross-zone filter, a query
 * (see src/core/view/query.ts for the syntax), user-chosen columns, sorting, CSV export of the visible rows,
 * and virtual scrolling: only the rows in the viewport (plus a margin) exist in the DOM, so 100,000 rows
 * scroll as smoothly as 100. Cells are text nodes.
 */
import { COLUMN_BY_ID, COLUMNS, TABLE_VIEWS, formatCell, sortRows, type FlowRow, type SortSpec, type TableView } from '../../src/core/view/flow-table';
import { parseQuery, type RowPredicate } from '../../src/core/view/query';
import { clear, el, icon } from '../dom';

export const ROW_HEIGHT = 22;
const OVERSCAN = 8;

export interface TableSettings {
  view: TableView;
  crossZoneOnly: boolean;
  query: string;
  columns: string[];
  sort: SortSpec;
}

export interface TableCallbacks {
  settingsChanged(s: TableSettings): void;
  rowActivated(row: FlowRow): void;
  exportCsv(rows: readonly FlowRow[], columns: readonly string[]): void;
}

export class FlowTableView {
  readonly element: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private readonly header: HTMLElement;
  /** Holds header and rows; as wide as the columns need, scrolling sideways when the panel is narrower. */
  private readonly inner: HTMLElement;
  private readonly count: HTMLElement;
  private readonly queryError: HTMLElement;
  private readonly queryField: HTMLElement & { value: string };
  private readonly crossZone: HTMLElement & { checked: boolean };
  private readonly tabs: HTMLElement & { selectedIndex: number };
  private readonly columnMenu: HTMLElement;
  private all: FlowRow[] = [];
  private visible: FlowRow[] = [];
  private predicate: RowPredicate = () => true;
  /** Namespaces in scope (the map's): rows with an end in one of them; empty: all. */
  private scope: ReadonlySet<string> = new Set();
  private highlighted = new Set<string>();
  private activeKey: string | undefined;
  /** Rows pinned by "Show Flows" (keys), with a label; undefined: no pin. */
  private pin: { keys: ReadonlySet<string>; label: string } | undefined;
  private readonly pinChip: HTMLElement;
  private renderRequested = false;
  /** Milliseconds of the last filter+sort pass (for the benchmark). */
  lastFilterMs = 0;

  constructor(
    private settings: TableSettings,
    private readonly callbacks: TableCallbacks,
  ) {
    this.tabs = el('vscode-tabs', { className: 'table-tabs', attrs: { 'aria-label': 'Flow table view' } }) as HTMLElement & { selectedIndex: number };
    for (const v of TABLE_VIEWS) {
      this.tabs.append(el('vscode-tab-header', { text: v.title, attrs: { slot: 'header', 'data-view': v.id } }));
    }
    this.tabs.selectedIndex = TABLE_VIEWS.findIndex((v) => v.id === settings.view);
    this.tabs.addEventListener('vsc-tabs-select', (ev) => {
      const index = (ev as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex;
      this.update({ view: TABLE_VIEWS[index]?.id ?? 'cluster' });
    });
    this.crossZone = el('vscode-checkbox', { className: 'cross-zone', attrs: { label: 'Cross-zone only' } }) as HTMLElement & { checked: boolean };
    this.crossZone.checked = settings.crossZoneOnly;
    this.crossZone.addEventListener('change', () => this.update({ crossZoneOnly: this.crossZone.checked }));
    this.queryField = el('vscode-textfield', {
      className: 'query',
      attrs: { placeholder: 'Filter: ns:orders port:5432 retransmits>0 -ns:kube-system is:cross-zone', 'aria-label': 'Flow table filter' },
    }) as HTMLElement & { value: string };
    this.queryField.value = settings.query;
    let timer: number | undefined;
    this.queryField.addEventListener('input', () => {
      clearTimeout(timer);
      timer = window.setTimeout(() => this.update({ query: this.queryField.value }), 120);
    });
    this.queryField.addEventListener('keydown', (ev) => {
      if ((ev as KeyboardEvent).key === 'Enter') {
        clearTimeout(timer);
        this.update({ query: this.queryField.value });
      }
    });
    this.queryError = el('div', { className: 'query-error', attrs: { role: 'alert' } });
    this.count = el('span', { className: 'row-count', attrs: { 'aria-live': 'polite' } });
    this.pinChip = el('span', { className: 'pin-chip' });
    this.pinChip.hidden = true;
    const columnsButton = el('vscode-button', { className: 'columns-button', attrs: { secondary: '', icon: 'list-selection', title: 'Choose columns' } }, ['Columns']);
    this.columnMenu = el('div', { className: 'column-menu', attrs: { role: 'group', 'aria-label': 'Columns' } });
    this.columnMenu.hidden = true;
    columnsButton.addEventListener('click', () => {
      this.columnMenu.hidden = !this.columnMenu.hidden;
      this.renderColumnMenu();
    });
    const exportButton = el('vscode-button', { className: 'export-csv', attrs: { secondary: '', icon: 'export', title: 'Export the visible rows as CSV' } }, ['Export CSV']);
    exportButton.addEventListener('click', () => this.callbacks.exportCsv(this.visible, this.settings.columns));
    const toolbar = el('div', { className: 'table-toolbar' }, [this.crossZone, this.queryField, this.pinChip, this.count, columnsButton, exportButton]);

    this.header = el('div', { className: 'table-header', attrs: { role: 'row' } });
    this.spacer = el('div', { className: 'table-spacer' });
    this.body = el('div', { className: 'table-rows', attrs: { role: 'rowgroup' } });
    this.viewport = el('div', { className: 'table-viewport', attrs: { tabindex: '0' } }, [this.spacer, this.body]);
    this.viewport.addEventListener('scroll', () => this.requestRender());
    this.viewport.addEventListener('keydown', (ev) => this.onKey(ev));
    new ResizeObserver(() => this.requestRender()).observe(this.viewport);
    this.inner = el('div', { className: 'table-inner' }, [this.header, this.viewport]);
    const grid = el('div', { className: 'table-grid', attrs: { role: 'grid', 'aria-label': 'Flows' } }, [this.inner]);
    this.element = el('section', { className: 'flow-table', attrs: { 'aria-label': 'Flow table' } }, [this.tabs, toolbar, this.queryError, this.columnMenu, grid]);
    this.compileQuery();
    this.renderHeader();
  }

  setRows(rows: FlowRow[]): void {
    this.all = rows;
    this.refilter();
  }

  setScope(namespaces: readonly string[]): void {
    const next = new Set(namespaces);
    if (next.size !== this.scope.size || [...next].some((n) => !this.scope.has(n))) {
      this.scope = next;
      this.refilter();
    }
  }

  get visibleRows(): readonly FlowRow[] {
    return this.visible;
  }

  get currentSettings(): TableSettings {
    return this.settings;
  }

  /** Highlights rows (from a map selection) and scrolls the first into view. */
  highlight(keys: ReadonlySet<string>, scroll: boolean): void {
    this.highlighted = new Set(keys);
    if (scroll) {
      const i = this.visible.findIndex((r) => keys.has(r.key));
      if (i >= 0) {
        this.scrollToIndex(i);
      }
    }
    this.requestRender();
  }

  /** Shows only these rows until the pin is removed ("Show Flows" on the map). */
  pinRows(keys: ReadonlySet<string> | undefined, label = ''): void {
    this.pin = keys ? { keys, label } : undefined;
    clear(this.pinChip);
    this.pinChip.hidden = !keys;
    if (keys) {
      const close = el('button', { className: 'pin-close', title: 'Show all flows', attrs: { 'aria-label': 'Show all flows' } }, [icon('close')]);
      close.addEventListener('click', () => this.pinRows(undefined));
      this.pinChip.append(el('span', { text: label }), close);
      const views = new Set(this.all.filter((r) => keys.has(r.key)).map((r) => r.view));
      if (views.size > 0 && !views.has(this.settings.view)) {
        const view = [...views][0];
        this.tabs.selectedIndex = TABLE_VIEWS.findIndex((v) => v.id === view);
        this.settings = { ...this.settings, view };
        this.callbacks.settingsChanged(this.settings);
      }
    }
    this.refilter();
  }

  update(patch: Partial<TableSettings>): void {
    this.settings = { ...this.settings, ...patch };
    if (patch.query !== undefined) {
      if (this.queryField.value !== patch.query) {
        this.queryField.value = patch.query;
      }
      this.compileQuery();
    }
    if (patch.columns || patch.sort) {
      this.renderHeader();
    }
    this.callbacks.settingsChanged(this.settings);
    this.refilter();
  }

  private compileQuery(): void {
    const q = parseQuery(this.settings.query);
    if (q.ok) {
      this.predicate = q.predicate;
      this.queryError.textContent = '';
      this.queryError.hidden = true;
    } else {
      this.predicate = () => true;
      this.queryError.textContent = q.error;
      this.queryError.hidden = false;
    }
  }

  private refilter(): void {
    const t0 = performance.now();
    const s = this.settings;
    const p = this.predicate;
    const pin = this.pin?.keys;
    const scope = this.scope.size > 0 ? this.scope : undefined;
    const out: FlowRow[] = [];
    for (const r of this.all) {
      if (
        r.view === s.view &&
        (!s.crossZoneOnly || r.crossZone) &&
        (!pin || pin.has(r.key)) &&
        (!scope || scope.has(r.local.namespace ?? '') || scope.has(r.remote.namespace ?? '')) &&
        p(r)
      ) {
        out.push(r);
      }
    }
    this.visible = sortRows(out, s.sort);
    this.lastFilterMs = performance.now() - t0;
    let inView = 0;
    for (const r of this.all) {
      inView += r.view === s.view ? 1 : 0;
    }
    this.count.textContent = `${this.visible.length.toLocaleString('en-US')} of ${inView.toLocaleString('en-US')} flows`;
    this.element.dataset.visibleRows = String(this.visible.length);
    this.spacer.style.height = `${this.visible.length * ROW_HEIGHT}px`;
    this.requestRender();
  }

  private renderHeader(): void {
    clear(this.header);
    const template = this.gridTemplate();
    this.header.style.gridTemplateColumns = template;
    this.inner.style.minWidth = `${this.settings.columns.reduce((w, id) => w + (COLUMN_BY_ID.get(id)!.type === 'text' ? 100 : 88), 0) + 14}px`;
    for (const id of this.settings.columns) {
      const c = COLUMN_BY_ID.get(id)!;
      const sorted = this.settings.sort.column === id;
      const cell = el('div', {
        className: `th ${c.type === 'text' ? '' : 'num'}`,
        attrs: { role: 'columnheader', tabindex: '0', 'data-column': id, 'aria-sort': sorted ? (this.settings.sort.descending ? 'descending' : 'ascending') : 'none' },
      });
      cell.append(el('span', { className: 'th-title', text: c.title }));
      if (sorted) {
        cell.append(icon(this.settings.sort.descending ? 'arrow-down' : 'arrow-up'));
      }
      const toggle = () => this.update({ sort: { column: id, descending: sorted ? !this.settings.sort.descending : c.type !== 'text' } });
      cell.addEventListener('click', toggle);
      cell.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') {
          ev.preventDefault();
          toggle();
        }
      });
      this.header.append(cell);
    }
  }

  private renderColumnMenu(): void {
    clear(this.columnMenu);
    for (const c of COLUMNS) {
      const box = el('vscode-checkbox', { attrs: { label: c.title, 'data-column': c.id } }) as HTMLElement & { checked: boolean };
      box.checked = this.settings.columns.includes(c.id);
      box.addEventListener('change', () => {
        const chosen = new Set(this.settings.columns);
        if (box.checked) {
          chosen.add(c.id);
        } else if (chosen.size > 1) {
          chosen.delete(c.id);
        }
        // Keep the canonical column order.
        this.update({ columns: COLUMNS.filter((x) => chosen.has(x.id)).map((x) => x.id) });
      });
      this.columnMenu.append(box);
    }
  }

  private gridTemplate(): string {
    return this.settings.columns.map((id) => (COLUMN_BY_ID.get(id)!.type === 'text' ? 'minmax(100px, 1.4fr)' : 'minmax(88px, 0.8fr)')).join(' ');
  }

  private requestRender(): void {
    if (this.renderRequested) {
      return;
    }
    this.renderRequested = true;
    requestAnimationFrame(() => {
      this.renderRequested = false;
      this.renderRows();
    });
  }

  /** Renders the rows in the viewport. */
  renderRows(): void {
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 300;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.visible.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const template = this.gridTemplate();
    const columns = this.settings.columns.map((id) => COLUMN_BY_ID.get(id)!);
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const r = this.visible[i];
      const row = el('div', {
        className: `tr health-${r.health}${this.highlighted.has(r.key) ? ' highlighted' : ''}${this.activeKey === r.key ? ' active' : ''}`,
        attrs: { role: 'row', 'aria-rowindex': String(i + 2), 'data-key': r.key },
      });
      row.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
      row.style.gridTemplateColumns = template;
      for (const c of columns) {
        row.append(el('div', { className: c.type === 'text' ? 'td' : 'td num', text: formatCell(c, r), attrs: { role: 'gridcell' } }));
      }
      row.addEventListener('click', () => this.activate(r));
      frag.append(row);
    }
    this.body.replaceChildren(frag);
    this.element.dataset.renderedRows = String(last - first);
    this.element.dataset.firstRow = String(first);
  }

  private activate(r: FlowRow): void {
    this.activeKey = r.key;
    this.callbacks.rowActivated(r);
    this.requestRender();
  }

  private scrollToIndex(i: number): void {
    const top = i * ROW_HEIGHT;
    const h = this.viewport.clientHeight;
    if (top < this.viewport.scrollTop || top + ROW_HEIGHT > this.viewport.scrollTop + h) {
      this.viewport.scrollTop = Math.max(0, top - h / 3);
    }
  }

  private onKey(ev: KeyboardEvent): void {
    if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp' && ev.key !== 'Enter') {
      return;
    }
    ev.preventDefault();
    let i = this.visible.findIndex((r) => r.key === this.activeKey);
    if (ev.key === 'ArrowDown') {
      i = Math.min(this.visible.length - 1, i + 1);
    } else if (ev.key === 'ArrowUp') {
      i = Math.max(0, i - 1);
    }
    const r = this.visible[Math.max(0, i)];
    if (r) {
      this.activate(r);
      this.scrollToIndex(this.visible.indexOf(r));
    }
  }
}

