// Runs one staged node (comfyui-api.md §6.4, §6.7): serve it from the cache, or resolve its
// inputs, ask for lazy inputs it needs, call `run` once per list index and store the result.

import { isLink, type InputGroups, type InputValues, type NodeContext, type NodeDefinition, type NodeResult } from '../graph/index.ts';
import { summarizeInputs } from './errors.ts';
import { isAvailable, type Job } from './job.ts';
import { mergeResults, splitCalls, type MergedResult } from './list-calls.ts';
import { isLazyInput, type ExecutionList } from './schedule.ts';

/** 'pending' when the node asked for lazy inputs and was re-queued behind them. */
export type NodeOutcome = 'done' | 'pending';

export async function runNode(job: Job, list: ExecutionList, nodeId: string): Promise<NodeOutcome> {
  const definition = definitionFor(job, nodeId);
  if (isAvailable(job, nodeId)) {
    serveFromCache(job, nodeId, definition);
    return 'done';
  }
  job.emit({ type: 'executing', data: { node: nodeId, display_node: nodeId, prompt_id: job.promptId } });
  const inputs = resolveInputs(job, nodeId, definition);
  job.currentInputs = summarizeInputs(inputs);
  const missingLazy = neededLazyInputs(job, nodeId, definition, inputs);
  if (missingLazy.length > 0) {
    list.requestLazy(nodeId, missingLazy);
    return 'pending';
  }
  const merged = await callNode(job, nodeId, definition, inputs);
  storeResult(job, nodeId, merged);
  return 'done';
}

function definitionFor(job: Job, nodeId: string): NodeDefinition {
  const classType = job.prompt[nodeId].class_type;
  const definition = job.registry.get(classType);
  if (!definition) throw new Error(`node ${nodeId} has class "${classType}", which is not registered`);
  return definition;
}

/** Output nodes (and any node with UI) still report their cached UI as `executed` (§3.3). */
function serveFromCache(job: Job, nodeId: string, definition: NodeDefinition): void {
  const entry = job.values.get(nodeId);
  if (definition.outputNode || entry?.ui) {
    job.emit({ type: 'executed', data: { node: nodeId, display_node: nodeId, output: entry?.ui ?? null, prompt_id: job.promptId } });
  }
  job.executed.push(nodeId);
}

/** Every input as a list (§6.4): constants of declared inputs as [value], links as the upstream
 *  slot's list, unevaluated lazy links as [undefined], hidden inputs injected. Undeclared
 *  constants are dropped; undeclared links are passed on (variadic nodes). */
function resolveInputs(job: Job, nodeId: string, definition: NodeDefinition): Record<string, unknown[]> {
  const declared = { ...definition.inputs.required, ...definition.inputs.optional };
  const inputs: Record<string, unknown[]> = {};
  for (const [name, value] of Object.entries(job.prompt[nodeId].inputs)) {
    if (!isLink(value)) {
      if (Object.hasOwn(declared, name)) inputs[name] = [value];
      continue;
    }
    const [upstream, slot] = value;
    if (isAvailable(job, upstream)) inputs[name] = upstreamSlot(job, upstream, slot, name);
    else if (isLazyInput(definition, name)) inputs[name] = [undefined];
    else throw new Error(`input "${name}" of node ${nodeId} needs node ${upstream}, which has not run (executor bug)`);
  }
  for (const [name, kind] of Object.entries(definition.inputs.hidden ?? {})) {
    if (kind === 'PROMPT') inputs[name] = [job.prompt];
    else if (kind === 'EXTRA_PNGINFO') inputs[name] = [job.extraData.extra_pnginfo];
    else inputs[name] = [nodeId];
  }
  return inputs;
}

function upstreamSlot(job: Job, upstream: string, slot: number, name: string): unknown[] {
  const outputs = job.values.get(upstream)?.outputs ?? [];
  if (slot < 0 || slot >= outputs.length) {
    throw new Error(`input "${name}" links to output ${slot} of node ${upstream}, which has ${outputs.length} outputs`);
  }
  return outputs[slot];
}

/** Lazy link inputs not yet evaluated that checkLazyStatus asks for, over every list index. */
function neededLazyInputs(job: Job, nodeId: string, definition: NodeDefinition, inputs: Record<string, unknown[]>): string[] {
  if (!definition.checkLazyStatus) return [];
  const unevaluated = Object.entries(job.prompt[nodeId].inputs)
    .filter(([name, value]) => isLink(value) && isLazyInput(definition, name) && !isAvailable(job, value[0]))
    .map(([name]) => name);
  if (unevaluated.length === 0) return [];
  const needed = new Set<string>();
  for (const call of splitCalls(inputs, definition.inputIsList === true)) {
    const names: unknown = definition.checkLazyStatus(call);
    if (!Array.isArray(names)) throw new Error(`checkLazyStatus returned ${typeof names}; it must return an array of input names`);
    for (const name of names) if (unevaluated.includes(name)) needed.add(name);
  }
  return [...needed];
}

async function callNode(job: Job, nodeId: string, definition: NodeDefinition, inputs: Record<string, unknown[]>): Promise<MergedResult> {
  const ctx = nodeContext(job, nodeId, definition.name);
  const results: NodeResult[] = [];
  for (const call of splitCalls(inputs, definition.inputIsList === true)) {
    job.interrupt.check();
    results.push(await definition.run(call as InputValues<InputGroups>, ctx));
  }
  return mergeResults(results, definition.outputs);
}

function nodeContext(job: Job, nodeId: string, classType: string): NodeContext {
  return {
    nodeId,
    promptId: job.promptId,
    classType,
    folders: job.env.folders,
    progress(value, max, preview) {
      job.interrupt.check();
      job.emit({ type: 'progress', data: { value, max, prompt_id: job.promptId, node: nodeId } });
      if (preview) job.emit({ type: 'preview', data: { node: nodeId, display_node: nodeId, prompt_id: job.promptId, frame: preview } });
    },
    throwIfInterrupted: () => job.interrupt.check(),
    signal: job.interrupt.signal,
    log: (message) => job.log(`[${classType} #${nodeId}] ${message}`),
    services: job.services,
    inputSpec: (otherClass, inputName) => {
      const inputs = job.registry.get(otherClass)?.inputs;
      return inputs?.required[inputName] ?? inputs?.optional?.[inputName];
    },
  };
}

function storeResult(job: Job, nodeId: string, merged: MergedResult): void {
  job.values.set(nodeId, merged);
  const signature = job.signatures.get(nodeId);
  if (signature) job.cache.set(signature, merged);
  if (merged.ui) {
    job.emit({ type: 'executed', data: { node: nodeId, display_node: nodeId, output: merged.ui, prompt_id: job.promptId } });
  }
  job.executed.push(nodeId);
}
