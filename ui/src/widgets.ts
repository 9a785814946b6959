// Widgets built from input specs (comfyui-api.md §4.2, §5.3): numbers with min/max/step,
// combos (model and image file lists too), single- and multi-line text, toggles, the seed's
// "control after generate" companion and LoadImage's upload button.
import type { LGraphNode } from '@comfyorg/litegraph';
import type { IBaseWidget } from '@comfyorg/litegraph/dist/types/widgets';
import type { InputEntry } from './node-info.ts';
import { addTextAreaWidget } from './text-area-widget.ts';

export const CONTROL_VALUES = ['fixed', 'increment', 'decrement', 'randomize'];
export const CONTROL_WIDGET = 'control_after_generate';
const NO_CALLBACK = () => {};

/** Digits after the point for a FLOAT widget: from `round` (or `step`) as the frontend does. */
function floatPrecision(options: InputEntry['options']): number {
  const unit = typeof options.round === 'number' ? options.round : (options.step ?? 0.01);
  const text = String(unit);
  return text.includes('.') ? text.split('.')[1].length : 0;
}

function numberWidget(node: LGraphNode, entry: InputEntry): IBaseWidget {
  const { options } = entry;
  const isInt = entry.widget === 'INT';
  const step = options.step ?? (isInt ? 1 : 0.01);
  const precision = isInt ? 0 : floatPrecision(options);
  const min = options.min ?? (isInt ? Number.MIN_SAFE_INTEGER : -Infinity);
  const max = options.max ?? (isInt ? Number.MAX_SAFE_INTEGER : Infinity);
  const fallback = Math.max(min, Math.min(max, 0));
  const value = typeof options.default === 'number' ? options.default : fallback;
  const widget = node.addWidget('number', entry.name, value, NO_CALLBACK, { min, max, step: step * 10, step2: step, precision });
  // Dragging or typing may land between steps; keep INT values whole and inside the range.
  widget.callback = (v: number) => {
    const rounded = isInt ? Math.round(v) : Number(v.toFixed(precision));
    widget.value = Math.min(max, Math.max(min, rounded));
  };
  return widget;
}

function textWidget(node: LGraphNode, entry: InputEntry): IBaseWidget {
  const value = typeof entry.options.default === 'string' ? entry.options.default : '';
  if (entry.options.multiline === true) return addTextAreaWidget(node, entry.name, value, entry.options.placeholder);
  return node.addWidget('text', entry.name, value, NO_CALLBACK, {});
}

function comboWidget(node: LGraphNode, entry: InputEntry): IBaseWidget {
  const values = entry.values ?? [];
  const preferred = typeof entry.options.default === 'string' ? entry.options.default : undefined;
  const value = preferred !== undefined && values.includes(preferred) ? preferred : (values[0] ?? '');
  return node.addWidget('combo', entry.name, value, NO_CALLBACK, { values });
}

function toggleWidget(node: LGraphNode, entry: InputEntry): IBaseWidget {
  const { options } = entry;
  return node.addWidget('toggle', entry.name, options.default === true, NO_CALLBACK, { on: options.label_on ?? 'true', off: options.label_off ?? 'false' });
}

/** Adds the widget(s) of one input; returns the value widget. */
export function addInputWidget(node: LGraphNode, entry: InputEntry): IBaseWidget {
  let widget: IBaseWidget;
  switch (entry.widget) {
    case 'INT':
    case 'FLOAT':
      widget = numberWidget(node, entry);
      break;
    case 'STRING':
      widget = textWidget(node, entry);
      break;
    case 'BOOLEAN':
      widget = toggleWidget(node, entry);
      break;
    default:
      widget = comboWidget(node, entry);
  }
  if (entry.options.tooltip) widget.tooltip = entry.options.tooltip;
  if (entry.hasControl) {
    const control = node.addWidget('combo', CONTROL_WIDGET, 'randomize', NO_CALLBACK, { values: CONTROL_VALUES });
    // Saved in widgets_values but never sent in the API prompt (§5.3 rule 2).
    (control.options as { serialize?: boolean }).serialize = false;
    (control as IBaseWidget & { linkedTo?: IBaseWidget }).linkedTo = widget;
  }
  return widget;
}

/** Applies each "control after generate" setting once a prompt was queued, as ComfyUI does. */
export function applyControlAfterGenerate(node: LGraphNode): void {
  const widgets = node.widgets ?? [];
  for (const [index, control] of widgets.entries()) {
    if (control.name !== CONTROL_WIDGET || index === 0) continue;
    const target = widgets[index - 1];
    const mode = control.value as string | boolean;
    if (target.type === 'combo') stepCombo(target, mode);
    else stepNumber(target, mode);
  }
}

function stepNumber(widget: IBaseWidget, mode: string | boolean): void {
  const options = widget.options as { min?: number; max?: number; step2?: number };
  const min = options.min ?? 0;
  // Random seeds stay below 2^53 so the JSON number is exact in every client.
  const max = Math.min(options.max ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const step = options.step2 ?? 1;
  const value = Number(widget.value);
  if (mode === 'increment') widget.value = Math.min(max, value + step);
  else if (mode === 'decrement') widget.value = Math.max(min, value - step);
  else if (mode === 'randomize' || mode === true) widget.value = Math.floor(min + Math.random() * (max - min));
}

function stepCombo(widget: IBaseWidget, mode: string | boolean): void {
  const values = ((widget.options as { values?: unknown }).values ?? []) as string[];
  if (values.length === 0) return;
  const index = values.indexOf(String(widget.value));
  if (mode === 'increment') widget.value = values[Math.min(values.length - 1, index + 1)];
  else if (mode === 'decrement') widget.value = values[Math.max(0, index - 1)];
  else if (mode === 'randomize' || mode === true) widget.value = values[Math.floor(Math.random() * values.length)];
}
