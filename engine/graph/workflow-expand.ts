// Flattens the two ways ComfyUI's frontend nests nodes into one plain graph, before the UI → API
// conversion (docs/workflow-formats.md):
//  - subgraphs: `definitions.subgraphs[]` holds each definition; a node whose type is a
//    definition's id is an instance. Its inner nodes run as `<instance id>:<inner id>` (nested:
//    `1:2:3`), as the frontend's ExecutableNodeDTO names them.
//  - group nodes (legacy): `extra.groupNodes[name]` holds the inner nodes in clipboard form; a node
//    typed "workflow>name" (or the older "workflow/name") is an instance; inner node i runs as
//    `<instance id>:<i>`.
// The instance's boundary becomes editor-only nodes the converter already resolves: a Reroute per
// subgraph input/output (so links pass through nested levels and pass-throughs alike), and a
// PrimitiveNode carrying the instance's widget value when an input is a promoted widget.
// Pure: no imports at run time besides the error class, so the browser editor bundles it too.
import type { NodeInfo } from './object-info.ts';
import { inputEntries, widgetDefault } from './node-inputs.ts';
import { WorkflowError, type UiLink, type UiNode, type UiNodeId, type UiWorkflow } from './workflow-types.ts';

export type NodeInfoLookup = (classType: string) => NodeInfo | undefined;

/** Most nodes a flattened workflow may have: nested instances multiply, so a small file could
 *  otherwise expand into millions of nodes. */
export const MAX_EXPANDED_NODES = 20_000;
const MAX_DEPTH = 32;
const SUBGRAPH_INPUT = -10;
const SUBGRAPH_OUTPUT = -20;
const MODE_MUTED = 2;
const MODE_BYPASS = 4;
const SEED_NAMES = new Set(['seed', 'noise_seed']);

interface SubgraphIo {
  name: string;
  type?: unknown;
}

interface SubgraphDefinition {
  id: string;
  name?: string;
  nodes: UiNode[];
  links: unknown[];
  inputs?: SubgraphIo[];
  outputs?: SubgraphIo[];
}

interface GroupNodeData {
  nodes: UiNode[];
  /** `[origin index, origin slot, target index, target slot, origin id, type]`. */
  links: unknown[][];
  /** `[node index, output slot, type]`: outputs linked outside the group when it was made. */
  external?: unknown[][];
  config?: Record<string, { input?: Record<string, { visible?: boolean }>; output?: Record<string, { visible?: boolean }> }>;
}

interface Context {
  subgraphs: Map<string, SubgraphDefinition>;
  groupNodes: Map<string, GroupNodeData>;
  lookup: NodeInfoLookup;
  nextLink: number;
  nodeCount: number;
}

/** A level of the graph being built: nodes by id and links by id, ids already final. */
interface Level {
  nodes: UiNode[];
  links: Map<number, UiLink>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether the workflow nests nodes (so expandWorkflow has work to do). */
export function hasNestedNodes(workflow: UiWorkflow): boolean {
  const { subgraphs, groupNodes } = nestedDefinitions(workflow);
  return workflow.nodes.some((node) => subgraphs.has(node.type) || groupNodes.has(groupName(node.type) ?? ''));
}

function nestedDefinitions(workflow: UiWorkflow): Pick<Context, 'subgraphs' | 'groupNodes'> {
  const subgraphs = new Map<string, SubgraphDefinition>();
  const definitions = workflow.definitions;
  const list = isObject(definitions) && Array.isArray(definitions.subgraphs) ? definitions.subgraphs : [];
  for (const item of list) {
    if (isObject(item) && typeof item.id === 'string' && Array.isArray(item.nodes)) subgraphs.set(item.id, item as unknown as SubgraphDefinition);
  }
  const groupNodes = new Map<string, GroupNodeData>();
  const extra = workflow.extra;
  const groups = isObject(extra) && isObject(extra.groupNodes) ? extra.groupNodes : {};
  for (const [name, data] of Object.entries(groups)) {
    if (isObject(data) && Array.isArray(data.nodes)) groupNodes.set(name, { links: [], ...data } as unknown as GroupNodeData);
  }
  return { subgraphs, groupNodes };
}

/** "workflow>name" (frontend ≥ 1.2.63) or "workflow/name" (older): the group node's name. */
function groupName(type: string): string | undefined {
  const match = /^workflow[>/](.+)$/.exec(type);
  return match?.[1];
}

/** Links as `[id, origin, origin slot, target, target slot, type]`; subgraph definitions save
 *  them as objects (the version-1 form). */
function linkTuple(link: unknown, where: string): UiLink {
  if (Array.isArray(link) && link.length >= 5) return [Number(link[0]), link[1], Number(link[2]), link[3], Number(link[4]), link[5] ?? '*'];
  if (isObject(link) && typeof link.id === 'number') {
    return [link.id, link.origin_id as UiNodeId, Number(link.origin_slot), link.target_id as UiNodeId, Number(link.target_slot), link.type ?? '*'];
  }
  throw new WorkflowError([`${where}: a link is neither [id, origin, slot, target, slot, type] nor {id, origin_id, ...}`]);
}

function copyNode(node: UiNode, id: UiNodeId): UiNode {
  return {
    ...node,
    id,
    inputs: node.inputs?.map((slot) => ({ ...slot })),
    outputs: node.outputs?.map((slot) => ({ ...slot, links: slot.links ? [...slot.links] : slot.links })),
  };
}

function countNode(ctx: Context): void {
  if (++ctx.nodeCount > MAX_EXPANDED_NODES) {
    throw new WorkflowError([`the workflow expands into more than ${MAX_EXPANDED_NODES} nodes (subgraphs or group nodes nested too often)`]);
  }
}

function addLink(ctx: Context, level: Level, origin: UiNodeId, originSlot: number, target: UiNodeId, targetSlot: number, type: unknown): number {
  const id = ctx.nextLink++;
  level.links.set(id, [id, origin, originSlot, target, targetSlot, type]);
  return id;
}

type Point = [number, number];

function nodePos(node: UiNode): Point | undefined {
  const pos = node.pos;
  return Array.isArray(pos) && typeof pos[0] === 'number' && typeof pos[1] === 'number' ? [pos[0], pos[1]] : undefined;
}

/** Moves `nodes` so their top-left corner sits at `at` (where the instance was), as the
 *  frontend's "convert to nodes" does; only the editor looks at positions. Returns the right edge. */
function place(nodes: UiNode[], at: Point): number {
  const points = nodes.map(nodePos).filter((p): p is Point => p !== undefined);
  if (points.length === 0) return at[0];
  const [left, top] = [Math.min(...points.map((p) => p[0])), Math.min(...points.map((p) => p[1]))];
  let right = at[0];
  for (const node of nodes) {
    const p = nodePos(node);
    if (!p) continue;
    const moved: Point = [p[0] - left + at[0], p[1] - top + at[1]];
    node.pos = moved;
    const width = Array.isArray(node.size) && typeof node.size[0] === 'number' ? node.size[0] : 200;
    right = Math.max(right, moved[0] + width);
  }
  return right;
}

/** Editor-only stand-in for one side of an instance boundary. */
function boundaryNode(ctx: Context, id: string, value: { widget: unknown } | undefined): UiNode {
  countNode(ctx);
  if (value) return { id, type: 'PrimitiveNode', inputs: [], outputs: [{ name: 'connect to widget input', links: [] }], widgets_values: [value.widget] };
  return { id, type: 'Reroute', inputs: [{ name: '', type: '*', link: null }], outputs: [{ name: '', type: '*', links: [] }] };
}

/**
 * Expands every subgraph instance and group node of a UI workflow (0.4 shape) into its inner
 * nodes; returns the workflow unchanged when it nests nothing. `lookup` gives the node
 * definitions group nodes need to map their inputs and widget values. Throws WorkflowError for a
 * definition that is missing, refers to itself, or would expand too far.
 */
export function expandWorkflow(workflow: UiWorkflow, lookup: NodeInfoLookup): UiWorkflow {
  if (!hasNestedNodes(workflow)) return workflow;
  const ctx: Context = { ...nestedDefinitions(workflow), lookup, nextLink: 1, nodeCount: 0 };
  const allLinks = [...workflow.links];
  for (const definition of ctx.subgraphs.values()) allLinks.push(...((Array.isArray(definition.links) ? definition.links : []) as UiLink[]));
  for (const link of allLinks) {
    const id = Array.isArray(link) ? Number(link[0]) : Number((link as { id?: unknown }).id);
    if (Number.isFinite(id)) ctx.nextLink = Math.max(ctx.nextLink, id + 1);
  }
  const level: Level = { nodes: [], links: new Map(workflow.links.map((link) => [link[0], [...link] as UiLink])) };
  for (const node of workflow.nodes) {
    countNode(ctx);
    level.nodes.push(copyNode(node, node.id));
  }
  expandLevel(ctx, level, []);
  return { ...workflow, nodes: level.nodes, links: [...level.links.values()] };
}

/** Replaces each instance in `level` by its inner nodes (recursively). `stack` holds the
 *  subgraph ids being expanded, to refuse a definition that contains itself. */
function expandLevel(ctx: Context, level: Level, stack: string[]): void {
  if (stack.length > MAX_DEPTH) throw new WorkflowError([`subgraphs are nested more than ${MAX_DEPTH} levels deep`]);
  for (const instance of [...level.nodes]) {
    const subgraph = ctx.subgraphs.get(instance.type);
    const group = subgraph ? undefined : ctx.groupNodes.get(groupName(instance.type) ?? '');
    if (!subgraph && !group) continue;
    // A muted instance runs nothing; a bypassed one passes its inputs through, as any node.
    if (instance.mode === MODE_MUTED || instance.mode === MODE_BYPASS) continue;
    if (subgraph) {
      if (stack.includes(subgraph.id)) throw new WorkflowError([`subgraph "${subgraph.name ?? subgraph.id}" contains an instance of itself (node ${String(instance.id)})`]);
      expandSubgraph(ctx, level, instance, subgraph, stack);
    } else {
      expandGroupNode(ctx, level, instance, group!);
    }
  }
}

/** The outer links that leave `instance`'s output `slot` now start at `origin` instead. */
function moveOutputLinks(level: Level, instance: UiNode, slot: number, origin: UiNodeId, originSlot: number): void {
  for (const link of level.links.values()) {
    if (String(link[1]) === String(instance.id) && link[2] === slot) {
      link[1] = origin;
      link[2] = originSlot;
    }
  }
}

function removeNode(level: Level, node: UiNode): void {
  level.nodes.splice(level.nodes.indexOf(node), 1);
}

function expandSubgraph(ctx: Context, level: Level, instance: UiNode, definition: SubgraphDefinition, stack: string[]): void {
  const prefix = String(instance.id);
  const where = `subgraph "${definition.name ?? definition.id}" (node ${prefix})`;
  // Inner links get fresh ids; the boundary links (to -10 / from -20) are wired below.
  const linkIds = new Map<number, number>();
  const inner: Level = { nodes: [], links: new Map() };
  const boundary: UiLink[] = [];
  for (const raw of Array.isArray(definition.links) ? definition.links : []) {
    const link = linkTuple(raw, where);
    if (Number(link[1]) === SUBGRAPH_INPUT || Number(link[3]) === SUBGRAPH_OUTPUT) {
      boundary.push(link);
      continue;
    }
    linkIds.set(link[0], addLink(ctx, inner, `${prefix}:${String(link[1])}`, link[2], `${prefix}:${String(link[3])}`, link[4], link[5]));
  }
  const innerIds = new Set<string>();
  for (const node of definition.nodes) {
    countNode(ctx);
    const copy = copyNode(node, `${prefix}:${String(node.id)}`);
    innerIds.add(String(node.id));
    for (const slot of copy.inputs ?? []) slot.link = slot.link === null || slot.link === undefined ? null : (linkIds.get(slot.link) ?? null);
    inner.nodes.push(copy);
  }

  const at = nodePos(instance) ?? [0, 0];
  const right = place(inner.nodes, at);

  // Subgraph inputs: the instance's input of the same name (a link), else its widget value.
  const inputs = definition.inputs ?? [];
  const widgetInputs = inputs.map((input, index) => boundary.some((l) => Number(l[1]) === SUBGRAPH_INPUT && l[2] === index && targetIsWidget(definition, l)));
  const widgetValues = Array.isArray(instance.widgets_values) ? instance.widgets_values : [];
  let widgetIndex = 0;
  const inputNodes: (string | undefined)[] = inputs.map((input, index) => {
    const id = `${prefix}:in:${index}`;
    const outer = instance.inputs?.find((slot) => slot.name === input.name);
    const value = widgetInputs[index] ? widgetValues[widgetIndex++] : undefined;
    const linked = outer?.link !== null && outer?.link !== undefined && level.links.has(outer.link);
    if (!linked && value === undefined) return undefined;
    const node = boundaryNode(ctx, id, linked ? undefined : { widget: value });
    if (linked) {
      const link = level.links.get(outer!.link!)!;
      link[3] = id;
      link[4] = 0;
      node.inputs![0].link = link[0];
    }
    node.pos = [at[0] - 120, at[1] + 40 * index];
    inner.nodes.push(node);
    return id;
  });
  const outputNodes = (definition.outputs ?? []).map((output, index) => {
    const node = boundaryNode(ctx, `${prefix}:out:${index}`, undefined);
    node.pos = [right + 60, at[1] + 40 * index];
    inner.nodes.push(node);
    moveOutputLinks(level, instance, index, node.id, 0);
    return node;
  });
  for (const link of boundary) {
    if (Number(link[1]) === SUBGRAPH_INPUT) {
      const from = inputNodes[link[2]];
      const target = inner.nodes.find((n) => n.id === `${prefix}:${String(link[3])}`);
      const slot = target?.inputs?.[link[4]];
      if (!from || !slot) continue;
      slot.link = addLink(ctx, inner, from, 0, target!.id, link[4], link[5]);
    } else if (innerIds.has(String(link[1]))) {
      const reroute = outputNodes[link[4]];
      if (reroute) reroute.inputs![0].link = addLink(ctx, inner, `${prefix}:${String(link[1])}`, link[2], reroute.id, 0, link[5]);
    }
  }
  // An input wired straight to an output: the output's reroute reads the input's stand-in.
  for (const link of boundary) {
    if (Number(link[1]) !== SUBGRAPH_INPUT || Number(link[3]) !== SUBGRAPH_OUTPUT) continue;
    const from = inputNodes[link[2]];
    const reroute = outputNodes[link[4]];
    if (from && reroute) reroute.inputs![0].link = addLink(ctx, inner, from, 0, reroute.id, 0, link[5]);
  }
  expandLevel(ctx, inner, [...stack, definition.id]);
  removeNode(level, instance);
  level.nodes.push(...inner.nodes);
  for (const [id, link] of inner.links) level.links.set(id, link);
}

/** Whether a boundary link ends at an input that is a widget on the inner node. */
function targetIsWidget(definition: SubgraphDefinition, link: UiLink): boolean {
  const target = definition.nodes.find((n) => String(n.id) === String(link[3]));
  return target?.inputs?.[link[4]]?.widget !== undefined;
}

/** One widget of a group node, in the order the group saves its widgets_values. */
interface GroupWidget {
  index: number;
  name: string;
  hasControl: boolean;
}

function expandGroupNode(ctx: Context, level: Level, instance: UiNode, data: GroupNodeData): void {
  const prefix = String(instance.id);
  const idOf = (index: number) => `${prefix}:${index}`;
  const linksTo = new Map<string, unknown[]>();
  const linksFrom = new Map<string, unknown[]>();
  for (const link of data.links) {
    if (!Array.isArray(link) || link[0] === null || link[0] === undefined) continue;
    linksTo.set(`${String(link[2])}:${String(link[3])}`, link);
    linksFrom.set(`${String(link[0])}:${String(link[1])}`, link);
  }
  const external = new Set((data.external ?? []).map((e) => `${String(e[0])}:${String(e[1])}`));

  // The group's sockets and widgets, in the frontend's GroupNodeConfig order: per inner node its
  // widgets, then its unlinked sockets; widgets converted to inputs come after all nodes.
  const widgets: GroupWidget[] = [];
  const sockets: { index: number; slot: number }[] = [];
  const converted: { index: number; slot: number; name: string; hasControl: boolean }[] = [];
  const outputs: { index: number; slot: number }[] = [];
  const inner: UiNode[] = data.nodes.map((node, index) => {
    countNode(ctx);
    const copy = copyNode(node, idOf(index));
    for (const slot of copy.inputs ?? []) slot.link = null;
    return copy;
  });
  inner.forEach((node, index) => {
    if (node.type === 'PrimitiveNode') {
      if ([...linksFrom.keys()].some((k) => k.startsWith(`${index}:`))) widgets.push({ index, name: 'value', hasControl: true });
      return;
    }
    const info = ctx.lookup(node.type);
    if (!info) return;
    const entries = inputEntries(info);
    const socketNames = entries.filter((e) => e.widget === undefined).map((e) => e.name);
    const nodeConverted: typeof converted = [];
    for (const entry of entries) {
      if (entry.widget === undefined) continue;
      const hasControl = entry.hasControl || SEED_NAMES.has(entry.name);
      const slot = node.inputs?.findIndex((input) => input.name === entry.name && input.widget?.name === entry.name) ?? -1;
      if (slot >= 0) nodeConverted.push({ index, slot, name: entry.name, hasControl });
      else widgets.push({ index, name: entry.name, hasControl });
    }
    socketNames.forEach((name, slot) => {
      if (linksTo.has(`${index}:${slot}`)) return;
      if (data.config?.[index]?.input?.[name]?.visible === false) return;
      sockets.push({ index, slot });
    });
    converted.push(...nodeConverted.filter((c) => !linksTo.has(`${index}:${c.slot}`)));
    info.output.forEach((_type, slot) => {
      const key = `${index}:${slot}`;
      const visible = data.config?.[index]?.output?.[slot]?.visible ?? !(linksFrom.has(key) && !external.has(key));
      if (visible) outputs.push({ index, slot });
    });
  });
  for (const c of converted) {
    sockets.push({ index: c.index, slot: c.slot });
    widgets.push({ index: c.index, name: c.name, hasControl: c.hasControl });
  }

  // Group widget values go to the inner widget of the same name (the primitive's own value).
  const values = Array.isArray(instance.widgets_values) ? instance.widgets_values : [];
  const overrides = new Map<number, Record<string, unknown>>();
  let position = 0;
  for (const widget of widgets) {
    if (position >= values.length) break;
    const value = values[position++];
    if (widget.hasControl) position++;
    if (value === undefined) continue;
    const target = overrides.get(widget.index) ?? {};
    target[widget.name] = value;
    overrides.set(widget.index, target);
  }
  for (const [index, set] of overrides) {
    const node = inner[index];
    if (node.type === 'PrimitiveNode') node.widgets_values = [set.value];
    else node.widgets_values = mergedWidgetValues(ctx, node, set);
  }

  // Inner links, then the group's sockets and outputs.
  for (const link of data.links) {
    if (!Array.isArray(link) || link[0] === null || link[0] === undefined) continue;
    const [from, fromSlot, to, toSlot] = [Number(link[0]), Number(link[1]), Number(link[2]), Number(link[3])];
    const target = inner[to]?.inputs?.[toSlot];
    if (!inner[from] || !target) continue;
    target.link = addLink(ctx, level, idOf(from), fromSlot, idOf(to), toSlot, link[5] ?? '*');
  }
  sockets.forEach(({ index, slot }, k) => {
    const outer = instance.inputs?.[k]?.link;
    const link = outer === null || outer === undefined ? undefined : level.links.get(outer);
    const target = inner[index]?.inputs?.[slot];
    if (!link || !target) return;
    link[3] = idOf(index);
    link[4] = slot;
    target.link = link[0];
  });
  outputs.forEach(({ index, slot }, k) => moveOutputLinks(level, instance, k, idOf(index), slot));
  place(inner, nodePos(instance) ?? [0, 0]);
  removeNode(level, instance);
  level.nodes.push(...inner);
}

/** An inner node's widgets_values with the group's values for some widgets, in the node's own
 *  order (control values kept), so the editor shows them as well as the converter reads them. */
function mergedWidgetValues(ctx: Context, node: UiNode, set: Record<string, unknown>): UiNode['widgets_values'] {
  const saved = node.widgets_values;
  const info = ctx.lookup(node.type);
  if (!info || (saved !== undefined && !Array.isArray(saved))) return { ...(saved ?? {}), ...set };
  const values: unknown[] = [];
  let position = 0;
  for (const entry of inputEntries(info)) {
    if (entry.widget === undefined) continue;
    const own = saved?.[position++];
    values.push(Object.hasOwn(set, entry.name) ? set[entry.name] : (own ?? widgetDefault(entry)));
    if (entry.hasControl) values.push(saved?.[position++] ?? 'fixed');
  }
  return values;
}
