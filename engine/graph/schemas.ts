// JSON schemas (ajv) for the API prompt (comfyui-api.md §5.1) and the UI workflow (§5.2, version
// 0.4 and 1), plus size/depth limits, with errors that name the node and field at fault.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { WorkflowError, type UiLink, type UiWorkflow } from './workflow-types.ts';

export interface ShapeLimits {
  /** Longest string allowed anywhere in the document, in UTF-16 code units (default 1 MB). */
  maxStringLength?: number;
  /** Deepest nesting of arrays/objects allowed (default 64). */
  maxDepth?: number;
}

export const DEFAULT_MAX_STRING_LENGTH = 1_000_000;
export const DEFAULT_MAX_DEPTH = 64;

const id = { type: ['integer', 'string'] };

export const promptSchema = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    required: ['class_type', 'inputs'],
    properties: {
      class_type: { type: 'string' },
      inputs: { type: 'object' },
      _meta: { type: 'object', properties: { title: { type: 'string' } } },
    },
  },
} as const;

const nodeSchema = {
  type: 'object',
  required: ['id', 'type'],
  properties: {
    id,
    type: { type: 'string' },
    title: { type: 'string' },
    mode: { type: 'integer' },
    size: {
      anyOf: [
        { type: 'array', minItems: 2, items: { type: 'number' } },
        { type: 'object', required: ['0', '1'], properties: { 0: { type: 'number' }, 1: { type: 'number' } } },
      ],
    },
    inputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string' },
          link: { type: ['integer', 'null'] },
          widget: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
        },
      },
    },
    outputs: {
      type: 'array',
      items: { type: 'object', properties: { links: { type: ['array', 'null'], items: { type: 'integer' } } } },
    },
    widgets_values: { type: ['array', 'object'] },
  },
} as const;

const objectLinkSchema = {
  type: 'object',
  required: ['id', 'origin_id', 'origin_slot', 'target_id', 'target_slot'],
  properties: { id: { type: 'integer' }, origin_id: id, origin_slot: { type: 'integer' }, target_id: id, target_slot: { type: 'integer' } },
} as const;

/** Subgraph definitions (frontend ≥ 1.24) and legacy group nodes: checked here so the expansion
 *  (workflow-expand.ts) can trust their shape. */
const nestedSchemas = {
  definitions: {
    type: 'object',
    properties: {
      subgraphs: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'nodes'],
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            nodes: { type: 'array', items: nodeSchema },
            links: { type: 'array', items: objectLinkSchema },
            inputs: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
            outputs: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
          },
        },
      },
    },
  },
  extra: {
    type: 'object',
    properties: {
      groupNodes: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          required: ['nodes'],
          properties: {
            nodes: { type: 'array', items: nodeSchema },
            links: { type: 'array', items: { type: 'array', minItems: 4 } },
            external: { type: 'array', items: { type: 'array', minItems: 2 } },
          },
        },
      },
    },
  },
} as const;

export const workflowSchema = {
  type: 'object',
  required: ['nodes', 'links'],
  properties: {
    ...nestedSchemas,
    nodes: { type: 'array', items: nodeSchema },
    links: {
      type: 'array',
      items: {
        type: 'array',
        minItems: 5,
        items: [{ type: 'integer' }, id, { type: 'integer' }, id, { type: 'integer' }],
      },
    },
    version: { type: 'number' },
  },
} as const;

export const workflowV1Schema = {
  type: 'object',
  required: ['nodes', 'version'],
  properties: {
    ...nestedSchemas,
    version: { const: 1 },
    nodes: { type: 'array', items: nodeSchema },
    links: { type: 'array', items: objectLinkSchema },
  },
} as const;

// strict off: the draft-07 tuple form of `links` items is intended to allow extra entries.
const ajv = new Ajv({ allErrors: true, strict: false });
const validatePromptShape = ajv.compile(promptSchema);
const validateWorkflow04 = ajv.compile(workflowSchema);
const validateWorkflowV1 = ajv.compile(workflowV1Schema);

type PathSegment = string | number;

/** Walks the document without recursion (so hostile nesting cannot overflow the stack) and
 *  returns the first string or nesting problem with its path. */
export function findLimitProblem(value: unknown, limits: ShapeLimits = {}): { path: PathSegment[]; problem: string } | null {
  const maxString = limits.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const stack: { value: unknown; path: PathSegment[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === 'string' && item.value.length > maxString) {
      return { path: item.path, problem: `is a string of ${item.value.length} characters, longer than the limit of ${maxString}; shorten it` };
    }
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.path.length >= maxDepth) {
      return { path: item.path, problem: `is nested more than ${maxDepth} levels deep; flatten it` };
    }
    const entries = Array.isArray(item.value) ? item.value.entries() : Object.entries(item.value);
    for (const [key, child] of entries) stack.push({ value: child, path: [...item.path, key] });
  }
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fieldPath(segments: PathSegment[]): string {
  return segments.map((s, i) => (typeof s === 'number' || /^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function splitPointer(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** "node 7 (KSampler): inputs.seed" for a path inside an API prompt. */
function describePromptPath(prompt: unknown, path: PathSegment[]): string {
  if (path.length === 0) return 'prompt';
  const [nodeId, ...rest] = path.map(String);
  const node = isObject(prompt) ? prompt[nodeId] : undefined;
  const classType = isObject(node) && typeof node.class_type === 'string' ? ` (${node.class_type})` : '';
  return `node ${nodeId}${classType}${rest.length > 0 ? `: ${fieldPath(rest)}` : ''}`;
}

/** "node 7 (KSampler): inputs[0].link" / "links[3][1]" for a path inside a UI workflow. */
function describeWorkflowPath(workflow: unknown, path: PathSegment[]): string {
  if (path.length === 0) return 'workflow';
  const [top, index, ...rest] = path.map(String);
  const nodes = isObject(workflow) && Array.isArray(workflow.nodes) ? workflow.nodes : [];
  const node: unknown = top === 'nodes' && index !== undefined ? nodes[Number(index)] : undefined;
  if (isObject(node)) {
    const label = `node ${String(node.id)}${typeof node.type === 'string' ? ` (${node.type})` : ''}`;
    return rest.length > 0 ? `${label}: ${fieldPath(rest)}` : label;
  }
  return fieldPath(path);
}

function ajvMessages(errors: ErrorObject[] | null | undefined, describe: (path: PathSegment[]) => string): string[] {
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    // anyOf branches report their own failures; the anyOf summary alone reads better.
    if (errors!.some((e) => e.keyword === 'anyOf' && error.schemaPath.startsWith(e.schemaPath.replace(/anyOf$/, 'anyOf/')))) continue;
    const message = error.keyword === 'anyOf' && error.instancePath.endsWith('/size') ? 'must be [width, height] or {"0": width, "1": height}' : error.message;
    seen.add(`${describe(splitPointer(error.instancePath))} ${message ?? 'is invalid'}`);
  }
  return [...seen].slice(0, 20);
}

/** Problems with an API prompt's shape; empty when it is well formed. */
export function checkPromptShape(prompt: unknown, limits: ShapeLimits = {}): string[] {
  if (!isObject(prompt)) return [`prompt must be a JSON object mapping node ids to nodes, not ${describeJsonType(prompt)}`];
  const limit = findLimitProblem(prompt, limits);
  if (limit) return [`${describePromptPath(prompt, limit.path)} ${limit.problem}`];
  if (validatePromptShape(prompt)) return [];
  return ajvMessages(validatePromptShape.errors, (path) => describePromptPath(prompt, path));
}

export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function check(validate: ValidateFunction, workflow: unknown): string[] {
  if (validate(workflow)) return [];
  return ajvMessages(validate.errors, (path) => describeWorkflowPath(workflow, path));
}

/** Checks a UI workflow (version 0.4, or 1 which is turned into the 0.4 shape) and returns it
 *  typed; throws WorkflowError listing every problem found. */
export function parseWorkflow(workflow: unknown, limits: ShapeLimits = {}): UiWorkflow {
  if (!isObject(workflow)) throw new WorkflowError([`workflow must be a JSON object, not ${describeJsonType(workflow)}`]);
  const limit = findLimitProblem(workflow, limits);
  if (limit) throw new WorkflowError([`${describeWorkflowPath(workflow, limit.path)} ${limit.problem}`]);
  const isV1 = workflow.version === 1;
  const problems = check(isV1 ? validateWorkflowV1 : validateWorkflow04, workflow);
  if (problems.length > 0) throw new WorkflowError(problems);
  return isV1 ? fromVersion1(workflow) : (workflow as unknown as UiWorkflow);
}

interface V1Link {
  id: number;
  origin_id: number | string;
  origin_slot: number;
  target_id: number | string;
  target_slot: number;
  type?: unknown;
}

function fromVersion1(workflow: Record<string, unknown>): UiWorkflow {
  const links = (Array.isArray(workflow.links) ? workflow.links : []) as V1Link[];
  const asArrays: UiLink[] = links.map((l) => [l.id, l.origin_id, l.origin_slot, l.target_id, l.target_slot, l.type ?? '*']);
  return { ...(workflow as unknown as UiWorkflow), links: asArrays, version: 0.4 };
}
