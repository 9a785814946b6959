// What the editor knows about the current run, per node id: running, progress, previews,
// output images and validation errors. Websocket events and POST /prompt answers fill it;
// node drawing and the test hooks read it.
import type { ImageRef, NodeErrorEntry } from './api-client.ts';

export interface NodeError {
  message: string;
  details: string;
  /** The input the error is about, when it names one. */
  input?: string;
}

export interface NodeRunState {
  progress?: { value: number; max: number };
  /** Latest live preview (binary frame) while the node runs. */
  preview?: HTMLImageElement;
  outputs: ImageRef[];
  images: HTMLImageElement[];
  errors: NodeError[];
  /** How the node took part in the last run: its time in ms, or "cached". */
  timing?: number | 'cached';
}

export class RunState {
  promptId: string | undefined;
  running: string | null = null;
  private runningSince: number | undefined;
  readonly nodes = new Map<string, NodeRunState>();
  /** Called whenever something visible changed (redraw). */
  onChange: () => void = () => {};

  node(id: string): NodeRunState {
    let state = this.nodes.get(id);
    if (!state) {
      state = { outputs: [], images: [], errors: [] };
      this.nodes.set(id, state);
    }
    return state;
  }

  clearErrors(): void {
    for (const state of this.nodes.values()) state.errors = [];
    this.onChange();
  }

  /** node_errors of a POST /prompt answer, attached to the nodes and inputs they name. */
  setNodeErrors(nodeErrors: Record<string, NodeErrorEntry>): void {
    for (const [id, entry] of Object.entries(nodeErrors)) {
      this.node(id).errors = entry.errors.map((e) => ({ message: e.message, details: e.details, input: e.extra_info?.input_name }));
    }
    this.onChange();
  }

  startPrompt(promptId: string): void {
    this.promptId = promptId;
    for (const state of this.nodes.values()) {
      state.progress = undefined;
      state.preview = undefined;
      state.timing = undefined;
    }
    this.onChange();
  }

  /** Nodes the server took from its cache (execution_cached): they did not run. */
  setCached(ids: string[]): void {
    for (const id of ids) this.node(id).timing = 'cached';
    this.onChange();
  }

  /** The clock of `executing` events: a node's time runs until the next node (or the end) starts. */
  setRunning(id: string | null, now = performance.now()): void {
    if (this.running !== null && this.running !== id) {
      const previous = this.node(this.running);
      previous.progress = undefined;
      previous.preview = undefined;
      if (this.runningSince !== undefined) previous.timing = now - this.runningSince;
    }
    if (this.running !== id) this.runningSince = now;
    this.running = id;
    this.onChange();
  }

  /** The run stopped (error, interrupt): the running node's clock stops with it. */
  stopRunning(now = performance.now()): void {
    this.setRunning(null, now);
  }

  setProgress(id: string, value: number, max: number): void {
    this.node(id).progress = { value, max };
    this.onChange();
  }

  setPreview(id: string, image: HTMLImageElement): void {
    const previous = this.node(id).preview;
    // Previews are blob: URLs made per frame; free the one being replaced.
    if (previous?.src.startsWith('blob:')) URL.revokeObjectURL(previous.src);
    this.node(id).preview = image;
    this.onChange();
  }

  setOutputs(id: string, outputs: ImageRef[], images: HTMLImageElement[]): void {
    const state = this.node(id);
    state.outputs = outputs;
    state.images = images;
    state.preview = undefined;
    this.onChange();
  }

  /** A runtime failure (execution_error) shown on the node that raised it. */
  setRuntimeError(id: string, message: string): void {
    this.node(id).errors = [{ message: 'Node failed', details: message.trim() }];
    this.onChange();
  }
}
