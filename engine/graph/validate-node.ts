// Validation of one node and, through its links, everything upstream (ComfyUI's validate_inputs,
// comfyui-api.md §6.2): per-input error catalogue, coercion written back, custom validators.
import { coerceConstant, compareNumbers, pyFloat, pyRepr, pyStr, type WidgetKind } from './coerce.ts';
import type { DefinitionEnv, InputSpec, NodeDefinition, NodeRegistry } from './node-definition.ts';
import { comboOptions, inputConfig, inputTypeName, SEED_MAX, type InputConfig } from './object-info.ts';
import type { ApiPrompt, PromptInputValue, PromptNode } from './prompt-types.ts';

export interface ValidationError {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

export interface NodeOutcome {
  valid: boolean;
  errors: ValidationError[];
}

export interface ValidationContext {
  /** A working copy: coerced values are written into its inputs. */
  prompt: ApiPrompt;
  registry: NodeRegistry;
  env: DefinitionEnv;
  /** Finished nodes in completion order (upstream first). */
  memo: Map<string, NodeOutcome>;
  /** Nodes on a dependency cycle → message naming the cycle. */
  cycles: Map<string, string>;
}

/** A problem ComfyUI reports as an exception (exception_during_[inner_]validation). */
export class GraphProblem extends Error {
  constructor(
    readonly exceptionType: string,
    message: string,
  ) {
    super(message);
  }
}

/** COMBO lists longer than this are summarised in messages, as ComfyUI does. */
const MAX_LISTED_OPTIONS = 20;

/** Type matching of validate_node_input: equal, "*" on either side, or comma lists that share
 *  a type ("INT" into "FLOAT,INT"). */
export function typesMatch(received: string, expected: string): boolean {
  if (received === expected || received === '*' || expected === '*') return true;
  const receivedSet = new Set(received.split(',').map((t) => t.trim()));
  return expected.split(',').some((t) => receivedSet.has(t.trim()));
}

function describeNode(prompt: ApiPrompt, id: string): string {
  return `node ${id} (${prompt[id]?.class_type ?? 'unknown'})`;
}

function declaredInputs(definition: NodeDefinition): [string, InputSpec, boolean][] {
  const { required, optional } = definition.inputs;
  return [
    ...Object.entries(required).map(([name, spec]): [string, InputSpec, boolean] => [name, spec, true]),
    ...Object.entries(optional ?? {}).map(([name, spec]): [string, InputSpec, boolean] => [name, spec, false]),
  ];
}

function error(type: string, message: string, details: string, extraInfo: Record<string, unknown>): ValidationError {
  return { type, message, details, extra_info: extraInfo };
}

/** Reads the upstream output type a link points at, or throws the problem ComfyUI would
 *  hit while indexing the prompt (missing node, non-string id, bad slot). */
function linkedOutputType(ctx: ValidationContext, id: string, name: string, link: unknown[]): string {
  const [sourceId, slot] = link;
  const where = `Input '${name}' of ${describeNode(ctx.prompt, id)}`;
  if (typeof sourceId !== 'string') {
    throw new GraphProblem('KeyError', `${where} links to node ${pyRepr(sourceId)}: node ids in links must be strings, e.g. ["${pyStr(sourceId)}", 0]`);
  }
  if (!Object.hasOwn(ctx.prompt, sourceId)) {
    throw new GraphProblem('KeyError', `${where} links to node '${sourceId}', which is not in the prompt`);
  }
  const outputs = ctx.registry.get(ctx.prompt[sourceId].class_type)!.outputs;
  if (typeof slot !== 'number' || !Number.isInteger(slot)) {
    throw new GraphProblem('TypeError', `${where} links to output ${pyRepr(slot)} of ${describeNode(ctx.prompt, sourceId)}: the output index must be an integer`);
  }
  if (slot < 0 || slot >= outputs.length) {
    throw new GraphProblem('IndexError', `${where} links to output ${slot} of ${describeNode(ctx.prompt, sourceId)}, which has ${outputs.length} output(s)`);
  }
  return outputs[slot].type;
}

/** A linked input: type check, then validate upstream. Returns false if this node is invalid. */
async function checkLinkedInput(ctx: ValidationContext, id: string, name: string, spec: InputSpec, link: unknown[], errors: ValidationError[]): Promise<boolean> {
  const config = inputConfig(spec, ctx.env);
  if (link.length !== 2) {
    errors.push(error('bad_linked_input', 'Bad linked input, must be a length-2 list of [node_id, slot_index]', name, { input_name: name, input_config: config, received_value: link }));
    return false;
  }
  const receivedType = linkedOutputType(ctx, id, name, link);
  const expectedType = inputTypeName(spec);
  if (!typesMatch(receivedType, expectedType)) {
    const details = `${name}, received_type(${receivedType}) mismatch input_type(${expectedType})`;
    errors.push(error('return_type_mismatch', 'Return type mismatch between linked nodes', details, { input_name: name, input_config: config, received_type: receivedType, linked_node: link }));
    return false;
  }
  const sourceId = link[0] as string;
  try {
    return await validateNode(ctx, sourceId);
  } catch (exception) {
    ctx.memo.set(sourceId, innerExceptionOutcome(ctx, exception, { name, spec, link }));
    return false;
  }
}

/** The link by which a node was reached: the consumer's input name, spec and link value. */
export interface LinkUse {
  name: string;
  spec: InputSpec;
  link: unknown[];
}

/** An exception while validating a node, reported on that node with the consumer's input. */
export function innerExceptionOutcome(ctx: ValidationContext, exception: unknown, use: LinkUse): NodeOutcome {
  const { message, exceptionType } = describeException(exception);
  const extraInfo = {
    input_name: use.name, input_config: inputConfig(use.spec, ctx.env), exception_message: message, exception_type: exceptionType, traceback: [], linked_node: use.link,
  };
  return { valid: false, errors: [error('exception_during_inner_validation', 'Exception when validating inner node', message, extraInfo)] };
}

/** The links validateNode follows, in its order: well-formed, type-matching links; none after
 *  the first link that would raise (validation of the node stops there). */
export function followedLinks(ctx: ValidationContext, id: string): (LinkUse & { sourceId: string })[] {
  const node = ctx.prompt[id];
  const followed: (LinkUse & { sourceId: string })[] = [];
  for (const [name, spec] of declaredInputs(ctx.registry.get(node.class_type)!)) {
    const link = node.inputs[name];
    if (!Array.isArray(link) || link.length !== 2) continue;
    let receivedType: string;
    try {
      receivedType = linkedOutputType(ctx, id, name, link);
    } catch {
      break; // validateNode raises here; the exception is reported, nothing further is followed
    }
    if (typesMatch(receivedType, inputTypeName(spec))) followed.push({ name, spec, link, sourceId: link[0] as string });
  }
  return followed;
}

export function describeException(exception: unknown): { message: string; exceptionType: string } {
  if (exception instanceof GraphProblem) return { message: exception.message, exceptionType: exception.exceptionType };
  if (exception instanceof Error) return { message: exception.message, exceptionType: exception.name };
  return { message: String(exception), exceptionType: 'Error' };
}

function rangeErrors(name: string, spec: InputSpec, value: number | bigint, config: InputConfig): ValidationError | null {
  const min = spec.kind === 'SEED' ? 0 : spec.kind === 'INT' || spec.kind === 'FLOAT' ? spec.min : undefined;
  const max = spec.kind === 'SEED' ? SEED_MAX : spec.kind === 'INT' || spec.kind === 'FLOAT' ? spec.max : undefined;
  const show = (v: number | bigint) => (spec.kind === 'FLOAT' && typeof v === 'number' ? pyFloat(v) : String(v));
  const extra = { input_name: name, input_config: config, received_value: value };
  if (min !== undefined && compareNumbers(value, min) < 0) {
    return error('value_smaller_than_min', `Value ${show(value)} smaller than min of ${show(min)}`, name, extra);
  }
  if (max !== undefined && compareNumbers(value, max) > 0) {
    return error('value_bigger_than_max', `Value ${show(value)} bigger than max of ${show(max)}`, name, extra);
  }
  return null;
}

function comboError(ctx: ValidationContext, name: string, spec: InputSpec & { kind: 'COMBO' }, value: unknown, config: InputConfig): ValidationError | null {
  const options = comboOptions(spec, ctx.env);
  if (typeof value === 'string' && options.includes(value)) return null;
  const listed = options.length > MAX_LISTED_OPTIONS ? `(list of length ${options.length})` : pyRepr(options);
  const inputConfigShown = options.length > MAX_LISTED_OPTIONS ? null : config;
  // ComfyUI's details text, plus (ours) where the list came from: an empty list is most often a folder
  // other than the one the user filled (run outside the repository, another --models).
  const source = spec.source?.(ctx.env);
  const where = source === undefined ? '' : options.length === 0 ? ` (no matching files in ${source})` : ` (listed from ${source})`;
  return error('value_not_in_list', 'Value not in list', `${name}: '${pyStr(value)}' not in ${listed}${where}`, { input_name: name, input_config: inputConfigShown, received_value: value });
}

/** A constant input: unwrap {__value__}, coerce (written back), then range/list checks unless
 *  the node's own validator takes this input. */
function checkConstantInput(ctx: ValidationContext, node: PromptNode, name: string, spec: InputSpec, skipRangeChecks: boolean): ValidationError | null {
  let value: unknown = node.inputs[name];
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__value__')) {
    value = (value as { __value__: unknown }).__value__;
    node.inputs[name] = value as PromptInputValue;
  }
  const config = inputConfig(spec, ctx.env);
  if (spec.kind === 'LINK') {
    return error('invalid_input_type', `Failed to convert an input value to a ${spec.type} value`, `${name}, ${pyStr(value)}, a ${spec.type} input takes a link [node_id, output_index], not a constant`, { input_name: name, input_config: config, received_value: value, exception_message: `expected a link for ${spec.type}` });
  }
  if (spec.kind === 'COMBO') return skipRangeChecks ? null : comboError(ctx, name, spec, value, config);
  const coerced = coerceConstant(spec.kind as WidgetKind, value);
  if (!coerced.ok) {
    const typeName = spec.kind === 'SEED' ? 'INT' : spec.kind;
    return error('invalid_input_type', `Failed to convert an input value to a ${typeName} value`, `${name}, ${pyStr(value)}, ${coerced.exception}`, { input_name: name, input_config: config, received_value: value, exception_message: coerced.exception });
  }
  const result = coerced.value;
  node.inputs[name] = spec.kind === 'SEED' ? BigInt(result as number | bigint) : spec.kind === 'INT' ? Number(result) : result;
  if (skipRangeChecks) return null;
  if (typeof result === 'number' || typeof result === 'bigint') return rangeErrors(name, spec, result, config);
  if (spec.kind === 'STRING' && spec.maxLength !== undefined && (result as string).length > spec.maxLength) {
    const length = (result as string).length;
    return error('value_bigger_than_max', `String length ${length} bigger than max length of ${spec.maxLength}`, name, { input_name: name, input_config: config, received_value: result });
  }
  return null;
}

/** Runs the node's own validator on its constant inputs; one error per input it takes. */
async function customValidationErrors(ctx: ValidationContext, definition: NodeDefinition, node: PromptNode): Promise<ValidationError[]> {
  if (!definition.validate) return [];
  const constants: Partial<Record<string, unknown>> = {};
  for (const name of definition.validate.inputs) {
    const value = node.inputs[name];
    if (value !== undefined && !Array.isArray(value)) constants[name] = value;
  }
  const verdict = await definition.validate.check(constants, ctx.env);
  if (verdict === true) return [];
  return definition.validate.inputs.map((name) =>
    error('custom_validation_failed', 'Custom validation failed for node', `${name} - ${verdict}`, { input_name: name }),
  );
}

/** Validates a node and its upstream (memoized). Throws GraphProblem for problems ComfyUI
 *  reports as exceptions; the caller attaches them to this node. Callers visit upstream nodes
 *  first (see validate.ts), so the recursion here finds them memoized and stays shallow. */
export async function validateNode(ctx: ValidationContext, id: string): Promise<boolean> {
  const done = ctx.memo.get(id);
  if (done) return done.valid;
  const cycle = ctx.cycles.get(id);
  if (cycle !== undefined) throw new GraphProblem('graph.DependencyCycleError', cycle);
  const node = ctx.prompt[id];
  const definition = ctx.registry.get(node.class_type)!;
  const customInputs = new Set(definition.validate?.inputs ?? []);
  const errors: ValidationError[] = [];
  let upstreamValid = true;
  for (const [name, spec, required] of declaredInputs(definition)) {
    if (!Object.hasOwn(node.inputs, name)) {
      if (required) errors.push(error('required_input_missing', 'Required input is missing', name, { input_name: name }));
      continue;
    }
    const value = node.inputs[name];
    if (Array.isArray(value)) {
      if (!(await checkLinkedInput(ctx, id, name, spec, value, errors))) upstreamValid = false;
      continue;
    }
    const problem = checkConstantInput(ctx, node, name, spec, customInputs.has(name));
    if (problem) errors.push(problem);
  }
  errors.push(...(await customValidationErrors(ctx, definition, node)));
  const outcome = { valid: upstreamValid && errors.length === 0, errors };
  ctx.memo.set(id, outcome);
  return outcome.valid;
}
