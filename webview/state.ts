/**
 * What survives hiding and re-showing the panel (VS Code's webview state API): view, scope, window,
 * filters, selection, table settings, zoom and the node positions (so the layout comes back as it was).
 * State from an older or tampered webview is sanitised field by field, never trusted.
 */
import { FLOW_CATEGORIES, type FlowCategory } from '../src/core/flows/flow-record';
import { DEFAULT_COLUMNS, COLUMN_BY_ID, type TableView } from '../src/core/view/flow-table';
import { TIME_WINDOWS, type TimeWindow, type ViewLevel } from '../src/core/view/protocol';

export interface UiState {
  v: 1;
  level: ViewLevel;
  window: TimeWindow;
  namespaces: string[];
  workload: string;
  ports: number[];
  categories: FlowCategory[];
  onlyUnhealthy: boolean;
  search: string;
  selectedNodes: string[];
  selectedLinks: string[];
  tableView: TableView;
  crossZoneOnly: boolean;
  query: string;
  columns: string[];
  sort: { column: string; descending: boolean };
  /** The map's zoom transform per level. */
  zoom: Partial<Record<ViewLevel, { x: number; y: number; k: number }>>;
  /** Node positions per level: id -> [x, y]. */
  positions: Partial<Record<ViewLevel, Record<string, [number, number]>>>;
  tableHeight: number;
}

export function defaultState(): UiState {
  return {
    v: 1,
    level: 'workload',
    window: '15m',
    namespaces: [],
    workload: '',
    ports: [],
    categories: [],
    onlyUnhealthy: false,
    search: '',
    selectedNodes: [],
    selectedLinks: [],
    tableView: 'cluster',
    crossZoneOnly: false,
    query: '',
    columns: [...DEFAULT_COLUMNS],
    sort: { column: 'bytesOut', descending: true },
    zoom: {},
    positions: {},
    tableHeight: 0.4,
  };
}

const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

export function restoreState(raw: unknown): UiState {
  const s = defaultState();
  if (!isObj(raw) || raw.v !== 1) {
    return s;
  }
  if (raw.level === 'pod' || raw.level === 'workload') {
    s.level = raw.level;
  }
  if (TIME_WINDOWS.includes(raw.window as TimeWindow)) {
    s.window = raw.window as TimeWindow;
  }
  s.namespaces = strings(raw.namespaces);
  s.workload = typeof raw.workload === 'string' ? raw.workload : '';
  s.ports = Array.isArray(raw.ports) ? raw.ports.filter((p): p is number => Number.isInteger(p) && p >= 0 && p <= 65535) : [];
  s.categories = strings(raw.categories).filter((c): c is FlowCategory => FLOW_CATEGORIES.includes(c as FlowCategory));
  s.onlyUnhealthy = raw.onlyUnhealthy === true;
  s.search = typeof raw.search === 'string' ? raw.search : '';
  s.selectedNodes = strings(raw.selectedNodes);
  s.selectedLinks = strings(raw.selectedLinks);
  if (raw.tableView === 'cluster' || raw.tableView === 'cloud' || raw.tableView === 'external') {
    s.tableView = raw.tableView;
  }
  s.crossZoneOnly = raw.crossZoneOnly === true;
  s.query = typeof raw.query === 'string' ? raw.query : '';
  const cols = strings(raw.columns).filter((c) => COLUMN_BY_ID.has(c));
  if (cols.length > 0) {
    s.columns = cols;
  }
  if (isObj(raw.sort) && typeof raw.sort.column === 'string' && COLUMN_BY_ID.has(raw.sort.column)) {
    s.sort = { column: raw.sort.column, descending: raw.sort.descending === true };
  }
  if (isObj(raw.zoom)) {
    for (const level of ['workload', 'pod'] as const) {
      const z = raw.zoom[level];
      if (isObj(z) && finite(z.x) && finite(z.y) && finite(z.k) && z.k > 0) {
        s.zoom[level] = { x: z.x, y: z.y, k: z.k };
      }
    }
  }
  if (isObj(raw.positions)) {
    for (const level of ['workload', 'pod'] as const) {
      const p = raw.positions[level];
      if (isObj(p)) {
        const out: Record<string, [number, number]> = {};
        for (const [id, xy] of Object.entries(p)) {
          if (Array.isArray(xy) && xy.length === 2 && finite(xy[0]) && finite(xy[1])) {
            out[id] = [xy[0], xy[1]];
          }
        }
        s.positions[level] = out;
      }
    }
  }
  if (finite(raw.tableHeight) && raw.tableHeight >= 0.1 && raw.tableHeight <= 0.9) {
    s.tableHeight = raw.tableHeight;
  }
  return s;
}
