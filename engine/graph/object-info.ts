// /object_info JSON derived from node definitions, shaped exactly as ComfyUI 0.3.64 prints it
// (comfyui-api.md §4.1 key order, §4.2 input spec arrays, §4.3 KSampler example).
import type { ComboInput, DefinitionEnv, InputSpec, NodeDefinition, NodeRegistry } from './node-definition.ts';

/** 2^64-1: ComfyUI's SEED_MAX. A bigint so stringifyJson prints it exactly. */
export const SEED_MAX = 18446744073709551615n;

/** `[TYPE]` or `[TYPE, options]`; a classic COMBO's TYPE is its list of allowed values. */
export type InputConfig = [string | string[]] | [string | string[], Record<string, unknown>];

export interface NodeInfo {
  input: { required?: Record<string, InputConfig>; optional?: Record<string, InputConfig>; hidden?: Record<string, string> };
  input_order: { required?: string[]; optional?: string[]; hidden?: string[] };
  output: string[];
  output_is_list: boolean[];
  output_name: string[];
  name: string;
  display_name: string;
  description: string;
  python_module: string;
  category: string;
  output_node: boolean;
  output_tooltips?: (string | null)[];
  deprecated?: true;
  experimental?: true;
}

const WIDGET_TYPE_NAMES = new Set(['INT', 'FLOAT', 'STRING', 'BOOLEAN', 'COMBO']);

/** The allowed values of a COMBO, computing them now if they depend on the folders (none
 *  without folders). */
export function comboOptions(spec: ComboInput, env: DefinitionEnv | undefined): string[] {
  if (typeof spec.options !== 'function') return [...spec.options];
  return env ? spec.options(env) : [];
}

/** The type name an input spec is advertised and type-matched under. */
export function inputTypeName(spec: InputSpec): string {
  if (spec.kind === 'LINK') return spec.type;
  if (spec.kind === 'SEED') return 'INT';
  return spec.kind;
}

/** Widget options in ComfyUI's snake_case names, in the order its core nodes write them. */
function widgetOptions(spec: InputSpec): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  switch (spec.kind) {
    case 'INT':
    case 'FLOAT':
      put(o, 'default', spec.default);
      put(o, 'min', spec.min);
      put(o, 'max', spec.max);
      put(o, 'step', spec.step);
      if (spec.kind === 'FLOAT') put(o, 'round', spec.round);
      put(o, 'display', spec.display);
      if (spec.kind === 'INT') put(o, 'control_after_generate', spec.controlAfterGenerate);
      break;
    case 'SEED':
      put(o, 'default', spec.default);
      o.min = 0;
      o.max = SEED_MAX;
      put(o, 'control_after_generate', spec.controlAfterGenerate);
      break;
    case 'STRING':
      put(o, 'default', spec.default);
      put(o, 'multiline', spec.multiline);
      put(o, 'dynamicPrompts', spec.dynamicPrompts);
      put(o, 'placeholder', spec.placeholder);
      break;
    case 'BOOLEAN':
      put(o, 'default', spec.default);
      put(o, 'label_on', spec.labelOn);
      put(o, 'label_off', spec.labelOff);
      break;
    case 'COMBO':
      put(o, 'default', spec.default);
      put(o, 'image_upload', spec.imageUpload);
      put(o, 'image_folder', spec.imageFolder);
      put(o, 'control_after_generate', spec.controlAfterGenerate);
      break;
    case 'LINK':
      break;
  }
  return o;
}

function put(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value;
}

/** The `[TYPE, options]` array of one input, as /object_info and validation errors show it. */
export function inputConfig(spec: InputSpec, env: DefinitionEnv | undefined): InputConfig {
  const options = widgetOptions(spec);
  // A socket-only input of a widget type (a LINK typed INT, ...) is a widget to the editor unless
  // marked forceInput, as ComfyUI's own nodes mark such inputs.
  const socketOnlyScalar = spec.kind === 'LINK' && WIDGET_TYPE_NAMES.has(spec.type);
  put(options, 'forceInput', spec.forceInput ?? (socketOnlyScalar ? true : undefined));
  put(options, 'lazy', spec.lazy);
  put(options, 'display_name', spec.displayName);
  put(options, 'tooltip', spec.tooltip);
  const type = spec.kind === 'COMBO' ? comboOptions(spec, env) : inputTypeName(spec);
  return Object.keys(options).length > 0 ? [type, options] : [type];
}

function inputGroup(group: Record<string, InputSpec>, env: DefinitionEnv | undefined): Record<string, InputConfig> {
  const out: Record<string, InputConfig> = {};
  for (const [name, spec] of Object.entries(group)) out[name] = inputConfig(spec, env);
  return out;
}

/** One node's /object_info entry. */
export function nodeInfo(definition: NodeDefinition, env: DefinitionEnv | undefined): NodeInfo {
  const { required, optional, hidden } = definition.inputs;
  const input: NodeInfo['input'] = { required: inputGroup(required, env) };
  const inputOrder: NodeInfo['input_order'] = { required: Object.keys(required) };
  if (optional) {
    input.optional = inputGroup(optional, env);
    inputOrder.optional = Object.keys(optional);
  }
  if (hidden) {
    input.hidden = { ...hidden };
    inputOrder.hidden = Object.keys(hidden);
  }
  const outputs = definition.outputs;
  const info: NodeInfo = {
    input,
    input_order: inputOrder,
    output: outputs.map((o) => o.type),
    output_is_list: outputs.map((o) => o.isList === true),
    output_name: outputs.map((o) => o.name ?? o.type),
    name: definition.name,
    display_name: definition.displayName ?? definition.name,
    description: definition.description,
    python_module: definition.pythonModule ?? 'nodes',
    category: definition.category,
    output_node: definition.outputNode === true,
  };
  if (outputs.some((o) => o.tooltip !== undefined)) info.output_tooltips = outputs.map((o) => o.tooltip ?? null);
  if (definition.deprecated) info.deprecated = true;
  if (definition.experimental) info.experimental = true;
  return info;
}

/** The whole GET /object_info answer: class name → entry, in registry order. */
export function objectInfo(registry: NodeRegistry, env: DefinitionEnv): Record<string, NodeInfo> {
  const out: Record<string, NodeInfo> = {};
  for (const [className, definition] of registry) out[className] = nodeInfo(definition, env);
  return out;
}

/** GET /object_info/{class}: `{class: entry}`, or `{}` for an unknown class (as ComfyUI). */
export function objectInfoFor(registry: NodeRegistry, env: DefinitionEnv, className: string): Record<string, NodeInfo> {
  const definition = registry.get(className);
  return definition ? { [className]: nodeInfo(definition, env) } : {};
}
