// Maps a UI node's `widgets_values` onto its input names, as the editor builds its widgets
// (comfyui-api.md §5.3): input_order, no slot for forceInput, an extra control value after
// seed-like widgets, trailing extras ignored.
import type { InputSpec, NodeDefinition } from './node-definition.ts';
import type { PromptInputValue } from './prompt-types.ts';

const WIDGET_KINDS = new Set<InputSpec['kind']>(['INT', 'SEED', 'FLOAT', 'STRING', 'BOOLEAN', 'COMBO']);
const SEED_NAMES = new Set(['seed', 'noise_seed']);

export interface WidgetSlot {
  name: string;
  /** The editor stores a "control after generate" value right after this widget's value. */
  hasControlValue: boolean;
}

/** Whether the editor adds the control-after-generate widget: an explicit flag wins; without
 *  one, INT inputs named seed / noise_seed get it (our SEED kind is an INT to the editor). */
export function hasControlValue(name: string, spec: InputSpec): boolean {
  if (spec.kind !== 'INT' && spec.kind !== 'SEED' && spec.kind !== 'COMBO') return false;
  if (spec.controlAfterGenerate !== undefined) return spec.controlAfterGenerate;
  return spec.kind !== 'COMBO' && SEED_NAMES.has(name);
}

/** The widgets a node shows, in the order their values are saved. */
export function widgetSlots(definition: NodeDefinition): WidgetSlot[] {
  const { required, optional } = definition.inputs;
  const slots: WidgetSlot[] = [];
  for (const [name, spec] of [...Object.entries(required), ...Object.entries(optional ?? {})]) {
    if (!WIDGET_KINDS.has(spec.kind) || spec.forceInput) continue;
    slots.push({ name, hasControlValue: hasControlValue(name, spec) });
  }
  return slots;
}

/** Arrays mean links in the API format, so a list-valued widget travels as {__value__: [...]}. */
export function toPromptValue(value: unknown): PromptInputValue {
  if (Array.isArray(value)) return { __value__: value };
  return value as PromptInputValue;
}

/** The API inputs a node's saved widget values stand for. Missing values stay absent
 *  (validation then names them); values past the last widget are ignored. */
export function widgetValuesToInputs(
  definition: NodeDefinition,
  values: unknown[] | Record<string, unknown> | undefined,
): Record<string, PromptInputValue> {
  const inputs: Record<string, PromptInputValue> = {};
  if (values === undefined) return inputs;
  const slots = widgetSlots(definition);
  if (!Array.isArray(values)) {
    for (const { name } of slots) if (Object.hasOwn(values, name)) inputs[name] = toPromptValue(values[name]);
    return inputs;
  }
  let index = 0;
  for (const slot of slots) {
    if (index >= values.length) break;
    const value = values[index++];
    if (value !== undefined) inputs[slot.name] = toPromptValue(value);
    // The control value ("fixed", "randomize", ... or legacy true/false) is never sent.
    if (slot.hasControlValue) index++;
  }
  return inputs;
}
