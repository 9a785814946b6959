// The inputs of a node as the editor sees them in GET /object_info (comfyui-api.md §4): typed
// access in input_order, which inputs become widgets, their options and the value a fresh widget
// starts with. Pure (no imports at run time) so the browser editor bundles the same rules.
import type { NodeInfo } from './object-info.ts';

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

/** The value a widget starts with before a saved value is applied, as the editor builds it:
 *  the declared default, else 0 clamped into [min, max] for numbers, '' for text, false for a
 *  toggle and the first option of a list (a default that is not among the options is ignored). */
export function widgetDefault(entry: InputEntry): unknown {
  const { options } = entry;
  switch (entry.widget) {
    case 'INT':
    case 'FLOAT': {
      if (typeof options.default === 'number') return options.default;
      const min = typeof options.min === 'number' ? options.min : -Infinity;
      const max = typeof options.max === 'number' ? options.max : Infinity;
      return Math.max(min, Math.min(max, 0));
    }
    case 'STRING':
      return typeof options.default === 'string' ? options.default : '';
    case 'BOOLEAN':
      return options.default === true;
    case 'COMBO': {
      const values = entry.values ?? [];
      const preferred = typeof options.default === 'string' ? options.default : undefined;
      return preferred !== undefined && values.includes(preferred) ? preferred : values[0];
    }
    default:
      return undefined;
  }
}
