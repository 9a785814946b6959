// Browser-side UI workflow → API prompt conversion, with the rules the server's
// engine/graph workflowToPrompt follows (comfyui-api.md §5.1, §5.3): virtual nodes skipped,
// muted nodes dropped, bypassed nodes rewired, reroutes and primitives resolved.
import type { ApiPrompt, PromptInputValue, UiLink, UiNode, UiWorkflow } from '../../engine/graph/index.ts';
import { widgetEntries, type ObjectInfo } from './node-info.ts';
import { typesMatch } from './type-match.ts';

const VIRTUAL_TYPES = new Set(['Reroute', 'PrimitiveNode', 'Note', 'MarkdownNote']);
const MODE_MUTED = 2;
const MODE_BYPASS = 4;

type Source = { kind: 'link'; link: [string, number] } | { kind: 'value'; value: PromptInputValue } | { kind: 'none' };

interface GraphIndex {
  nodes: Map<string, UiNode>;
  links: Map<number, UiLink>;
}

/** Arrays mean links in the API format, so a list-valued widget travels as {__value__: [...]}. */
function promptValue(value: unknown): PromptInputValue {
  return Array.isArray(value) ? { __value__: value } : (value as PromptInputValue);
}

/** The API inputs a node's widgets_values stand for (control values skipped, extras ignored). */
export function widgetInputs(info: ObjectInfo[string], values: UiNode['widgets_values']): Record<string, PromptInputValue> {
  const inputs: Record<string, PromptInputValue> = {};
  if (values === undefined || values === null) return inputs;
  const entries = widgetEntries(info);
  if (!Array.isArray(values)) {
    for (const { name } of entries) if (Object.hasOwn(values, name)) inputs[name] = promptValue(values[name]);
    return inputs;
  }
  let index = 0;
  for (const entry of entries) {
    if (index >= values.length) break;
    const value = values[index++];
    if (value !== undefined) inputs[entry.name] = promptValue(value);
    if (entry.hasControl) index++;
  }
  return inputs;
}

function primitiveValue(node: UiNode): Source {
  const values = node.widgets_values;
  const value = Array.isArray(values) ? values[0] : values?.value;
  return value === undefined ? { kind: 'none' } : { kind: 'value', value: promptValue(value) };
}

/** The input of a bypassed node standing in for output `slot`: same index if its type fits. */
function bypassInput(node: UiNode, slot: number, type: unknown): number {
  const inputs = node.inputs ?? [];
  const fits = (t: unknown) => typesMatch(t ?? '*', type ?? '*');
  if (inputs[slot] && fits(inputs[slot].type)) return slot;
  return inputs.findIndex((input) => fits(input.type));
}

function resolveLink(linkId: number, graph: GraphIndex, seen: Set<string>): Source {
  const link = graph.links.get(linkId);
  const origin = link ? graph.nodes.get(String(link[1])) : undefined;
  if (!link || !origin) return { kind: 'none' };
  const id = String(origin.id);
  if (seen.has(id)) throw new Error(`Node ${id} (${origin.type}): reroutes or bypassed nodes form a loop; remove one of its links.`);
  seen.add(id);
  if (origin.type === 'Reroute') return resolveInput(origin, 0, graph, seen);
  if (origin.type === 'PrimitiveNode') return primitiveValue(origin);
  if (VIRTUAL_TYPES.has(origin.type) || origin.mode === MODE_MUTED) return { kind: 'none' };
  if (origin.mode === MODE_BYPASS) {
    const type = origin.outputs?.[link[2]]?.type ?? link[5];
    return resolveInput(origin, bypassInput(origin, link[2], type), graph, seen);
  }
  return { kind: 'link', link: [id, link[2]] };
}

function resolveInput(node: UiNode, index: number, graph: GraphIndex, seen: Set<string>): Source {
  const linkId = node.inputs?.[index]?.link;
  return linkId === null || linkId === undefined ? { kind: 'none' } : resolveLink(linkId, graph, seen);
}

/** Converts a saved (0.4) workflow into the prompt POST /prompt runs. */
export function graphToPrompt(workflow: UiWorkflow, objectInfo: ObjectInfo): ApiPrompt {
  const graph: GraphIndex = {
    nodes: new Map(workflow.nodes.map((node) => [String(node.id), node])),
    links: new Map((workflow.links ?? []).map((link) => [link[0], link])),
  };
  const prompt: ApiPrompt = {};
  for (const node of workflow.nodes) {
    if (VIRTUAL_TYPES.has(node.type) || node.mode === MODE_MUTED || node.mode === MODE_BYPASS) continue;
    const info = objectInfo[node.type];
    const inputs = info ? widgetInputs(info, node.widgets_values) : {};
    for (const [index, slot] of (node.inputs ?? []).entries()) {
      const source = resolveInput(node, index, graph, new Set());
      const name = slot.widget?.name ?? slot.name;
      if (source.kind === 'link') inputs[name] = source.link;
      else if (source.kind === 'value') inputs[name] = source.value;
    }
    const title = node.title ?? info?.display_name ?? info?.name ?? node.type;
    prompt[String(node.id)] = { class_type: node.type, inputs, _meta: { title } };
  }
  return prompt;
}
