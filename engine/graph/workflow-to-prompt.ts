// Server-side UI workflow → API prompt conversion, following the editor's graphToPrompt
// (comfyui-api.md §5.1 "Frontend → API conversion", §5.3): virtual nodes, mute and bypass.
import type { DefinitionEnv, NodeRegistry } from './node-definition.ts';
import type { ApiPrompt, Link, PromptInputValue, PromptNode } from './prompt-types.ts';
import { checkPromptShape, parseWorkflow } from './schemas.ts';
import { toPromptValue, widgetValuesToInputs } from './workflow-widgets.ts';
import { WorkflowError, type UiLink, type UiNode, type UiWorkflow } from './workflow-types.ts';

/** Editor-only nodes: they never reach the API prompt. */
const VIRTUAL_TYPES = new Set(['Reroute', 'PrimitiveNode', 'Note', 'MarkdownNote']);
const MODE_MUTED = 2;
const MODE_BYPASS = 4;

interface GraphIndex {
  nodes: Map<string, UiNode>;
  links: Map<number, UiLink>;
}

/** What an input's link stands for once reroutes, primitives, mute and bypass are resolved. */
type Source = { kind: 'link'; link: Link } | { kind: 'value'; value: PromptInputValue } | { kind: 'none' };

function label(node: UiNode): string {
  return `node ${String(node.id)} (${node.type})`;
}

/** Indexes nodes and links, and checks that every link an input uses exists and starts at
 *  a node of the workflow. Unused stale entries in `links` are tolerated, as the editor does. */
function indexGraph(workflow: UiWorkflow): GraphIndex {
  const problems: string[] = [];
  const nodes = new Map<string, UiNode>();
  for (const node of workflow.nodes) {
    const id = String(node.id);
    if (nodes.has(id)) problems.push(`node id ${id} is used by more than one node`);
    nodes.set(id, node);
  }
  const links = new Map<number, UiLink>(workflow.links.map((link) => [link[0], link]));
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

function typeKey(type: unknown): string {
  return Array.isArray(type) ? type.map(String).join(',') : String(type ?? '*');
}

function typesCompatible(a: unknown, b: unknown): boolean {
  const [x, y] = [typeKey(a), typeKey(b)];
  return x === y || x === '*' || y === '*' || x === '' || y === '';
}

/** The input of a bypassed node that stands in for its output `slot`: the input at the same
 *  index when its type matches (keeps positive/negative pairs apart), else the first match. */
function bypassInput(node: UiNode, slot: number, type: unknown): number {
  const inputs = node.inputs ?? [];
  if (inputs[slot] && typesCompatible(inputs[slot].type, type)) return slot;
  return inputs.findIndex((input) => typesCompatible(input.type, type));
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

function convertNode(node: UiNode, graph: GraphIndex, registry: NodeRegistry): PromptNode {
  const definition = registry.get(node.type);
  // Without a definition the widget order is unknown, so only links can be kept; validation
  // then reports the unknown class.
  const inputs = definition ? widgetValuesToInputs(definition, node.widgets_values) : {};
  for (const [index, slot] of (node.inputs ?? []).entries()) {
    const source = resolveInput(node, index, graph, new Set());
    const name = slot.widget?.name ?? slot.name;
    // A linked widget socket: the link wins over the saved widget value (§5.3 rule 4).
    if (source.kind === 'link') inputs[name] = source.link;
    else if (source.kind === 'value') inputs[name] = source.value;
  }
  const title = node.title ?? definition?.displayName ?? definition?.name ?? node.type;
  return { class_type: node.type, inputs, _meta: { title } };
}

/** Converts a UI workflow (version 0.4 or 1) into the API prompt the executor runs. Throws
 *  WorkflowError when the file is malformed. `env` is accepted for symmetry with validation;
 *  conversion itself needs no folder. */
export function workflowToPrompt(workflow: unknown, registry: NodeRegistry, _env?: DefinitionEnv): ApiPrompt {
  const parsed = parseWorkflow(workflow);
  const graph = indexGraph(parsed);
  const prompt: ApiPrompt = {};
  for (const node of parsed.nodes) {
    if (VIRTUAL_TYPES.has(node.type) || node.mode === MODE_MUTED || node.mode === MODE_BYPASS) continue;
    prompt[String(node.id)] = convertNode(node, graph, registry);
  }
  return prompt;
}

/** 'ui' for an editor workflow (it has a `nodes` array), else 'api'. */
export function detectWorkflowFormat(json: unknown): 'api' | 'ui' {
  const isUi = typeof json === 'object' && json !== null && !Array.isArray(json) && Array.isArray((json as { nodes?: unknown }).nodes);
  return isUi ? 'ui' : 'api';
}

/** Reads either format into an API prompt; an API prompt is only shape-checked here
 *  (validatePrompt does the rest). Throws WorkflowError on a malformed document. */
export function loadWorkflow(json: unknown, registry: NodeRegistry, env?: DefinitionEnv): ApiPrompt {
  if (detectWorkflowFormat(json) === 'ui') return workflowToPrompt(json, registry, env);
  const problems = checkPromptShape(json);
  if (problems.length > 0) throw new WorkflowError(problems);
  return json as ApiPrompt;
}
