// An API prompt turned into an editor workflow (0.4), so API-format files and PNGs that only
// carry a "prompt" chunk open too: widget values by input name, links, a column per depth.
import type { ApiPrompt, UiLink, UiNode, UiWorkflow } from '../../engine/graph/index.ts';
import { inputEntries, type ObjectInfo } from './node-info.ts';

const COLUMN_WIDTH = 340;
const ROW_HEIGHT = 320;

function isLink(value: unknown): value is [string, number] {
  return Array.isArray(value) && value.length === 2 && typeof value[1] === 'number';
}

/** Longest chain of links above each node, for a left-to-right layout. */
function depths(prompt: ApiPrompt): Map<string, number> {
  const depth = new Map<string, number>();
  const visit = (id: string, trail: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (trail.has(id) || !prompt[id]) return 0;
    trail.add(id);
    const parents = Object.values(prompt[id].inputs).filter(isLink).map((link) => visit(String(link[0]), trail) + 1);
    const value = Math.max(0, ...parents);
    depth.set(id, value);
    return value;
  };
  for (const id of Object.keys(prompt)) visit(id, new Set());
  return depth;
}

export function apiPromptToWorkflow(prompt: ApiPrompt, objectInfo: ObjectInfo): UiWorkflow {
  const ids = Object.keys(prompt);
  // Editor node ids are numbers: keep numeric ids, number the others after them.
  const numeric = new Map<string, number>();
  let next = Math.max(0, ...ids.map(Number).filter(Number.isInteger)) + 1;
  for (const id of ids) numeric.set(id, Number.isInteger(Number(id)) ? Number(id) : next++);
  const depth = depths(prompt);
  const rows = new Map<number, number>();
  const links: UiLink[] = [];
  const nodes: UiNode[] = ids.map((id) => {
    const { class_type: type, inputs, _meta } = prompt[id];
    const info = objectInfo[type];
    const column = depth.get(id) ?? 0;
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    const node: UiNode = { id: numeric.get(id)!, type, pos: [column * COLUMN_WIDTH, row * ROW_HEIGHT], size: [300, 200], flags: {}, order: 0, mode: 0, inputs: [], outputs: [], properties: {} };
    if (_meta?.title) node.title = _meta.title;
    const entries = info ? inputEntries(info) : Object.keys(inputs).map((name) => ({ name, type: '*', widget: undefined, hasControl: false, options: {} }));
    node.outputs = (info?.output ?? []).map((type, index) => ({ name: info!.output_name[index] ?? String(type), type, links: [] }));
    const values: unknown[] = [];
    for (const entry of entries) {
      const value = inputs[entry.name];
      if (isLink(value)) {
        const linkId = links.length + 1;
        links.push([linkId, numeric.get(String(value[0])) ?? -1, value[1], node.id as number, node.inputs!.length, entry.type]);
        node.inputs!.push({ name: entry.name, type: entry.type, link: linkId, ...(entry.widget ? { widget: { name: entry.name } } : {}) });
      } else if (entry.widget === undefined) {
        node.inputs!.push({ name: entry.name, type: entry.type, link: null });
      }
      if (entry.widget === undefined) continue;
      const plain = typeof value === 'object' && value !== null && '__value__' in value ? (value as { __value__: unknown }).__value__ : value;
      values.push(isLink(value) ? (entry.options.default ?? null) : plain);
      if (entry.hasControl) values.push('fixed');
    }
    node.widgets_values = values;
    return node;
  });
  for (const link of links) {
    const origin = nodes.find((n) => n.id === link[1]);
    if (!origin) continue;
    const info = objectInfo[origin.type];
    while (origin.outputs!.length <= link[2]) {
      const index = origin.outputs!.length;
      origin.outputs!.push({ name: info?.output_name[index] ?? '*', type: info?.output[index] ?? '*', links: [] });
    }
    origin.outputs![link[2]].links!.push(link[0]);
  }
  return { last_node_id: Math.max(0, ...nodes.map((n) => Number(n.id))), last_link_id: links.length, nodes, links, groups: [], config: {}, extra: {}, version: 0.4 };
}
