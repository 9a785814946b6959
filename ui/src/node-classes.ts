// One litegraph node class per /object_info entry: typed, colour-coded sockets, widgets from
// the input specs, LoadImage's upload + preview, and drawing of the run state (executing
// outline, progress bar, previews, output images, errors on the node and its inputs).
import { LGraphCanvas, LGraphNode, LiteGraph } from '@comfyorg/litegraph';
import type { IBaseWidget } from '@comfyorg/litegraph/dist/types/widgets';
import type { ApiClient, ImageRef } from './api-client.ts';
import { inputEntries, type NodeInfo, type ObjectInfo } from './node-info.ts';
import type { NodeError, RunState } from './run-state.ts';
import { typeColour, typesMatch } from './type-match.ts';
import { addInputWidget } from './widgets.ts';

export interface NodeClassDeps {
  api: ApiClient;
  state: RunState;
  /** Opens the file picker and uploads; resolves to the stored name. */
  pickAndUpload(): Promise<ImageRef | undefined>;
}

const RUNNING_COLOUR = '#3fdc6a';
const ERROR_COLOUR = '#ff4b4b';

/** "sub/name.png [output]" → the /view reference of an image COMBO value. */
export function imageRefOf(value: string, folder = 'input'): ImageRef {
  const match = /^(.*) \[(input|output|temp)\]$/.exec(value);
  const path = match ? match[1] : value;
  const slash = path.lastIndexOf('/');
  return { filename: path.slice(slash + 1), subfolder: slash < 0 ? '' : path.slice(0, slash), type: match ? match[2] : folder };
}

export function loadImage(url: string): HTMLImageElement {
  const image = new Image();
  image.src = url;
  return image;
}

/** Sockets and links of one type share a colour; connections follow ComfyUI's type rules. */
export function installTypeRules(objectInfo: ObjectInfo): void {
  LiteGraph.isValidConnection = (a, b) => typesMatch(a, b);
  const types = new Set<string>();
  for (const info of Object.values(objectInfo)) for (const type of info.output) types.add(String(type));
  for (const type of types) LGraphCanvas.link_type_colors[type] = typeColour(type);
}

/** The y (node space) below the last widget or socket, where images are drawn. */
function contentTop(node: LGraphNode): number {
  const widgets = node.widgets ?? [];
  const last = widgets.at(-1);
  if (last) return last.y + (last.computedHeight ?? LiteGraph.NODE_WIDGET_HEIGHT + 4) + 2;
  const slots = Math.max(node.inputs?.length ?? 0, node.outputs?.length ?? 0);
  return slots * LiteGraph.NODE_SLOT_HEIGHT + 8;
}

/** Height a live preview gets below the widgets (the node grows to make room once). */
const PREVIEW_HEIGHT = 220;

/** Draws images below the widgets; returns the rectangle (node space) they took, if any. */
function drawImages(node: LGraphNode, ctx: CanvasRenderingContext2D, images: HTMLImageElement[]): Rect | undefined {
  const top = contentTop(node);
  const ready = images.filter((image) => image.complete && image.naturalWidth > 0);
  if (ready.length === 0) return undefined;
  const height = node.size[1] - top - 4;
  const cell = (node.size[0] - 8) / ready.length;
  if (height < 16) return undefined;
  let drawn: Rect | undefined;
  for (const [index, image] of ready.entries()) {
    const scale = Math.min(cell / image.naturalWidth, height / image.naturalHeight);
    const w = image.naturalWidth * scale;
    const h = image.naturalHeight * scale;
    const x = 4 + index * cell + (cell - w) / 2;
    const y = top + (height - h) / 2;
    ctx.drawImage(image, x, y, w, h);
    drawn ??= [x, y, w, h];
  }
  return drawn;
}

/** x, y, width, height in node space. */
export type Rect = [number, number, number, number];

function drawErrors(node: LGraphNode, ctx: CanvasRenderingContext2D, errors: NodeError[]): void {
  ctx.strokeStyle = ERROR_COLOUR;
  ctx.lineWidth = 3;
  ctx.strokeRect(-2, -LiteGraph.NODE_TITLE_HEIGHT - 2, node.size[0] + 4, node.size[1] + LiteGraph.NODE_TITLE_HEIGHT + 4);
  ctx.font = '12px sans-serif';
  ctx.fillStyle = ERROR_COLOUR;
  for (const [index, error] of errors.entries()) {
    ctx.fillText(`${error.message}: ${error.details}`.slice(0, 80), 0, node.size[1] + 16 + index * 14);
  }
  for (const error of errors) {
    if (!error.input) continue;
    const widget = node.widgets?.find((w) => w.name === error.input);
    if (widget) ctx.strokeRect(6, widget.y, node.size[0] - 12, LiteGraph.NODE_WIDGET_HEIGHT);
    const slot = node.inputs?.findIndex((input) => input.name === error.input) ?? -1;
    if (slot >= 0) {
      const [x, y] = node.getInputPos(slot);
      ctx.beginPath();
      ctx.arc(x - node.pos[0], y - node.pos[1], 7, 0, Math.PI * 2);
      ctx.stroke();
    }
  }
}

/** Muted nodes fade out, bypassed ones turn purple, as in ComfyUI's editor. */
function drawMode(node: LGraphNode, ctx: CanvasRenderingContext2D): void {
  const mode = node.mode as number;
  if (mode !== 2 && mode !== 4) return;
  ctx.fillStyle = mode === 2 ? 'rgba(20, 20, 20, 0.6)' : 'rgba(150, 60, 200, 0.35)';
  ctx.fillRect(0, -LiteGraph.NODE_TITLE_HEIGHT, node.size[0], node.size[1] + LiteGraph.NODE_TITLE_HEIGHT);
}

const BAR_HEIGHT = 22;

/** A clear progress bar with the step count, just above the running node's title. */
function drawProgress(node: LGraphNode, ctx: CanvasRenderingContext2D, progress: { value: number; max: number }): Rect {
  const rect: Rect = [0, -LiteGraph.NODE_TITLE_HEIGHT - BAR_HEIGHT - 6, node.size[0], BAR_HEIGHT];
  const fraction = Math.min(1, progress.value / Math.max(1, progress.max));
  ctx.fillStyle = '#111';
  ctx.fillRect(...rect);
  ctx.fillStyle = RUNNING_COLOUR;
  ctx.fillRect(rect[0], rect[1], rect[2] * fraction, rect[3]);
  ctx.strokeStyle = RUNNING_COLOUR;
  ctx.lineWidth = 1;
  ctx.strokeRect(...rect);
  ctx.font = 'bold 14px sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  const label = `Step ${progress.value} / ${progress.max}`;
  ctx.lineWidth = 3;
  ctx.strokeStyle = '#000';
  ctx.strokeText(label, rect[2] / 2, rect[1] + rect[3] / 2);
  ctx.fillStyle = '#fff';
  ctx.fillText(label, rect[2] / 2, rect[1] + rect[3] / 2);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  return rect;
}

/** "1.24 s" / "cached" at the right end of the title bar: the node's share of the last run. */
function drawTiming(node: LGraphNode, ctx: CanvasRenderingContext2D, timing: number | 'cached'): void {
  const label = timing === 'cached' ? 'cached' : timing < 1000 ? `${Math.round(timing)} ms` : `${(timing / 1000).toFixed(2)} s`;
  ctx.font = '11px sans-serif';
  const width = ctx.measureText(label).width + 10;
  const x = node.size[0] - width - 6;
  const y = -LiteGraph.NODE_TITLE_HEIGHT + 6;
  ctx.fillStyle = 'rgba(0, 0, 0, 0.55)';
  ctx.fillRect(x, y, width, LiteGraph.NODE_TITLE_HEIGHT - 12);
  ctx.fillStyle = timing === 'cached' ? '#9ab' : '#cfe';
  ctx.textBaseline = 'middle';
  ctx.fillText(label, x + 5, -LiteGraph.NODE_TITLE_HEIGHT / 2);
  ctx.textBaseline = 'alphabetic';
}

function drawRunState(node: LGraphNode, ctx: CanvasRenderingContext2D, state: RunState): void {
  drawMode(node, ctx);
  const id = String(node.id);
  const run = state.nodes.get(id);
  const editorNode = node as EditorNode;
  editorNode.progressRect = undefined;
  if (state.running === id) {
    ctx.strokeStyle = RUNNING_COLOUR;
    ctx.lineWidth = 3;
    ctx.strokeRect(-3, -LiteGraph.NODE_TITLE_HEIGHT - 3, node.size[0] + 6, node.size[1] + LiteGraph.NODE_TITLE_HEIGHT + 6);
  }
  if (run?.progress && state.running === id) editorNode.progressRect = drawProgress(node, ctx, run.progress);
  if (run?.timing !== undefined && state.running !== id) drawTiming(node, ctx, run.timing);
  if (run && run.errors.length > 0) drawErrors(node, ctx, run.errors);
}

/** LoadImage-style COMBO: upload button, preview of the chosen file, drop target. */
function addImageUpload(node: LGraphNode, widget: IBaseWidget, deps: NodeClassDeps, folder: string): void {
  const editorNode = node as EditorNode;
  const refresh = () => {
    const value = String(widget.value ?? '');
    editorNode.inputPreview = value ? loadImage(deps.api.viewUrl(imageRefOf(value, folder))) : undefined;
    editorNode.inputPreview?.addEventListener('load', () => node.setDirtyCanvas(true, false));
  };
  widget.callback = refresh;
  editorNode.refreshInputPreview = refresh;
  editorNode.acceptImage = (image: ImageRef) => {
    const name = image.subfolder ? `${image.subfolder}/${image.filename}` : image.filename;
    const values = (widget.options as { values: string[] }).values;
    if (!values.includes(name)) values.push(name);
    widget.value = name;
    refresh();
  };
  const button = node.addWidget('button', 'choose file to upload', 'image', () => {
    void deps.pickAndUpload().then((image) => image && editorNode.acceptImage?.(image));
  }, {});
  button.serialize = false;
}

export interface EditorNode extends LGraphNode {
  inputPreview?: HTMLImageElement;
  /** Where the last frame drew the node's image and progress bar (node space; test hooks). */
  imageRect?: Rect;
  progressRect?: Rect;
  refreshInputPreview?: () => void;
  acceptImage?: (image: ImageRef) => void;
}

function buildNode(node: LGraphNode, info: NodeInfo, deps: NodeClassDeps): void {
  for (const entry of inputEntries(info)) {
    if (entry.widget === undefined) {
      const slot = node.addInput(entry.name, entry.type);
      slot.color_on = slot.color_off = typeColour(entry.type);
      if (entry.options.display_name) slot.label = entry.options.display_name;
      continue;
    }
    const widget = addInputWidget(node, entry);
    if (entry.options.image_upload) addImageUpload(node, widget, deps, entry.options.image_folder ?? 'input');
  }
  for (const [index, type] of info.output.entries()) {
    const name = info.output_name[index] ?? String(type);
    const slot = node.addOutput(name, Array.isArray(type) ? 'COMBO' : String(type));
    slot.color_on = slot.color_off = typeColour(String(type));
  }
  node.serialize_widgets = true;
  const size = node.computeSize();
  // Room below the widgets for output images (output nodes) or the chosen file's preview.
  const showsImages = info.output_node || inputEntries(info).some((entry) => entry.options.image_upload);
  node.size = [Math.max(size[0], 220), Math.max(size[1], showsImages ? 280 : size[1])];
}

/** Registers one class per node type; safe to call again after /object_info changed. */
export function registerNodeTypes(objectInfo: ObjectInfo, deps: NodeClassDeps): void {
  installTypeRules(objectInfo);
  for (const [name, info] of Object.entries(objectInfo)) {
    class ComfyNode extends LGraphNode {
      static override title = info.display_name || name;
      constructor(title: string) {
        super(title);
        // ComfyUI's editor saves this property on every node; its files expect it.
        this.properties = { 'Node name for S&R': name };
        buildNode(this, info, deps);
      }
      override onSerialize(serialised: { widgets_values?: unknown[] }): void {
        // litegraph leaves holes for unsaved widgets; ComfyUI files have none.
        serialised.widgets_values = (this.widgets ?? []).filter((w) => w.serialize !== false).map((w) => w.value);
      }
      override onConfigure(): void {
        (this as EditorNode).refreshInputPreview?.();
      }
      override onDrawBackground(ctx: CanvasRenderingContext2D): void {
        const run = deps.state.nodes.get(String(this.id));
        const self = this as EditorNode;
        // A node without room for images (a sampler) grows once when its first preview arrives.
        const wanted = contentTop(this) + PREVIEW_HEIGHT;
        if (run?.preview && this.size[1] < wanted) this.setSize([this.size[0], wanted]);
        const images = run?.preview ? [run.preview] : run?.images.length ? run.images : self.inputPreview ? [self.inputPreview] : [];
        self.imageRect = drawImages(this, ctx, images);
      }
      override onDrawForeground(ctx: CanvasRenderingContext2D): void {
        drawRunState(this, ctx, deps.state);
      }
    }
    LiteGraph.registerNodeType(name, ComfyNode as unknown as typeof LGraphNode);
    (ComfyNode as unknown as { category: string }).category = info.category;
    (ComfyNode as unknown as { description: string }).description = info.description;
  }
}
