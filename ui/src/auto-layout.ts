// Lays a graph out in columns by link depth (a small Sugiyama-style layout), and finds what makes a
// layout hard to read: overlapping nodes and links drawn behind a third node. Pure geometry on
// boxes and links, so the editor's Arrange, the workflow layout tool and the tests share it.

/** A node as the layout sees it: its full rectangle (title bar included) and its sockets. */
export interface LayoutBox {
  id: string;
  width: number;
  height: number;
  /** Where each input / output socket is, relative to the box's top-left corner. */
  inputs: [number, number][];
  outputs: [number, number][];
}

export interface LayoutLink {
  from: string;
  fromSlot: number;
  to: string;
  toSlot: number;
}

/** A placed box: top-left corner of the full rectangle (title bar included). */
export interface Placed {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LayoutOptions {
  /** Horizontal room between columns (links curve there). */
  columnGap?: number;
  /** Vertical room between nodes in a column. */
  rowGap?: number;
}

const DUMMY_HEIGHT = 24;
const SAMPLES = 100;
/** A point this far inside a rectangle counts as behind it (a link grazing an edge is fine). */
const INSET = 3;

/** Points along the link as litegraph draws it (a spline whose handles are a quarter of its length). */
export function linkPath(a: [number, number], b: [number, number], samples = SAMPLES): [number, number][] {
  const d = Math.hypot(b[0] - a[0], b[1] - a[1]) * 0.25;
  const c1 = [a[0] + d, a[1]];
  const c2 = [b[0] - d, b[1]];
  const points: [number, number][] = [];
  for (let k = 1; k < samples; k++) {
    const t = k / samples;
    const u = 1 - t;
    const at = (j: 0 | 1) => u * u * u * a[j] + 3 * u * u * t * c1[j] + 3 * u * t * t * c2[j] + t * t * t * b[j];
    points.push([at(0), at(1)]);
  }
  return points;
}

function socket(boxes: Map<string, LayoutBox>, at: Map<string, Placed>, id: string, slot: number, side: 'inputs' | 'outputs'): [number, number] | undefined {
  const box = boxes.get(id);
  const place = at.get(id);
  const offset = box?.[side][slot];
  if (!box || !place || !offset) return undefined;
  // Outputs sit on the right edge: they follow a box placed wider than it was measured.
  const dx = side === 'outputs' ? place.width - box.width : 0;
  return [place.x + offset[0] + dx, place.y + offset[1]];
}

function inside(r: Placed, [x, y]: [number, number]): boolean {
  return x > r.x + INSET && x < r.x + r.width - INSET && y > r.y + INSET && y < r.y + r.height - INSET;
}

function overlap(a: Placed, b: Placed): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

export interface LayoutProblem {
  kind: 'overlap' | 'behind';
  message: string;
  /** For 'behind': the node the link passes behind, and the link's drawn points. */
  node?: string;
  path?: [number, number][];
}

/** Overlapping nodes, and links that pass behind a node other than their two ends. */
export function findLayoutProblems(boxes: LayoutBox[], placed: Map<string, Placed>, links: LayoutLink[]): LayoutProblem[] {
  const byId = new Map(boxes.map((b) => [b.id, b]));
  const problems: LayoutProblem[] = [];
  const ids = boxes.map((b) => b.id).filter((id) => placed.has(id));
  for (const [i, a] of ids.entries()) {
    for (const b of ids.slice(i + 1)) {
      if (overlap(placed.get(a)!, placed.get(b)!)) problems.push({ kind: 'overlap', message: `nodes ${a} and ${b} overlap` });
    }
  }
  for (const link of links) {
    const a = socket(byId, placed, link.from, link.fromSlot, 'outputs');
    const b = socket(byId, placed, link.to, link.toSlot, 'inputs');
    if (!a || !b) continue;
    const path = linkPath(a, b);
    for (const id of ids) {
      if (id === link.from || id === link.to) continue;
      const rect = placed.get(id)!;
      if (path.some((p) => inside(rect, p))) {
        problems.push({ kind: 'behind', message: `link ${link.from}→${link.to} passes behind node ${id}`, node: id, path });
        break;
      }
    }
  }
  return problems;
}

/** Column of each node: longest chain of links above it, then pulled right next to its consumers. */
function columns(ids: string[], links: LayoutLink[]): Map<string, number> {
  const parents = new Map(ids.map((id) => [id, [] as string[]]));
  const children = new Map(ids.map((id) => [id, [] as string[]]));
  for (const l of links) {
    if (!parents.has(l.to) || !children.has(l.from) || l.from === l.to) continue;
    parents.get(l.to)!.push(l.from);
    children.get(l.from)!.push(l.to);
  }
  const column = new Map<string, number>();
  const order: string[] = [];
  const visit = (id: string, trail: Set<string>): number => {
    const known = column.get(id);
    if (known !== undefined) return known;
    if (trail.has(id)) return 0; // a cycle (not runnable anyway): cut it here
    trail.add(id);
    const value = Math.max(0, ...parents.get(id)!.map((p) => visit(p, trail) + 1));
    trail.delete(id);
    column.set(id, value);
    order.push(id);
    return value;
  };
  for (const id of ids) visit(id, new Set());
  // Consumers before producers: a node with slack moves to the column just left of its nearest consumer.
  for (const id of [...order].reverse()) {
    const next = children.get(id)!.map((c) => column.get(c)!).filter((c) => c > column.get(id)!);
    if (next.length > 0) column.set(id, Math.max(column.get(id)!, Math.min(...next) - 1));
  }
  return column;
}

/**
 * Places `boxes` in columns by link depth: links run left to right, each node level with the
 * sockets it connects to where its column leaves room, and nodes moved off links that would
 * pass behind them. Returns the top-left corner of each box.
 */
export function columnLayout(boxes: LayoutBox[], links: LayoutLink[], options: LayoutOptions = {}): Map<string, Placed> {
  const columnGap = options.columnGap ?? 60;
  const rowGap = options.rowGap ?? 30;
  const byId = new Map(boxes.map((b) => [b.id, b]));
  const valid = links.filter((l) => byId.has(l.from) && byId.has(l.to) && l.from !== l.to);
  const column = columns(boxes.map((b) => b.id), valid);

  // Long links get a placeholder in every column they cross, so the columns keep a lane for them.
  interface Item {
    id: string;
    height: number;
    dummy: boolean;
    /** Neighbours: [item id, my socket y offset, their socket y offset]. */
    up: [string, number, number][];
    down: [string, number, number][];
  }
  const items = new Map<string, Item>();
  for (const b of boxes) items.set(b.id, { id: b.id, height: b.height, dummy: false, up: [], down: [] });
  for (const [index, l] of valid.entries()) {
    const from = byId.get(l.from)!;
    const to = byId.get(l.to)!;
    let previous = l.from;
    let previousY = from.outputs[l.fromSlot]?.[1] ?? from.height / 2;
    for (let c = column.get(l.from)! + 1; c < column.get(l.to)!; c++) {
      const id = `~${index}.${c}`;
      items.set(id, { id, height: DUMMY_HEIGHT, dummy: true, up: [[previous, DUMMY_HEIGHT / 2, previousY]], down: [] });
      items.get(previous)!.down.push([id, previousY, DUMMY_HEIGHT / 2]);
      column.set(id, c);
      previous = id;
      previousY = DUMMY_HEIGHT / 2;
    }
    const inputY = to.inputs[l.toSlot]?.[1] ?? to.height / 2;
    items.get(l.to)!.up.push([previous, inputY, previousY]);
    items.get(previous)!.down.push([l.to, previousY, inputY]);
  }

  const count = Math.max(0, ...column.values()) + 1;
  const layers: Item[][] = Array.from({ length: count }, () => []);
  for (const item of items.values()) layers[column.get(item.id)!].push(item);
  // Unlinked nodes (notes) start at the top of their column, where a user reads first.
  for (const layer of layers) layer.sort((a, b) => Number(a.up.length + a.down.length > 0) - Number(b.up.length + b.down.length > 0));
  const y = new Map<string, number>();
  for (const layer of layers) {
    let top = 0;
    for (const item of layer) {
      y.set(item.id, top);
      top += item.height + rowGap;
    }
  }

  const desired = (item: Item, side: 'up' | 'down'): number => {
    const neighbours = item[side].length > 0 ? item[side] : item[side === 'up' ? 'down' : 'up'];
    if (neighbours.length === 0) return y.get(item.id)!;
    return neighbours.reduce((sum, [other, mine, theirs]) => sum + y.get(other)! + theirs - mine, 0) / neighbours.length;
  };
  const place = (layer: Item[], side: 'up' | 'down') => {
    const wanted = new Map(layer.map((item) => [item.id, desired(item, side)]));
    layer.sort((a, b) => wanted.get(a.id)! - wanted.get(b.id)!);
    const gap = (i: number) => (layer[i - 1].dummy || layer[i].dummy ? rowGap / 3 : rowGap);
    const offsets: number[] = [];
    let offset = 0;
    for (let i = 0; i < layer.length; i++) {
      if (i > 0) offset += layer[i - 1].height + gap(i);
      offsets.push(offset);
    }
    const solved = isotonic(layer.map((item, i) => wanted.get(item.id)! - offsets[i]), layer.map((item) => (item.dummy ? 0.5 : 1)));
    layer.forEach((item, i) => y.set(item.id, solved[i] + offsets[i]));
  };
  // Alternate sweeps: align with producers (left to right), then with consumers (right to left);
  // the last sweep aligns inputs with the outputs that feed them.
  for (let sweep = 0; sweep < 8; sweep++) {
    const side = sweep % 2 === 0 ? 'up' : 'down';
    const order = side === 'up' ? layers : [...layers].reverse();
    for (const layer of order) place(layer, side);
  }

  const widths = layers.map((layer) => Math.max(0, ...layer.filter((i) => !i.dummy).map((i) => byId.get(i.id)!.width)));
  const left: number[] = [];
  let x = 0;
  for (const width of widths) {
    left.push(x);
    x += width + columnGap;
  }
  // Every node takes its column's width: links leave a column at its right edge, never from
  // inside it where a wider neighbour would hide them.
  const placed = new Map<string, Placed>();
  for (const b of boxes) placed.set(b.id, { x: left[column.get(b.id)!], y: y.get(b.id)!, width: widths[column.get(b.id)!], height: b.height });
  repairLinksBehindNodes(boxes, placed, valid, column, rowGap);
  const top = Math.min(...[...placed.values()].map((p) => p.y));
  for (const p of placed.values()) p.y -= top;
  return placed;
}

/** Moves `node` to `y` in its column (sorted top to bottom), pushing the nodes it would run into along. */
function moveInColumn(same: Placed[], node: Placed, y: number, rowGap: number): void {
  const index = same.indexOf(node);
  node.y = y;
  let bottom = node.y + node.height;
  for (const other of same.slice(index + 1)) {
    if (other.y < bottom + rowGap) other.y = bottom + rowGap;
    bottom = other.y + other.height;
  }
  let top = node.y;
  for (const other of same.slice(0, index).reverse()) {
    if (other.y + other.height > top - rowGap) other.y = top - rowGap - other.height;
    top = other.y;
  }
}

/**
 * A small local search: each step moves one node that hides a link to just above or below a link
 * crossing its column (pushing its column's other nodes along), the move that leaves the fewest
 * hidden links, never back to a layout already tried. Keeps the best layout found.
 */
function repairLinksBehindNodes(boxes: LayoutBox[], placed: Map<string, Placed>, links: LayoutLink[], column: Map<string, number>, rowGap: number): void {
  const margin = 12;
  const byId = new Map(boxes.map((b) => [b.id, b]));
  const hidden = () => findLayoutProblems(boxes, placed, links).filter((p) => p.kind === 'behind');
  const snapshot = () => new Map([...placed].map(([id, p]) => [id, p.y]));
  const restore = (ys: Map<string, number>) => ys.forEach((y, id) => (placed.get(id)!.y = y));
  const key = () => [...placed.values()].map((p) => Math.round(p.y)).join(',');
  const seen = new Set([key()]);
  let best = { ys: snapshot(), count: hidden().length };
  for (let round = 0; round < 150 && best.count > 0; round++) {
    const victims = [...new Set(hidden().map((p) => p.node!))];
    const before = snapshot();
    let chosen: { ys: Map<string, number>; count: number; distance: number; key: string } | undefined;
    for (const id of victims) {
      const node = placed.get(id)!;
      const same = [...placed.entries()].filter(([other]) => column.get(other) === column.get(id)).map(([, p]) => p).sort((a, b) => a.y - b.y);
      const spots = new Set<number>();
      for (const link of links) {
        const a = socket(byId, placed, link.from, link.fromSlot, 'outputs');
        const b = socket(byId, placed, link.to, link.toSlot, 'inputs');
        if (!a || !b || link.from === id || link.to === id) continue;
        // The whole stretch of the link that runs across the node's width.
        const ys = linkPath(a, b).filter(([x]) => x >= node.x - margin && x <= node.x + node.width + margin).map((p) => p[1]);
        if (ys.length === 0) continue;
        spots.add(Math.round(Math.min(...ys) - margin - node.height));
        spots.add(Math.round(Math.max(...ys) + margin));
      }
      for (const y of spots) {
        moveInColumn(same, node, y, rowGap);
        const state = key();
        if (!seen.has(state)) {
          const option = { ys: snapshot(), count: hidden().length, distance: Math.abs(y - before.get(id)!), key: state };
          if (!chosen || option.count < chosen.count || (option.count === chosen.count && option.distance < chosen.distance)) chosen = option;
        }
        restore(before);
      }
    }
    if (!chosen) break;
    restore(chosen.ys);
    seen.add(chosen.key);
    if (chosen.count < best.count) best = { ys: chosen.ys, count: chosen.count };
  }
  restore(best.ys);
}

/** Weighted least squares fit of a non-decreasing sequence (pool adjacent violators). */
export function isotonic(values: number[], weights: number[]): number[] {
  const blocks: { value: number; weight: number; count: number }[] = [];
  for (const [i, value] of values.entries()) {
    blocks.push({ value, weight: weights[i], count: 1 });
    while (blocks.length > 1 && blocks[blocks.length - 2].value > blocks[blocks.length - 1].value) {
      const b = blocks.pop()!;
      const a = blocks[blocks.length - 1];
      a.value = (a.value * a.weight + b.value * b.weight) / (a.weight + b.weight);
      a.weight += b.weight;
      a.count += b.count;
    }
  }
  return blocks.flatMap((b) => Array<number>(b.count).fill(b.value));
}
