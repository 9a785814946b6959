// List semantics of comfyui-api.md §6.4: every input is a list; a node is called once per index
// (shorter lists repeat their last element) unless it takes whole lists; outputs merge per slot.

import type { NodeResult, OutputSpec, UiOutput } from '../graph/index.ts';

/** The argument objects of each call: one call with whole lists for inputIsList nodes, else one
 *  per index up to the longest list (one call for a node without inputs). */
export function splitCalls(inputs: Record<string, unknown[]>, inputIsList: boolean): Record<string, unknown>[] {
  if (inputIsList) return [{ ...inputs }];
  const names = Object.keys(inputs);
  for (const name of names) {
    if (inputs[name].length === 0) {
      throw new Error(`input "${name}" received an empty list, so there is nothing to call the node with; check the node that feeds it`);
    }
  }
  const count = Math.max(1, ...names.map((name) => inputs[name].length));
  const calls: Record<string, unknown>[] = [];
  for (let index = 0; index < count; index++) {
    const call: Record<string, unknown> = {};
    for (const name of names) {
      const list = inputs[name];
      call[name] = list[Math.min(index, list.length - 1)];
    }
    calls.push(call);
  }
  return calls;
}

export interface MergedResult {
  outputs: unknown[][];
  /** Undefined when no call produced UI output. */
  ui?: UiOutput;
}

/** Joins the per-call results: isList slots concatenate, other slots collect one value per call;
 *  UI dicts concatenate key by key. Checks each result's shape, naming what was wrong. */
export function mergeResults(results: readonly NodeResult[], specs: readonly OutputSpec[]): MergedResult {
  const outputs: unknown[][] = specs.map(() => []);
  let ui: UiOutput | undefined;
  results.forEach((result, call) => {
    checkResultShape(result, specs, call);
    specs.forEach((spec, slot) => {
      const value = result.outputs[slot];
      if (!spec.isList) outputs[slot].push(value);
      else if (Array.isArray(value)) outputs[slot].push(...value);
      else throw new Error(`output ${slot} (${spec.type}) is declared as a list but call ${call} returned ${typeof value}, not an array`);
    });
    if (result.ui) ui = mergeUi(ui ?? {}, result.ui);
  });
  return ui && Object.keys(ui).length > 0 ? { outputs, ui } : { outputs };
}

function checkResultShape(result: unknown, specs: readonly OutputSpec[], call: number): asserts result is NodeResult {
  const outputs = (result as Partial<NodeResult> | null)?.outputs;
  if (!Array.isArray(outputs)) {
    throw new Error(`call ${call} returned ${describeType(result)} instead of {outputs: [...]}`);
  }
  if (outputs.length !== specs.length) {
    throw new Error(`call ${call} returned ${outputs.length} outputs but the node declares ${specs.length}`);
  }
}

function mergeUi(into: UiOutput, more: UiOutput): UiOutput {
  for (const [key, values] of Object.entries(more)) {
    into[key] = [...(into[key] ?? []), ...(Array.isArray(values) ? values : [values])];
  }
  return into;
}

function describeType(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
