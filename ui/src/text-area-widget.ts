// Multiline STRING inputs (CLIPTextEncode's text, notes, every input declared `multiline`) as
// real <textarea>s laid over the canvas, as ComfyUI does: they take the node's free height, so
// resizing the node grows the box, and they follow pan and zoom. litegraph only draws canvas
// widgets; each frame this widget's draw() moves its textarea to where the node is on screen,
// and textareas whose node was not drawn in a frame are hidden (off-screen, zoomed out, removed).
import type { LGraphCanvas, LGraphNode } from '@comfyorg/litegraph';
import type { IBaseWidget } from '@comfyorg/litegraph/dist/types/widgets';

export const TEXT_AREA_TYPE = 'customtext';
const MIN_HEIGHT = 60;
const MARGIN = 10;

interface Placed {
  element: HTMLTextAreaElement;
  frame: number;
}

/** Every textarea on the page, with the frame it was last placed in. */
const placed = new Map<IBaseWidget, Placed>();
let frame = 0;
let host: HTMLElement | undefined;
/** Called after a user edit of a textarea (undo history). */
let onUserEdit: () => void = () => {};

/**
 * Hooks the canvas: each foreground draw counts a frame, and after it the textareas not placed in that
 * frame are hidden. `container` is the positioned element around the canvas.
 */
export function installTextAreas(canvas: LGraphCanvas, container: HTMLElement, onEdit: () => void): void {
  host = container;
  onUserEdit = onEdit;
  const drawFront = canvas.drawFrontCanvas.bind(canvas);
  canvas.drawFrontCanvas = () => {
    frame++;
    drawFront();
    for (const [widget, entry] of placed) {
      if (!entry.element.isConnected) placed.delete(widget);
      else if (entry.frame !== frame) entry.element.hidden = true;
    }
  };
}

function createElement(widget: IBaseWidget): HTMLTextAreaElement {
  const element = document.createElement('textarea');
  element.className = 'node-textarea';
  element.spellcheck = false;
  element.dataset.widget = widget.name;
  const { placeholder } = widget.options as { placeholder?: unknown };
  if (typeof placeholder === 'string') element.placeholder = placeholder;
  element.addEventListener('input', () => {
    widget.value = element.value;
    onUserEdit();
  });
  // Keys typed into the box are text, not editor shortcuts (Delete would remove the node).
  element.addEventListener('keydown', (event) => event.stopPropagation());
  host?.append(element);
  return element;
}

/** Removes a node's textareas (node deleted or graph cleared). */
export function removeTextAreas(node: LGraphNode): void {
  for (const widget of node.widgets ?? []) {
    const entry = placed.get(widget);
    if (!entry) continue;
    entry.element.remove();
    placed.delete(widget);
  }
}

/** The textarea of a widget, if it was drawn (tests and focus handling). */
export function textAreaOf(widget: IBaseWidget): HTMLTextAreaElement | undefined {
  return placed.get(widget)?.element;
}

/** Adds a multiline text widget to a node; returns it. */
export function addTextAreaWidget(node: LGraphNode, name: string, value: string, placeholder?: string): IBaseWidget {
  const widget = {
    type: TEXT_AREA_TYPE,
    name,
    value,
    y: 0,
    options: { multiline: true, placeholder },
    computeLayoutSize: () => ({ minHeight: MIN_HEIGHT, maxHeight: 1e6, minWidth: 160 }),
    draw(this: IBaseWidget & { computedHeight?: number }, ctx: CanvasRenderingContext2D, owner: LGraphNode, width: number, y: number) {
      const canvas = owner.graph?.list_of_graphcanvas?.[0] as LGraphCanvas | undefined;
      if (!canvas || !host) return;
      const height = (this.computedHeight ?? MIN_HEIGHT) - 4;
      let entry = placed.get(this);
      if (!entry) {
        entry = { element: createElement(this), frame };
        placed.set(this, entry);
      }
      const { element } = entry;
      if (canvas.low_quality || owner.flags.collapsed) {
        // Too small to type in: a plain box stands in for the text.
        ctx.fillStyle = '#222';
        ctx.fillRect(MARGIN, y, width - MARGIN * 2, height);
        return;
      }
      entry.frame = frame;
      const scale = canvas.ds.scale;
      const [left, top] = canvas.ds.convertOffsetToCanvas([owner.pos[0] + MARGIN, owner.pos[1] + y]);
      // Sized in graph units and scaled with the canvas, so text zooms with the node.
      Object.assign(element.style, {
        left: `${left}px`,
        top: `${top}px`,
        width: `${width - MARGIN * 2}px`,
        height: `${height}px`,
        transform: `scale(${scale})`,
      });
      element.hidden = false;
      const text = String(this.value ?? '');
      if (element.value !== text && document.activeElement !== element) element.value = text;
    },
  };
  const added = node.addCustomWidget(widget as unknown as IBaseWidget);
  if (!(node as { textAreasOwned?: boolean }).textAreasOwned) {
    (node as { textAreasOwned?: boolean }).textAreasOwned = true;
    const removed = node.onRemoved;
    node.onRemoved = function (this: LGraphNode) {
      removed?.call(this);
      removeTextAreas(this);
    };
  }
  return added;
}

let measurer: HTMLTextAreaElement | undefined;

/** The height a textarea of this width needs to show `text` without scrolling (graph units). */
function textHeight(text: string, width: number): number {
  if (!measurer) {
    measurer = document.createElement('textarea');
    measurer.className = 'node-textarea';
    Object.assign(measurer.style, { visibility: 'hidden', left: '-10000px', top: '0px', height: '0px' });
    document.body.append(measurer);
  }
  measurer.style.width = `${width}px`;
  measurer.value = text;
  return measurer.scrollHeight + 2;
}

/** Grows a node so each of its text areas shows its whole text (after node.arrange()). */
export function fitTextAreaHeights(node: LGraphNode): void {
  let grow = 0;
  for (const widget of node.widgets ?? []) {
    if (widget.type !== TEXT_AREA_TYPE) continue;
    const shown = ((widget as { computedHeight?: number }).computedHeight ?? MIN_HEIGHT) - 4;
    grow += Math.max(0, textHeight(String(widget.value ?? ''), node.size[0] - MARGIN * 2) - shown);
  }
  if (grow > 0) node.setSize([node.size[0], node.size[1] + Math.ceil(grow)]);
}
