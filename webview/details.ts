/**
 * The side panel: what is selected on the map. A link shows, per port, both directions' bytes and packets
 * and the connection health figures, with "Show Flows"; a node shows its zones, pods, addresses and top
 * talkers, with the pods' events link; several items show a summary. "Generate NetworkPolicy" works for
 * any selection. Everything is text.
 */
import { edgeHealth, retransmitRate } from '../src/core/view/health';
import { formatBytes, formatCount, formatPercent, formatRtt } from '../src/core/view/format';
import type { MapGraph, MapLink, MapNode } from '../src/core/view/map-graph';
import type { Counters, EdgeView } from '../src/core/view/protocol';
import { clear, el, icon } from './dom';

export interface DetailsCallbacks {
  showFlows(links: readonly MapLink[]): void;
  generatePolicy(): void;
  podEvents(node: MapNode): void;
  selectLink(id: string): void;
  clearSelection(): void;
}

export class DetailsPanel {
  readonly element: HTMLElement;

  constructor(private readonly callbacks: DetailsCallbacks) {
    this.element = el('aside', { className: 'details', attrs: { 'aria-label': 'Selection details' } });
  }

  render(graph: MapGraph | undefined, nodes: readonly string[], links: readonly string[]): void {
    clear(this.element);
    const selNodes = nodes.map((id) => graph?.nodeById.get(id)).filter((n): n is MapNode => n !== undefined);
    const selLinks = links.map((id) => graph?.linkById.get(id)).filter((l): l is MapLink => l !== undefined);
    if (!graph || selNodes.length + selLinks.length === 0) {
      this.element.append(
        el('h2', { text: 'Nothing selected' }),
        el('p', { className: 'hint', text: 'Click a node or a link on the map (Ctrl/Shift+click to select several), or use the arrow keys and Enter.' }),
      );
      this.element.dataset.selection = 'none';
      return;
    }
    this.element.dataset.selection = `${selNodes.length}n${selLinks.length}l`;
    if (selNodes.length + selLinks.length === 1) {
      if (selLinks[0]) {
        this.renderLink(graph, selLinks[0]);
      } else {
        this.renderNode(graph, selNodes[0]);
      }
    } else {
      this.renderMany(graph, selNodes, selLinks);
    }
    const actions = el('div', { className: 'actions' });
    const gen = el('vscode-button', { className: 'generate-policy', attrs: { icon: 'shield' } }, ['Generate NetworkPolicy']);
    gen.addEventListener('click', () => this.callbacks.generatePolicy());
    actions.append(gen);
    if (selLinks.length > 0) {
      const flows = el('vscode-button', { className: 'show-flows', attrs: { secondary: '', icon: 'table' } }, ['Show Flows']);
      flows.addEventListener('click', () => this.callbacks.showFlows(selLinks));
      actions.append(flows);
    }
    const clearButton = el('vscode-button', { className: 'clear-selection', attrs: { secondary: '', icon: 'clear-all' } }, ['Clear']);
    clearButton.addEventListener('click', () => this.callbacks.clearSelection());
    actions.append(clearButton);
    this.element.append(actions);
  }

  private renderLink(graph: MapGraph, l: MapLink): void {
    const a = graph.nodeById.get(l.source)!;
    const b = graph.nodeById.get(l.target)!;
    this.element.append(
      el('h2', { className: 'link-title' }, [el('span', { className: 'client', text: a.label }), icon('arrow-right'), el('span', { className: 'server', text: b.label })]),
      badges([l.health, ...(l.crossZone ? ['cross-zone'] : []), ...l.categories.filter((c) => c !== 'inter-zone')]),
    );
    for (const e of l.edges) {
      this.element.append(edgeFigures(e, a.name, b.name));
    }
    if (l.edges.length > 1) {
      this.element.append(el('h3', { text: 'All ports' }), figuresTable(l.totals, a.name, b.name));
    }
  }

  private renderNode(graph: MapGraph, n: MapNode): void {
    this.element.append(el('h2', { className: 'node-title', text: n.label }), badges([n.kind, ...(n.namespace ? [`ns ${n.namespace}`] : [])]));
    const facts = el('dl', { className: 'facts' });
    const fact = (k: string, v: string) => {
      if (v) {
        facts.append(el('dt', { text: k }), el('dd', { text: v }));
      }
    };
    fact('Zones', n.zones.join(', '));
    fact('Pods', n.pods.length > 12 ? `${n.pods.slice(0, 12).join(', ')} … (+${n.pods.length - 12})` : n.pods.join(', '));
    fact('Addresses', n.ips.length > 8 ? `${n.ips.slice(0, 8).join(', ')} … (+${n.ips.length - 8})` : n.ips.join(', '));
    this.element.append(facts);
    const links = graph.links.filter((l) => l.source === n.id || l.target === n.id);
    const bytes = (l: MapLink) => l.totals.bytesToServer + l.totals.bytesToClient;
    const top = [...links].sort((x, y) => bytes(y) - bytes(x)).slice(0, 10);
    this.element.append(el('h3', { text: `Talkers (${links.length})` }));
    const list = el('ul', { className: 'talkers' });
    for (const l of top) {
      const outgoing = l.source === n.id;
      const peer = graph.nodeById.get(outgoing ? l.target : l.source)!;
      const item = el('li', { className: `talker health-${l.health}`, attrs: { tabindex: '0', role: 'button', 'data-link': l.id } }, [
        icon(outgoing ? 'arrow-right' : 'arrow-left'),
        el('span', { className: 'peer', text: peer.label }),
        el('span', { className: 'ports', text: l.edges.map((e) => e.port).join(', ') }),
        el('span', { className: 'bytes', text: formatBytes(bytes(l)) }),
      ]);
      const go = () => this.callbacks.selectLink(l.id);
      item.addEventListener('click', go);
      item.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') {
          go();
        }
      });
      list.append(item);
    }
    this.element.append(list);
    if (n.namespace && (n.kind === 'pod' || n.kind === 'workload')) {
      const events = el('vscode-button', { className: 'pod-events', attrs: { secondary: '', icon: 'pulse' } }, ['Pod events']);
      events.addEventListener('click', () => this.callbacks.podEvents(n));
      this.element.append(el('div', { className: 'actions' }, [events]));
    }
  }

  private renderMany(graph: MapGraph, nodes: MapNode[], links: MapLink[]): void {
    this.element.append(el('h2', { text: `${nodes.length} nodes, ${links.length} links selected` }));
    const list = el('ul', { className: 'selection-list' });
    for (const n of nodes) {
      list.append(el('li', {}, [icon('circle-filled'), el('span', { text: n.label })]));
    }
    for (const l of links) {
      list.append(
        el('li', {}, [icon('arrow-right'), el('span', { text: `${graph.nodeById.get(l.source)?.label} → ${graph.nodeById.get(l.target)?.label} (${l.edges.map((e) => e.port).join(', ')})` })]),
      );
    }
    this.element.append(list);
  }
}

function badges(items: readonly string[]): HTMLElement {
  return el(
    'div',
    { className: 'badges' },
    items.map((t) => el('span', { className: `badge badge-${t.replace(/[^a-z-]/gi, '')}`, text: t })),
  );
}

function edgeFigures(e: EdgeView, client: string, server: string): HTMLElement {
  const health = edgeHealth(e.totals);
  return el('section', { className: 'edge-figures', attrs: { 'data-edge': e.key } }, [
    el('h3', {}, [el('span', { text: `${e.protocol} ${e.port}` }), el('span', { className: `badge badge-${health}`, text: health })]),
    figuresTable(e.totals, client, server),
  ]);
}

function figuresTable(t: Counters, client: string, server: string): HTMLElement {
  const table = el('table', { className: 'figures' });
  const head = el('tr', {}, [el('th', { text: '' }), el('th', { text: `${shorten(client)} → ${shorten(server)}` }), el('th', { text: `${shorten(server)} → ${shorten(client)}` })]);
  table.append(el('thead', {}, [head]));
  const body = el('tbody');
  const row = (k: string, a: string, b?: string) => body.append(el('tr', { attrs: { 'data-figure': k } }, [el('th', { text: k }), el('td', { text: a, attrs: b === undefined ? { colspan: '2' } : {} }), ...(b === undefined ? [] : [el('td', { text: b })])]));
  row('Bytes', formatBytes(t.bytesToServer), formatBytes(t.bytesToClient));
  row('Packets', formatCount(t.packetsToServer), formatCount(t.packetsToClient));
  row('Connections', formatCount(t.connections));
  row('Retransmits', `${formatCount(t.retransmits)} (${formatPercent(retransmitRate(t))})`);
  row('RTO', formatCount(t.rto));
  row('RTT', formatRtt(t.rttUs));
  row('Resets', formatCount(t.resets));
  row('Failed connections', formatCount(t.failedConnections));
  table.append(body);
  return table;
}

function shorten(s: string): string {
  return s.length > 22 ? `${s.slice(0, 21)}…` : s;
}
