// The litegraph side of auto-layout: reads each node's full rectangle and socket positions as the
// editor draws them, lays the graph out in columns (auto-layout.ts) and checks a layout for
// overlapping nodes and links hidden behind nodes (the shipped workflows' test and Arrange).
import { LiteGraph, type LGraph, type LGraphNode } from '@comfyorg/litegraph';
import { columnLayout, findLayoutProblems, type LayoutBox, type LayoutLink, type Placed } from './auto-layout.ts';
import { fitTextAreaHeights } from './text-area-widget.ts';

function boxOf(node: LGraphNode): LayoutBox {
  const title = LiteGraph.NODE_TITLE_HEIGHT;
  const top = node.pos[1] - title;
  const relative = (p: ArrayLike<number>): [number, number] => [p[0] - node.pos[0], p[1] - top];
  return {
    id: String(node.id),
    width: node.size[0],
    height: node.size[1] + title,
    inputs: (node.inputs ?? []).map((_, i) => relative(node.getInputPos(i))),
    outputs: (node.outputs ?? []).map((_, i) => relative(node.getOutputPos(i))),
  };
}

function linksOf(graph: LGraph): LayoutLink[] {
  return [...graph._links.values()].map((l) => ({ from: String(l.origin_id), fromSlot: l.origin_slot, to: String(l.target_id), toSlot: l.target_slot }));
}

function placedOf(nodes: LGraphNode[]): Map<string, Placed> {
  const title = LiteGraph.NODE_TITLE_HEIGHT;
  return new Map(nodes.map((n) => [String(n.id), { x: n.pos[0], y: n.pos[1] - title, width: n.size[0], height: n.size[1] + title }]));
}

/** What the layout sees of the graph: each node's box and socket offsets, and the links. */
export function layoutInput(graph: LGraph): { boxes: LayoutBox[]; links: LayoutLink[] } {
  const nodes = graph._nodes.filter((n) => !n.flags.collapsed);
  for (const node of nodes) node.arrange();
  return { boxes: nodes.map(boxOf), links: linksOf(graph) };
}

/** Overlapping nodes and links drawn behind a third node, as readable lines (none: a clean layout). */
export function layoutProblems(graph: LGraph): string[] {
  const nodes = graph._nodes.filter((n) => !n.flags.collapsed);
  for (const node of nodes) node.arrange();
  return findLayoutProblems(nodes.map(boxOf), placedOf(nodes), linksOf(graph)).map((p) => p.message);
}

/**
 * Lays the graph out in columns by link depth. Each node first gets at least the size its
 * widgets need and room for its whole prompt text; groups are refitted around their nodes.
 */
export function arrangeGraph(graph: LGraph): void {
  const nodes = graph._nodes.filter((n) => !n.flags.collapsed);
  const members = graph._groups.map((group) => {
    group.recomputeInsideNodes();
    return { group, nodes: [...group._children].filter((c): c is LGraphNode => nodes.includes(c as LGraphNode)) };
  });
  for (const node of nodes) {
    const min = node.computeSize();
    node.setSize([Math.max(node.size[0], min[0]), Math.max(node.size[1], min[1])]);
    node.arrange();
    fitTextAreaHeights(node);
    node.arrange();
  }
  const title = LiteGraph.NODE_TITLE_HEIGHT;
  const placed = columnLayout(nodes.map(boxOf), linksOf(graph));
  for (const node of nodes) {
    const p = placed.get(String(node.id))!;
    node.pos = [Math.round(p.x), Math.round(p.y + title)];
    // A node takes its column's width (the layout keeps links from starting inside a column).
    node.setSize([p.width, node.size[1]]);
  }
  for (const { group, nodes: inside } of members) if (inside.length > 0) group.resizeTo(inside, 10);
  graph.setDirtyCanvas(true, true);
}
