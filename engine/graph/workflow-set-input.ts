// Writes a value set on the API prompt after conversion (the CLI's --set) back into the UI
// workflow, so the workflow a PNG carries reproduces the image when reopened: the widget's saved
// value changes, and a socket linked into that widget is disconnected (a link would win).
import { widgetDefault, widgetEntries } from './node-inputs.ts';
import type { NodeInfo } from './object-info.ts';
import { isLink } from './prompt-types.ts';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The id of a link in either saved form: `[id, ...]` (0.4) or `{id, ...}` (version 1). */
function linkId(link: unknown): unknown {
  return Array.isArray(link) ? link[0] : isObject(link) ? link.id : undefined;
}

function disconnect(workflow: JsonObject, id: number): void {
  if (Array.isArray(workflow.links)) workflow.links = workflow.links.filter((link) => linkId(link) !== id);
  for (const node of Array.isArray(workflow.nodes) ? workflow.nodes : []) {
    for (const output of isObject(node) && Array.isArray(node.outputs) ? node.outputs : []) {
      if (isObject(output) && Array.isArray(output.links)) output.links = output.links.filter((l) => l !== id);
    }
  }
}

/**
 * Sets widget `input` of top-level node `nodeId` in `workflow` (a parsed UI workflow, changed in
 * place) to `value`, an API input value. Returns false when the workflow cannot say it: no such
 * top-level node (inner nodes of subgraphs and group nodes share their definition), an input
 * that is not a widget, or a link value.
 */
export function setWorkflowInput(workflow: unknown, nodeId: string, input: string, value: unknown, info: NodeInfo | undefined): boolean {
  if (!isObject(workflow) || !Array.isArray(workflow.nodes) || !info || isLink(value)) return false;
  const node = workflow.nodes.find((n): n is JsonObject => isObject(n) && String(n.id) === nodeId);
  if (!node) return false;
  const entries = widgetEntries(info);
  if (!entries.some((entry) => entry.name === input)) return false;
  const saved = isObject(value) && Array.isArray(value.__value__) ? value.__value__ : value;

  if (isObject(node.widgets_values)) {
    node.widgets_values[input] = saved;
  } else {
    const values = Array.isArray(node.widgets_values) ? node.widgets_values : [];
    let position = 0;
    for (const entry of entries) {
      // A shorter list is filled the way the editor would have shown it.
      if (position >= values.length) values[position] = widgetDefault(entry);
      if (entry.name === input) values[position] = saved;
      position++;
      if (entry.hasControl) {
        if (position >= values.length) values[position] = 'fixed';
        position++;
      }
      if (entry.name === input) break;
    }
    node.widgets_values = values;
  }

  const slot = Array.isArray(node.inputs) ? node.inputs.find((s) => isObject(s) && (isObject(s.widget) ? s.widget.name : s.name) === input) : undefined;
  if (isObject(slot) && typeof slot.link === 'number') {
    disconnect(workflow, slot.link);
    slot.link = null;
  }
  return true;
}
