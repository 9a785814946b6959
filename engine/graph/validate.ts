// Prompt validation with ComfyUI's semantics and answer shapes (comfyui-api.md §2.1, §6.2, §6.3):
// whole-prompt checks, output selection, per-output validation with partial failure.
import { findCycles, ancestorsOf } from './graph-walk.ts';
import type { DefinitionEnv, NodeRegistry } from './node-definition.ts';
import type { ApiPrompt } from './prompt-types.ts';
import { checkPromptShape, describeJsonType, type ShapeLimits } from './schemas.ts';
import {
  describeException, followedLinks, innerExceptionOutcome, validateNode, type LinkUse, type NodeOutcome, type ValidationContext, type ValidationError,
} from './validate-node.ts';

export { typesMatch, type ValidationError } from './validate-node.ts';

export interface NodeErrorEntry {
  errors: ValidationError[];
  dependent_outputs: string[];
  class_type: string;
}

export type NodeErrors = Record<string, NodeErrorEntry>;

/** ok: run `prompt` (coerced values) for `outputs`; `node_errors` lists outputs left out.
 *  Not ok: answer 400 with `{error, node_errors}`. */
export type ValidationResult =
  | { ok: true; prompt: ApiPrompt; outputs: string[]; node_errors: NodeErrors }
  | { ok: false; error: ValidationError; node_errors: NodeErrors };

export interface ValidateOptions {
  /** Only these output nodes run ("run selected outputs"). */
  partialExecutionTargets?: string[];
  /** String length / nesting limits for the whole prompt. */
  limits?: ShapeLimits;
}

function failure(type: string, message: string, details: string, extraInfo: Record<string, unknown> = {}): ValidationResult {
  return { ok: false, error: { type, message, details, extra_info: extraInfo }, node_errors: {} };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Step 1 of §6.2, over every node (reachable or not): each is an object with a known class.
 *  Every unknown class is named at once (ComfyUI stops at the first), so a user installs all
 *  that is missing in one go; with one, the answer is exactly ComfyUI's. */
function checkNodes(prompt: Record<string, unknown>, registry: NodeRegistry): ValidationResult | null {
  const missing: { node_id: string; class_type: string; node_title: string }[] = [];
  for (const [id, node] of Object.entries(prompt)) {
    if (!isObject(node)) {
      return failure('invalid_prompt', `Cannot execute because node #${id} is ${describeJsonType(node)}, not an object with class_type and inputs.`, `Node ID '#${id}'`);
    }
    if (typeof node.class_type !== 'string') {
      return failure('invalid_prompt', 'Cannot execute because a node is missing the class_type property.', `Node ID '#${id}'`);
    }
    if (!registry.has(node.class_type)) {
      const meta = node._meta;
      const title = isObject(meta) && typeof meta.title === 'string' ? meta.title : node.class_type;
      missing.push({ node_id: id, class_type: node.class_type, node_title: title });
    }
  }
  if (missing.length === 0) return null;
  const [first] = missing;
  if (missing.length === 1) {
    return failure('missing_node_type', `Node '${first.node_title}' not found. The custom node may not be installed.`, `Node ID '#${first.node_id}'`, { ...first });
  }
  const types = [...new Set(missing.map((m) => m.class_type))];
  const nodes = missing.map((m) => `'${m.node_title}' (#${m.node_id}${m.node_title === m.class_type ? '' : `, ${m.class_type}`})`);
  return failure(
    'missing_node_type',
    `Nodes ${nodes.join(', ')} not found: this install has no node type ${types.join(', ')}. The custom nodes may not be installed.`,
    missing.map((m) => `Node ID '#${m.node_id}'`).join(', '),
    { ...first, missing_nodes: missing },
  );
}

/** A copy whose node inputs can take coerced values without touching the caller's object. */
function workingCopy(prompt: ApiPrompt): ApiPrompt {
  const copy: ApiPrompt = {};
  for (const [id, node] of Object.entries(prompt)) copy[id] = { ...node, inputs: { ...node.inputs } };
  return copy;
}

function outputNodeIds(prompt: ApiPrompt, registry: NodeRegistry, targets: string[] | undefined): string[] {
  return Object.keys(prompt).filter((id) => registry.get(prompt[id].class_type)!.outputNode === true && (targets === undefined || targets.includes(id)));
}

interface Visit {
  id: string;
  /** How the node was reached; absent for the output itself. */
  use?: LinkUse;
}

interface Frame extends Visit {
  links: (LinkUse & { sourceId: string })[];
  next: number;
}

/** The not-yet-validated nodes an output's validation reaches, upstream first: the order in
 *  which ComfyUI's recursive validation finishes them, found without recursion. */
function upstreamFirst(ctx: ValidationContext, output: string): Visit[] {
  const order: Visit[] = [];
  const seen = new Set([output]);
  const framesFor = (visit: Visit): Frame => ({ ...visit, links: ctx.cycles.has(visit.id) ? [] : followedLinks(ctx, visit.id), next: 0 });
  const stack: Frame[] = [framesFor({ id: output })];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const link = top.links[top.next++];
    if (link === undefined) {
      order.push({ id: top.id, use: top.use });
      stack.pop();
    } else if (!seen.has(link.sourceId) && !ctx.memo.has(link.sourceId)) {
      seen.add(link.sourceId);
      stack.push(framesFor({ id: link.sourceId, use: link }));
    }
  }
  return order;
}

function outerExceptionOutcome(exception: unknown): NodeOutcome {
  const { message, exceptionType } = describeException(exception);
  return {
    valid: false,
    errors: [{ type: 'exception_during_validation', message: 'Exception when validating node', details: message, extra_info: { exception_type: exceptionType, traceback: [] } }],
  };
}

/** Validates one output and its upstream. An exception on a node is reported on that node:
 *  exception_during_validation for the output, exception_during_inner_validation upstream. */
async function validateOutput(ctx: ValidationContext, output: string): Promise<boolean> {
  for (const visit of upstreamFirst(ctx, output)) {
    if (ctx.memo.has(visit.id)) continue;
    try {
      await validateNode(ctx, visit.id);
    } catch (exception) {
      ctx.memo.set(visit.id, visit.use ? innerExceptionOutcome(ctx, exception, visit.use) : outerExceptionOutcome(exception));
    }
  }
  return ctx.memo.get(output)!.valid;
}

/** Lists every invalid node with errors that `output` depends on; nodes invalid only because
 *  of something upstream carry no errors and are not listed (as in ComfyUI). */
function recordFailure(ctx: ValidationContext, output: string, nodeErrors: NodeErrors): void {
  const upstream = ancestorsOf(ctx.prompt, output);
  for (const [id, outcome] of ctx.memo) {
    if (outcome.valid || outcome.errors.length === 0 || !upstream.has(id)) continue;
    nodeErrors[id] ??= { errors: outcome.errors, dependent_outputs: [], class_type: ctx.prompt[id].class_type };
    nodeErrors[id].dependent_outputs.push(output);
  }
}

async function validateOutputs(ctx: ValidationContext, outputs: string[]): Promise<ValidationResult> {
  const good: string[] = [];
  const failedDetails: string[] = [];
  const nodeErrors: NodeErrors = {};
  for (const output of outputs) {
    if (await validateOutput(ctx, output)) {
      good.push(output);
      continue;
    }
    for (const e of ctx.memo.get(output)?.errors ?? []) failedDetails.push(`${e.message}: ${e.details}`);
    recordFailure(ctx, output, nodeErrors);
  }
  if (good.length === 0) {
    const error = { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: failedDetails.join('\n'), extra_info: {} };
    return { ok: false, error, node_errors: nodeErrors };
  }
  return { ok: true, prompt: ctx.prompt, outputs: good, node_errors: nodeErrors };
}

/** Validates an API prompt as ComfyUI's POST /prompt does. Never throws for any JSON input;
 *  a node's own validator that throws is reported as an exception error. */
export async function validatePrompt(prompt: unknown, registry: NodeRegistry, env: DefinitionEnv, options: ValidateOptions = {}): Promise<ValidationResult> {
  if (!isObject(prompt)) {
    return failure('invalid_prompt', `Cannot execute because the prompt is ${describeJsonType(prompt)}, not an object mapping node ids to nodes.`, 'Send the API format (File → Export (API)), not a UI workflow or a list.');
  }
  const nodeProblem = checkNodes(prompt, registry);
  if (nodeProblem) return nodeProblem;
  const shapeProblems = checkPromptShape(prompt, options.limits);
  if (shapeProblems.length > 0) return failure('invalid_prompt', 'Cannot execute because the prompt is malformed.', shapeProblems.join('\n'));
  const working = workingCopy(prompt as ApiPrompt);
  const outputs = outputNodeIds(working, registry, options.partialExecutionTargets);
  if (outputs.length === 0) return failure('prompt_no_outputs', 'Prompt has no outputs', '');
  const describe = (id: string) => `node ${id} (${working[id].class_type})`;
  const ctx: ValidationContext = { prompt: working, registry, env, memo: new Map(), cycles: findCycles(working, outputs, describe) };
  return validateOutputs(ctx, outputs);
}
