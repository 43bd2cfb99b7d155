/**
 * A stable grouped layout for the service map.
 *
 * The first time a view (workload or pod) has data, every node is placed: namespaces (and the host-network
 * nodes, and everything outside the cluster) are groups; inside a group, nodes are seeded on a sunflower
 * spiral, busiest first, then a short d3-force run pulls talkers together and keeps nodes apart; groups are
 * then packed on shelves, in name order, with "outside the cluster" last.
 *
 * After that, positions never change on their own: live updates only place NEW nodes, in the free spot
 * nearest to their group (new groups are laid out the same way and packed below the map). Filters and scope hide nodes, they do not
 * move them (the layout is computed on the unfiltered graph). "Re-layout" is the user's explicit reshuffle.
 */
import { forceCollide, forceLink, forceSimulation, forceX, forceY, type SimulationLinkDatum, type SimulationNodeDatum } from 'd3-force';
import type { MapGraph, MapNode } from '../../src/core/view/map-graph';

export interface Point {
  x: number;
  y: number;
}

export interface GroupBounds extends Point {
  r: number;
}

const GOLDEN_ANGLE = Math.PI * (3 - Math.sqrt(5));
const SPACING = 46;
const GROUP_PADDING = 40;
const GROUP_GAP = 70;

export function nodeRadius(n: Pick<MapNode, 'kind'>): number {
  switch (n.kind) {
    case 'pod':
      return 8;
    case 'cloud-service':
    case 'internet':
      return 14;
    default:
      return 11;
  }
}

interface SimNode extends SimulationNodeDatum {
  id: string;
  r: number;
  /** Extra clearance for the label. */
  room: number;
}

interface LocalGroup {
  readonly id: string;
  readonly r: number;
  readonly nodes: readonly SimNode[];
}

export class MapLayout {
  private readonly positions = new Map<string, Point>();

  constructor(saved?: Record<string, [number, number]>) {
    for (const [id, [x, y]] of Object.entries(saved ?? {})) {
      this.positions.set(id, { x, y });
    }
  }

  position(id: string): Point | undefined {
    return this.positions.get(id);
  }

  get size(): number {
    return this.positions.size;
  }

  export(): Record<string, [number, number]> {
    const out: Record<string, [number, number]> = {};
    for (const [id, p] of this.positions) {
      out[id] = [p.x, p.y];
    }
    return out;
  }

  /** Places the graph's nodes that have no position yet; returns how many were placed. */
  update(graph: MapGraph): number {
    const missing = graph.nodes.filter((n) => !this.positions.has(n.id));
    if (missing.length === 0) {
      return 0;
    }
    if (missing.length === graph.nodes.length) {
      this.initial(graph);
    } else {
      this.incremental(graph, missing);
    }
    this.prune(graph);
    return missing.length;
  }

  /** Forgets every position and lays the graph out afresh. */
  relayout(graph: MapGraph): void {
    this.positions.clear();
    this.initial(graph);
  }

  /** The circle around each group's nodes (for drawing the group and fitting). */
  groupBounds(graph: MapGraph, visible?: (n: MapNode) => boolean): Map<string, GroupBounds> {
    const out = new Map<string, GroupBounds>();
    for (const g of graph.groups) {
      const pts = g.nodes.map((id) => graph.nodeById.get(id)!).filter((n) => (!visible || visible(n)) && this.positions.has(n.id));
      if (pts.length === 0) {
        continue;
      }
      let cx = 0;
      let cy = 0;
      for (const n of pts) {
        const p = this.positions.get(n.id)!;
        cx += p.x;
        cy += p.y;
      }
      cx /= pts.length;
      cy /= pts.length;
      let r = 0;
      for (const n of pts) {
        const p = this.positions.get(n.id)!;
        r = Math.max(r, Math.hypot(p.x - cx, p.y - cy) + nodeRadius(n));
      }
      out.set(g.id, { x: cx, y: cy, r: r + GROUP_PADDING });
    }
    return out;
  }

  private initial(graph: MapGraph): void {
    const locals = this.layoutGroups(graph, graph.groups.map((g) => g.id));
    const area = locals.reduce((sum, g) => sum + (2 * g.r + GROUP_GAP) ** 2, 0);
    this.pack(locals, 0, 0, Math.max(Math.sqrt(area) * 1.4, ...locals.map((g) => 2 * g.r)));
  }

  /** Each group's nodes around (0, 0): a sunflower seed, busiest first, refined by a short d3-force run. */
  private layoutGroups(graph: MapGraph, groupIds: readonly string[]): LocalGroup[] {
    const degree = new Map<string, number>();
    for (const l of graph.links) {
      degree.set(l.source, (degree.get(l.source) ?? 0) + 1);
      degree.set(l.target, (degree.get(l.target) ?? 0) + 1);
    }
    const groupOf = new Map(graph.nodes.map((n) => [n.id, n.group]));
    const wanted = new Set(groupIds);
    const local: LocalGroup[] = [];
    for (const g of graph.groups) {
      if (!wanted.has(g.id)) {
        continue;
      }
      const members = g.nodes
        .map((id) => graph.nodeById.get(id)!)
        .sort((a, b) => (degree.get(b.id) ?? 0) - (degree.get(a.id) ?? 0) || (a.id < b.id ? -1 : 1));
      const nodes: SimNode[] = members.map((n, i) => {
        const rr = SPACING * 0.62 * Math.sqrt(i + 0.5);
        // Room for the label too: long names (pods) get more space around them.
        return { id: n.id, r: nodeRadius(n), room: Math.min(36, n.name.length * 1.6), x: rr * Math.cos(i * GOLDEN_ANGLE), y: rr * Math.sin(i * GOLDEN_ANGLE) };
      });
      if (nodes.length > 1) {
        const ids = new Set(g.nodes);
        const links: SimulationLinkDatum<SimNode>[] = graph.links
          .filter((l) => l.source !== l.target && ids.has(l.source) && ids.has(l.target) && groupOf.get(l.source) === g.id)
          .map((l) => ({ source: l.source, target: l.target }));
        const sim = forceSimulation(nodes)
          .force('link', forceLink<SimNode, SimulationLinkDatum<SimNode>>(links).id((d) => d.id).distance(SPACING).strength(0.15))
          .force('collide', forceCollide<SimNode>((d) => d.r + SPACING * 0.32 + d.room).strength(0.9))
          .force('x', forceX(0).strength(0.05))
          .force('y', forceY(0).strength(0.05))
          .stop();
        sim.tick(nodes.length > 300 ? 40 : 70);
      }
      let r = 0;
      for (const n of nodes) {
        r = Math.max(r, Math.hypot(n.x!, n.y!) + n.r + n.room);
      }
      local.push({ id: g.id, r: r + GROUP_PADDING, nodes });
    }
    return local;
  }

  /** Shelf packing in the given order, from (x0, y0), rows at most rowWidth wide. */
  private pack(groups: readonly LocalGroup[], x0: number, y0: number, rowWidth: number): void {
    let x = 0;
    let y = 0;
    let rowHeight = 0;
    for (const g of groups) {
      const d = 2 * g.r;
      if (x > 0 && x + d > rowWidth) {
        x = 0;
        y += rowHeight + GROUP_GAP;
        rowHeight = 0;
      }
      for (const n of g.nodes) {
        this.positions.set(n.id, { x: x0 + x + g.r + n.x!, y: y0 + y + g.r + n.y! });
      }
      x += d + GROUP_GAP;
      rowHeight = Math.max(rowHeight, d);
    }
  }

  private incremental(graph: MapGraph, missing: MapNode[]): void {
    const bounds = this.groupBounds(graph, (n) => this.positions.has(n.id));
    // New nodes of groups already on the map: the free spot nearest to their group.
    const newGroups = new Set<string>();
    for (const n of missing) {
      const center = bounds.get(n.group);
      if (center) {
        this.positions.set(n.id, this.freeSpot(center, nodeRadius(n)));
      } else {
        newGroups.add(n.group);
      }
    }
    if (newGroups.size === 0) {
      return;
    }
    // Groups that were not on the map: laid out like the first time, packed below everything else.
    let minX = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (const p of this.positions.values()) {
      minX = Math.min(minX, p.x);
      maxX = Math.max(maxX, p.x);
      maxY = Math.max(maxY, p.y);
    }
    const locals = this.layoutGroups(graph, [...newGroups]);
    const area = locals.reduce((sum, g) => sum + (2 * g.r + GROUP_GAP) ** 2, 0);
    const width = Math.max(maxX - minX, Math.sqrt(area) * 1.4, ...locals.map((g) => 2 * g.r));
    this.pack(locals, minX - SPACING, maxY + GROUP_GAP * 2 + SPACING, width);
  }

  /** Drops the positions of nodes long gone, keeping the state small; recent ones stay for their return. */
  prune(graph: MapGraph): void {
    if (this.positions.size <= 2 * graph.nodes.length + 500) {
      return;
    }
    const keep = new Set(graph.nodes.map((n) => n.id));
    for (const id of [...this.positions.keys()]) {
      if (!keep.has(id)) {
        this.positions.delete(id);
      }
    }
  }

  private freeSpot(center: Point, r: number): Point {
    const taken = [...this.positions.values()];
    for (let i = 0; i < 5000; i++) {
      const rr = SPACING * 0.62 * Math.sqrt(i + 0.5);
      const p = { x: center.x + rr * Math.cos(i * GOLDEN_ANGLE), y: center.y + rr * Math.sin(i * GOLDEN_ANGLE) };
      if (taken.every((q) => Math.hypot(q.x - p.x, q.y - p.y) >= r + SPACING * 0.55)) {
        return p;
      }
    }
    return { x: center.x, y: center.y };
  }
}
