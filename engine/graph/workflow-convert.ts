// The one UI workflow → API prompt conversion, used by the server (workflow-to-prompt.ts, after
// its schema checks) and bundled into the browser editor (ui/src/graph-to-prompt.ts). It follows
// the frontend's graphToPrompt (comfyui-api.md §5.1, §5.3): subgraphs and group nodes expanded,
// editor-only nodes skipped, muted nodes dropped, bypassed nodes rewired, reroutes and primitives
// resolved, widget values mapped by the /object_info input order with the editor's defaults.
// Pure: it sees node definitions only as /object_info entries, which both sides have.
import { widgetDefault, widgetEntries } from './node-inputs.ts';
import type { ApiPrompt, Link, PromptInputValue, PromptNode } from './prompt-types.ts';
import { expandWorkflow, type NodeInfoLookup } from './workflow-expand.ts';
import { WorkflowError, type UiLink, type UiNode, type UiWorkflow } from './workflow-types.ts';
import type { NodeInfo } from './object-info.ts';

export type { NodeInfoLookup };

/** Editor-only nodes: they never reach the API prompt. */
export const VIRTUAL_TYPES: ReadonlySet<string> = new Set(['Reroute', 'PrimitiveNode', 'Note', 'MarkdownNote']);
const MODE_MUTED = 2;
const MODE_BYPASS = 4;

export interface Conversion {
  prompt: ApiPrompt;
  /** Things the conversion had to guess or drop, one line each (e.g. widget values of a node
   *  whose type this server does not know). */
  warnings: string[];
}

interface GraphIndex {
  nodes: Map<string, UiNode>;
  links: Map<number, UiLink>;
}

/** What an input's link stands for once reroutes, primitives, mute and bypass are resolved. */
type Source = { kind: 'link'; link: Link } | { kind: 'value'; value: PromptInputValue } | { kind: 'none' };

function label(node: UiNode): string {
  return `node ${String(node.id)} (${node.type})`;
}

/** ComfyUI's socket type matching (comfyui-api.md §6.2): equal names, "*" (or litegraph's 0 /
 *  ""), and comma lists ("FLOAT,INT") that share a name. */
export function socketTypesMatch(output: unknown, input: unknown): boolean {
  const a = typeName(output);
  const b = typeName(input);
  if (a === b || a === '*' || b === '*') return true;
  const left = a.split(',').map((t) => t.trim());
  const right = new Set(b.split(',').map((t) => t.trim()));
  return left.some((t) => t === '*' || right.has(t) || right.has('*'));
}

function typeName(type: unknown): string {
  if (Array.isArray(type)) return type.map(String).join(',');
  if (type === 0 || type === '' || type === undefined || type === null) return '*';
  return String(type);
}

/** Arrays mean links in the API format, so a list-valued widget travels as {__value__: [...]}. */
export function toPromptValue(value: unknown): PromptInputValue {
  return Array.isArray(value) ? { __value__: value } : (value as PromptInputValue);
}

/** The API inputs a node's saved widget values stand for, as the editor would send them: each
 *  widget starts at its default, then takes the saved value at its position (or of its name);
 *  control-after-generate values are skipped and values past the last widget ignored. */
export function widgetValuesToInputs(info: NodeInfo, values: UiNode['widgets_values'] | null): Record<string, PromptInputValue> {
  const inputs: Record<string, PromptInputValue> = {};
  const entries = widgetEntries(info);
  for (const entry of entries) {
    const fallback = widgetDefault(entry);
    if (fallback !== undefined) inputs[entry.name] = toPromptValue(fallback);
  }
  if (values === undefined || values === null) return inputs;
  if (!Array.isArray(values)) {
    for (const { name } of entries) if (Object.hasOwn(values, name) && values[name] !== undefined) inputs[name] = toPromptValue(values[name]);
    return inputs;
  }
  let index = 0;
  for (const entry of entries) {
    if (index >= values.length) break;
    const value = values[index++];
    if (value !== undefined) inputs[entry.name] = toPromptValue(value);
    // The control value ("fixed", "randomize", ... or legacy true/false) is never sent.
    if (entry.hasControl) index++;
  }
  return inputs;
}

/** Indexes nodes and links, and checks that every link an input uses exists and starts at a
 *  node of the workflow. Unused stale entries in `links` are tolerated, as the editor does. */
function indexGraph(workflow: UiWorkflow): GraphIndex {
  const problems: string[] = [];
  const nodes = new Map<string, UiNode>();
  for (const node of workflow.nodes) {
    const id = String(node.id);
    if (nodes.has(id)) problems.push(`node id ${id} is used by more than one node`);
    nodes.set(id, node);
  }
  const links = new Map<number, UiLink>((workflow.links ?? []).map((link) => [link[0], link]));
  for (const node of workflow.nodes) {
    for (const slot of node.inputs ?? []) {
      if (slot.link === null || slot.link === undefined) continue;
      const link = links.get(slot.link);
      if (!link) {
        problems.push(`${label(node)}: input '${slot.name}' uses link ${slot.link}, which is not in the workflow's links`);
      } else if (!nodes.has(String(link[1]))) {
        problems.push(`${label(node)}: input '${slot.name}' is linked (link ${slot.link}) from node ${String(link[1])}, which is not in the workflow`);
      }
    }
  }
  if (problems.length > 0) throw new WorkflowError(problems);
  return { nodes, links };
}

/** The input of a bypassed node that stands in for its output `slot`: the input at the same
 *  index when its type matches (keeps positive/negative pairs apart), else the first match. */
function bypassInput(node: UiNode, slot: number, type: unknown): number {
  const inputs = node.inputs ?? [];
  const fits = (t: unknown) => socketTypesMatch(t, type);
  if (inputs[slot] && fits(inputs[slot].type)) return slot;
  return inputs.findIndex((input) => fits(input.type));
}

function primitiveValue(node: UiNode): Source {
  const values = node.widgets_values;
  const value = Array.isArray(values) ? values[0] : values?.value;
  return value === undefined ? { kind: 'none' } : { kind: 'value', value: toPromptValue(value) };
}

/** Follows a link back to the node that really produces its value. `seen` stops loops of
 *  reroutes or bypassed nodes. */
function resolveLink(linkId: number, graph: GraphIndex, seen: Set<string>): Source {
  const link = graph.links.get(linkId)!;
  const origin = graph.nodes.get(String(link[1]))!;
  const originSlot = link[2];
  if (seen.has(String(origin.id))) {
    throw new WorkflowError([`${label(origin)}: reroutes or bypassed nodes form a loop; remove one of its links`]);
  }
  seen.add(String(origin.id));
  if (origin.type === 'Reroute') return resolveInput(origin, 0, graph, seen);
  if (origin.type === 'PrimitiveNode') return primitiveValue(origin);
  if (VIRTUAL_TYPES.has(origin.type) || origin.mode === MODE_MUTED) return { kind: 'none' };
  if (origin.mode === MODE_BYPASS) {
    const outputType = origin.outputs?.[originSlot]?.type ?? link[5];
    return resolveInput(origin, bypassInput(origin, originSlot, outputType), graph, seen);
  }
  return { kind: 'link', link: [String(origin.id), originSlot] };
}

function resolveInput(node: UiNode, index: number, graph: GraphIndex, seen: Set<string>): Source {
  const linkId = node.inputs?.[index]?.link;
  return linkId === null || linkId === undefined ? { kind: 'none' } : resolveLink(linkId, graph, seen);
}

function convertNode(node: UiNode, graph: GraphIndex, info: NodeInfo | undefined, warnings: string[]): PromptNode {
  // Without a definition the widget order is unknown, so only links can be kept; validation
  // then reports the unknown class.
  const inputs = info ? widgetValuesToInputs(info, node.widgets_values) : {};
  const saved = node.widgets_values;
  if (!info && saved && (Array.isArray(saved) ? saved.length > 0 : Object.keys(saved).length > 0)) {
    warnings.push(`${label(node)}: unknown node type, so its widget values ${JSON.stringify(saved).slice(0, 200)} were dropped`);
  }
  for (const [index, slot] of (node.inputs ?? []).entries()) {
    const source = resolveInput(node, index, graph, new Set());
    const name = slot.widget?.name ?? slot.name;
    // A linked widget socket: the link wins over the saved widget value (§5.3 rule 4).
    if (source.kind === 'link') inputs[name] = source.link;
    else if (source.kind === 'value') inputs[name] = source.value;
  }
  const title = node.title ?? info?.display_name ?? info?.name ?? node.type;
  return { class_type: node.type, inputs, _meta: { title } };
}

/** Converts a UI workflow (0.4 shape, already shape-checked by the caller) into the API prompt
 *  the executor runs. Throws WorkflowError when links or nested definitions are broken. */
export function convertWorkflow(workflow: UiWorkflow, lookup: NodeInfoLookup): Conversion {
  const flat = expandWorkflow(workflow, lookup);
  const graph = indexGraph(flat);
  const prompt: ApiPrompt = {};
  const warnings: string[] = [];
  for (const node of flat.nodes) {
    if (VIRTUAL_TYPES.has(node.type) || node.mode === MODE_MUTED || node.mode === MODE_BYPASS) continue;
    prompt[String(node.id)] = convertNode(node, graph, lookup(node.type), warnings);
  }
  return { prompt, warnings };
}
