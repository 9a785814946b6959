// The editor's core: the litegraph graph and canvas, loading and saving workflows (UI 0.4,
// API prompts, PNGs with an embedded workflow), queueing, and the websocket run events.
import { LGraph, LGraphCanvas, LGraphGroup, LGraphNode as NodeClass, LiteGraph } from '@comfyorg/litegraph';
import type { LGraphNode } from '@comfyorg/litegraph';
import type { ApiPrompt, UiWorkflow } from '../../engine/graph/index.ts';
import { PromptError, type ApiClient, type ImageRef } from './api-client.ts';
import { apiPromptToWorkflow } from './api-to-workflow.ts';
import { graphToPrompt } from './graph-to-prompt.ts';
import { expandWorkflow, hasNestedNodes } from '../../engine/graph/workflow-expand.ts';
import { loadImage, registerNodeTypes, type EditorNode } from './node-classes.ts';
import { inputEntries, type ObjectInfo } from './node-info.ts';
import { pngTextChunks } from './png-text.ts';
import { RunState } from './run-state.ts';
import { registerVirtualNodes } from './virtual-nodes.ts';
import { installTextAreas } from './text-area-widget.ts';
import { applyControlAfterGenerate } from './widgets.ts';
import { arrangeGraph } from './graph-layout.ts';
import { UndoHistory } from './undo-history.ts';

const STORAGE_KEY = 'invgraph.workflow';

export interface EditorOptions {
  api: ApiClient;
  objectInfo: ObjectInfo;
  canvasElement: HTMLCanvasElement;
  /** Shows a message to the user (errors, notices). */
  notify(message: string, kind?: 'error' | 'info'): void;
  pickAndUpload(): Promise<ImageRef | undefined>;
}

const GAP = 20;
/** The smallest zoom fitView uses: 14 px node text stays about 11 px high. */
export const READABLE_ZOOM = 0.8;
const EDITOR_ONLY_TYPES = new Set(['Reroute', 'PrimitiveNode', 'Note', 'MarkdownNote']);
const MODE_ALWAYS = 0;
const MODE_MUTED = 2;
const MODE_BYPASS = 4;

function overlaps(a: LGraphNode, b: LGraphNode): boolean {
  const title = LiteGraph.NODE_TITLE_HEIGHT;
  return a.pos[0] < b.pos[0] + b.size[0] + GAP && b.pos[0] < a.pos[0] + a.size[0] + GAP && a.pos[1] - title < b.pos[1] + b.size[1] && b.pos[1] - title < a.pos[1] + a.size[1];
}

function isApiPrompt(json: object): boolean {
  const nodes = Object.values(json);
  return nodes.length > 0 && nodes.every((node) => typeof node === 'object' && node !== null && typeof node.class_type === 'string' && typeof node.inputs === 'object' && node.inputs !== null);
}

export class Editor {
  readonly graph = new LGraph();
  readonly canvas: LGraphCanvas;
  readonly state = new RunState();
  readonly api: ApiClient;
  objectInfo: ObjectInfo;
  private readonly notify: EditorOptions['notify'];
  private readonly pickAndUpload: EditorOptions['pickAndUpload'];
  private lastSaved = '';
  /** Undo/redo over snapshots of the graph, recorded after each edit settles (bounded). */
  readonly history = new UndoHistory(() => this.undoState(), (state) => this.restoreState(state), 100);
  private checkpointQueued = false;
  private typingTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: EditorOptions) {
    this.api = options.api;
    this.objectInfo = options.objectInfo;
    this.notify = options.notify;
    this.pickAndUpload = options.pickAndUpload;
    this.registerTypes();
    this.canvas = new LGraphCanvas(options.canvasElement, this.graph);
    this.canvas.show_info = false;
    this.canvas.render_canvas_border = false;
    // litegraph hides text below 60% zoom; whole workflows fit at about 50%.
    this.canvas.low_quality_zoom_threshold = 0.35;
    this.state.onChange = () => this.canvas.setDirty(true, true);
    installTextAreas(this.canvas, options.canvasElement.parentElement ?? document.body, () => this.onUserEdit());
    this.listen();
    this.watchEdits();
  }

  /** The graph as undo records it: its serialized form without the view (pan and zoom are no edit). */
  private undoState(): string {
    const workflow = this.graph.serialize() as unknown as { extra?: Record<string, unknown> };
    if (workflow.extra) delete workflow.extra.ds;
    return JSON.stringify(workflow);
  }

  private restoreState(state: string): void {
    this.graph.configure(JSON.parse(state));
    this.canvas.setDirty(true, true);
  }

  /**
   * Records an undo step once the current event is handled. Called generously (litegraph's
   * afterChange, every pointer and key release): a step is only recorded when the graph changed.
   */
  scheduleCheckpoint(): void {
    if (this.checkpointQueued) return;
    this.checkpointQueued = true;
    setTimeout(() => {
      this.checkpointQueued = false;
      this.history.checkpoint();
    }, 0);
  }

  undo(): void {
    this.flushTyping();
    this.history.undo();
  }

  redo(): void {
    this.flushTyping();
    this.history.redo();
  }

  private flushTyping(): void {
    if (this.typingTimer === undefined) return;
    clearTimeout(this.typingTimer);
    this.typingTimer = undefined;
    this.history.checkpoint();
  }

  private watchEdits(): void {
    this.graph.onAfterChange = () => this.scheduleCheckpoint();
    window.addEventListener('pointerup', () => this.scheduleCheckpoint(), true);
    window.addEventListener('keyup', (event) => {
      // Typing in a text box or value dialog is one step once the typing pauses.
      if (event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) this.onUserEdit();
      else this.scheduleCheckpoint();
    }, true);
    this.history.checkpoint();
  }

  private registerTypes(): void {
    registerNodeTypes(this.objectInfo, { api: this.api, state: this.state, pickAndUpload: this.pickAndUpload });
    registerVirtualNodes();
  }

  /** Adds a node of `type` at a canvas position (graph space); null for an unknown type. */
  addNode(type: string, pos?: [number, number]): LGraphNode | null {
    const node = LiteGraph.createNode(type);
    if (!node) return null;
    const [cx, cy] = pos ?? this.visibleCentre();
    node.pos = [cx - node.size[0] / 2, cy - node.size[1] / 2];
    // A node added from the palette moves right until it covers no other node.
    while (!pos && this.graph._nodes.some((other) => overlaps(node, other))) node.pos[0] += 60;
    this.graph.add(node);
    return node;
  }

  visibleCentre(): [number, number] {
    const element = this.canvas.canvas;
    const [x, y] = this.canvas.ds.convertCanvasToOffset([element.clientWidth / 2, element.clientHeight / 2]);
    return [x, y];
  }

  serialize(): UiWorkflow {
    return this.graph.serialize() as unknown as UiWorkflow;
  }

  toPrompt(): ApiPrompt {
    return graphToPrompt(this.serialize(), this.objectInfo);
  }

  /** Loads a UI workflow (0.4 or 1) or an API prompt; reports node types this server lacks. */
  loadWorkflow(json: unknown, source: string): void {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      this.notify(`${source} is not a workflow: expected a JSON object.`, 'error');
      return;
    }
    const isUi = Array.isArray((json as { nodes?: unknown }).nodes);
    if (!isUi && !isApiPrompt(json)) {
      this.notify(`${source} is neither a workflow (no "nodes" list) nor an API prompt (nodes with "class_type" and "inputs").`, 'error');
      return;
    }
    let workflow = isUi ? (json as UiWorkflow) : apiPromptToWorkflow(json as ApiPrompt, this.objectInfo);
    // This editor draws one flat graph: subgraphs and group nodes are unpacked into their nodes
    // with the ids they run under (e.g. "10:3"), so queueing gives the prompt the server would.
    let unpacked = false;
    if (isUi && Array.isArray(workflow.links) && hasNestedNodes(workflow)) {
      try {
        workflow = expandWorkflow(workflow, (type) => (Object.hasOwn(this.objectInfo, type) ? this.objectInfo[type] : undefined));
        unpacked = true;
      } catch (error) {
        this.notify(`${source} could not be opened: ${(error as Error).message}`, 'error');
        return;
      }
    }
    const missing = [...new Set(workflow.nodes.map((n) => n.type).filter((t) => !(t in this.objectInfo) && !EDITOR_ONLY_TYPES.has(t)))];
    this.state.nodes.clear();
    this.state.running = null;
    try {
      this.graph.configure(workflow as never);
    } catch (error) {
      this.graph.clear();
      this.notify(`${source} could not be opened: ${(error as Error).message}. Is it a ComfyUI/invgraph workflow (version 0.4 or 1)?`, 'error');
      return;
    }
    this.fitView();
    this.history.checkpoint(); // loading is an edit too: undo goes back to the graph before
    if (missing.length > 0) this.notify(`${source}: this server has no node type ${missing.join(', ')}; those nodes are kept but cannot run.`, 'error');
    else if (unpacked) this.notify(`${source}: its subgraphs and group nodes were unpacked into their nodes; saving keeps them unpacked.`, 'info');
    this.canvas.setDirty(true, true);
  }

  /**
   * Zooms and pans to show the workflow at a readable zoom: the whole graph when it fits at
   * READABLE_ZOOM or more (never past 100%), else its top-left part at READABLE_ZOOM
   * (text below ~10 px is not readable; a user pans or zooms out from there).
   */
  fitView(): void {
    const nodes = this.graph._nodes;
    if (nodes.length === 0) return;
    const title = LiteGraph.NODE_TITLE_HEIGHT;
    const left = Math.min(...nodes.map((n) => n.pos[0]));
    const top = Math.min(...nodes.map((n) => n.pos[1] - title));
    const right = Math.max(...nodes.map((n) => n.pos[0] + n.size[0]));
    const bottom = Math.max(...nodes.map((n) => n.pos[1] + n.size[1]));
    const element = this.canvas.canvas;
    const [width, height] = [element.clientWidth, element.clientHeight];
    const margin = 30;
    const fit = Math.min((width - 2 * margin) / (right - left), (height - 2 * margin) / (bottom - top));
    const scale = Math.max(READABLE_ZOOM, Math.min(1, fit));
    const ds = this.canvas.ds;
    ds.scale = scale;
    // screen = (graph + offset) * scale: centre what fits, else start at the top-left corner.
    const screenLeft = fit >= scale ? (width - (right - left) * scale) / 2 : margin;
    const screenTop = fit >= scale ? (height - (bottom - top) * scale) / 2 : margin;
    ds.offset[0] = screenLeft / scale - left;
    ds.offset[1] = screenTop / scale - top;
    this.canvas.setDirty(true, true);
  }

  /** Arrange: lays the graph out in columns by link depth (no overlaps, no hidden links), then fits the view. */
  arrange(): void {
    arrangeGraph(this.graph);
    this.fitView();
    this.scheduleCheckpoint();
  }

  /** A dropped or picked file: workflow JSON, PNG with an embedded workflow, or an image. */
  async loadFile(file: File, canvasPos?: [number, number]): Promise<void> {
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (file.name.endsWith('.json') || file.type === 'application/json') {
      try {
        this.loadWorkflow(JSON.parse(new TextDecoder().decode(bytes)), file.name);
      } catch (error) {
        this.notify(`${file.name} is not valid JSON: ${(error as Error).message}`, 'error');
      }
      return;
    }
    const texts = pngTextChunks(bytes);
    const embedded = texts?.workflow ?? texts?.prompt;
    if (embedded && !(canvasPos && this.imageTargetAt(canvasPos))) {
      try {
        this.loadWorkflow(JSON.parse(embedded), file.name);
      } catch (error) {
        this.notify(`${file.name} carries a workflow that is not valid JSON: ${(error as Error).message}`, 'error');
      }
      return;
    }
    if (!file.type.startsWith('image/')) {
      this.notify(`${file.name}: drop a workflow (.json), a PNG saved by invgraph/ComfyUI, or an image.`, 'error');
      return;
    }
    await this.dropImage(file, canvasPos);
  }

  private imageTargetAt(pos: [number, number]): EditorNode | undefined {
    const node = this.graph.getNodeOnPos(pos[0], pos[1]) as EditorNode | null;
    return node?.acceptImage ? node : undefined;
  }

  /** An image dropped on a LoadImage node goes into it; elsewhere it gets a new LoadImage. */
  private async dropImage(file: File, pos?: [number, number]): Promise<void> {
    const image = await this.api.uploadImage(file);
    let target = pos ? this.imageTargetAt(pos) : undefined;
    target ??= (this.addNode('LoadImage', pos) ?? undefined) as EditorNode | undefined;
    target?.acceptImage?.(image);
  }

  async queue(): Promise<string | undefined> {
    const workflow = this.serialize();
    let prompt: ApiPrompt;
    try {
      prompt = graphToPrompt(workflow, this.objectInfo);
    } catch (error) {
      this.notify((error as Error).message, 'error');
      return undefined;
    }
    this.state.clearErrors();
    try {
      const answer = await this.api.queuePrompt(prompt, workflow);
      this.state.setNodeErrors(answer.node_errors);
      for (const node of this.graph._nodes) applyControlAfterGenerate(node);
      return answer.prompt_id;
    } catch (error) {
      if (error instanceof PromptError) this.state.setNodeErrors(error.body.node_errors ?? {});
      this.notify((error as Error).message, 'error');
      return undefined;
    }
  }

  /** Reloads /object_info (new model or input files) and updates every node's lists. */
  async refreshDefinitions(): Promise<void> {
    this.objectInfo = await this.api.objectInfo();
    this.registerTypes();
    for (const node of this.graph._nodes) {
      const info = this.objectInfo[String(node.type)];
      if (!info) continue;
      for (const entry of inputEntries(info)) {
        const widget = entry.widget === 'COMBO' ? node.widgets?.find((w) => w.name === entry.name) : undefined;
        if (widget) (widget.options as { values?: unknown }).values = entry.values;
      }
    }
    this.canvas.setDirty(true, true);
  }

  /** Ctrl+M / Ctrl+B: mute or bypass the selected nodes (again: back to normal). */
  toggleMode(mode: typeof MODE_MUTED | typeof MODE_BYPASS): void {
    for (const item of this.canvas.selectedItems) {
      const node = item as LGraphNode;
      if (typeof node.mode === 'number') node.mode = node.mode === mode ? MODE_ALWAYS : mode;
    }
    this.canvas.setDirty(true, true);
  }

  /** A user edit outside litegraph's own events (typing in a textarea): one undo step when typing pauses. */
  onUserEdit(): void {
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => {
      this.typingTimer = undefined;
      this.history.checkpoint();
    }, 400);
  }

  /** Ctrl+G: a group around the selected nodes (as ComfyUI); dragging its title moves them. */
  groupSelection(): LGraphGroup | undefined {
    const nodes = [...this.canvas.selectedItems].filter((item): item is LGraphNode => item instanceof NodeClass);
    if (nodes.length === 0) {
      this.notify('Select the nodes to group first (click, Ctrl+click or Ctrl+drag).', 'info');
      return undefined;
    }
    const group = new LGraphGroup('Group');
    group.resizeTo(nodes, 10);
    this.graph.add(group);
    this.scheduleCheckpoint();
    this.canvas.setDirty(true, true);
    return group;
  }

  /** Saves the graph to localStorage when it changed, so a reload restores it. */
  persist(): void {
    const text = JSON.stringify(this.serialize());
    if (text === this.lastSaved) return;
    this.lastSaved = text;
    localStorage.setItem(STORAGE_KEY, text);
  }

  restore(): boolean {
    const text = localStorage.getItem(STORAGE_KEY);
    if (!text) return false;
    try {
      this.loadWorkflow(JSON.parse(text), 'the last session');
      this.lastSaved = text;
      return true;
    } catch {
      localStorage.removeItem(STORAGE_KEY);
      return false;
    }
  }

  private on<T>(type: string, handler: (data: T) => void): void {
    this.api.addEventListener(type, (event) => handler((event as CustomEvent<T>).detail));
  }

  private listen(): void {
    this.on<{ prompt_id: string }>('execution_start', (d) => this.state.startPrompt(d.prompt_id));
    this.on<{ node: string | null; display_node?: string }>('executing', (d) => this.state.setRunning(d.display_node ?? d.node));
    this.on<{ node: string; value: number; max: number }>('progress', (d) => this.state.setProgress(d.node, d.value, d.max));
    this.on<{ node: string; display_node?: string; output: { images?: ImageRef[] } | null }>('executed', (d) => {
      const images = d.output?.images ?? [];
      const elements = images.map((ref) => loadImage(this.api.viewUrl(ref)));
      for (const element of elements) element.addEventListener('load', () => this.canvas.setDirty(true, true));
      this.state.setOutputs(d.display_node ?? d.node, images, elements);
    });
    this.on<{ nodes: string[] }>('execution_cached', (d) => this.state.setCached(d.nodes ?? []));
    this.on<{ node_id: string; node_type: string; exception_message: string }>('execution_error', (d) => {
      this.state.stopRunning();
      this.state.setRuntimeError(d.node_id, d.exception_message);
      this.notify(`${d.node_type} (#${d.node_id}) failed: ${d.exception_message}`, 'error');
    });
    this.on<{ node_id: string }>('execution_interrupted', () => {
      this.state.stopRunning();
      this.notify('Interrupted.', 'info');
    });
    this.on<{ blob: Blob; nodeId?: string }>('preview', (d) => {
      const id = d.nodeId ?? this.state.running;
      if (id === null) return;
      const image = loadImage(URL.createObjectURL(d.blob));
      image.addEventListener('load', () => this.state.setPreview(id, image));
    });
  }
}
