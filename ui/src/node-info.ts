// What the editor reads from GET /object_info (comfyui-api.md §4): typed access to a node's
// inputs in input_order, which of them become widgets, and the widget options they carry.
import type { NodeInfo } from '../../engine/graph/index.ts';

export type { NodeInfo };
export type ObjectInfo = Record<string, NodeInfo>;

export type WidgetKind = 'INT' | 'FLOAT' | 'STRING' | 'BOOLEAN' | 'COMBO';

/** Options an input spec may carry; unknown ones are kept but ignored. */
export interface InputOptions {
  default?: unknown;
  min?: number;
  max?: number;
  step?: number;
  round?: number | false;
  multiline?: boolean;
  placeholder?: string;
  label_on?: string;
  label_off?: string;
  options?: unknown[];
  image_upload?: boolean;
  image_folder?: string;
  control_after_generate?: boolean;
  forceInput?: boolean;
  defaultInput?: boolean;
  tooltip?: string;
  display_name?: string;
  [key: string]: unknown;
}

export interface InputEntry {
  name: string;
  /** Socket type: a ComfyUI type name, or INT/FLOAT/... for widget inputs, "COMBO" for lists. */
  type: string;
  options: InputOptions;
  optional: boolean;
  /** Set when the input is shown as a widget (else it is a socket only). */
  widget?: WidgetKind;
  /** COMBO values. */
  values?: string[];
  /** The editor adds a "control after generate" value right after this widget's value. */
  hasControl: boolean;
}

const SCALAR_KINDS = new Set(['INT', 'FLOAT', 'STRING', 'BOOLEAN']);
const SEED_NAMES = new Set(['seed', 'noise_seed']);

function entryOf(name: string, config: unknown, optional: boolean): InputEntry {
  const [rawType, rawOptions] = Array.isArray(config) ? config : [config];
  const options = (typeof rawOptions === 'object' && rawOptions !== null ? rawOptions : {}) as InputOptions;
  const socketOnly = options.forceInput === true || options.defaultInput === true;
  if (Array.isArray(rawType) || rawType === 'COMBO') {
    const values = (Array.isArray(rawType) ? rawType : (options.options ?? [])).map(String);
    const hasControl = !socketOnly && options.control_after_generate === true;
    return { name, type: 'COMBO', options, optional, widget: socketOnly ? undefined : 'COMBO', values, hasControl };
  }
  const type = String(rawType);
  const widget = !socketOnly && SCALAR_KINDS.has(type) ? (type as WidgetKind) : undefined;
  // An explicit flag wins; without one, INT inputs named seed / noise_seed get the control.
  const hasControl = widget === 'INT' && (options.control_after_generate ?? SEED_NAMES.has(name));
  return { name, type, options, optional, widget, hasControl };
}

function groupEntries(info: NodeInfo, group: 'required' | 'optional'): InputEntry[] {
  const specs = info.input[group] ?? {};
  const order = info.input_order?.[group] ?? Object.keys(specs);
  return order.filter((name) => name in specs).map((name) => entryOf(name, specs[name], group === 'optional'));
}

/** Every visible input of a node (required, then optional) in declaration order. */
export function inputEntries(info: NodeInfo): InputEntry[] {
  return [...groupEntries(info, 'required'), ...groupEntries(info, 'optional')];
}

/** The inputs shown as widgets, in the order their values are saved in widgets_values. */
export function widgetEntries(info: NodeInfo): InputEntry[] {
  return inputEntries(info).filter((entry) => entry.widget !== undefined);
}
