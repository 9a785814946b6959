// Read-only views of the editor for the browser tests' page object (test/browser/editor-page.ts):
// where nodes, sockets and widgets are on screen, and the run state. Tests act through real
// mouse and keyboard input; these hooks only tell them where to point and what to wait for.
import type { Editor } from './editor.ts';
import { LiteGraph, type LGraphNode } from '@comfyorg/litegraph';
import type { EditorNode } from './node-classes.ts';
import { textAreaOf } from './text-area-widget.ts';
import { layoutInput, layoutProblems } from './graph-layout.ts';

export interface RunSnapshot {
  running: string | null;
  promptId: string | undefined;
  nodes: Record<string, { progress?: { value: number; max: number }; outputs: string[]; imagesLoaded: number; hasPreview: boolean; errors: { message: string; details: string; input?: string }[] }>;
}

export interface RunEvent {
  type: string;
  node?: string | null;
  value?: number;
  max?: number;
}

export function exposeTestHooks(editor: Editor): void {
  // Every run event the editor handled, in order, so tests can check what the user saw.
  const events: RunEvent[] = [];
  for (const type of ['execution_start', 'executing', 'progress', 'executed', 'execution_error', 'execution_interrupted', 'execution_success', 'preview']) {
    editor.api.addEventListener(type, (event) => {
      const d = (event as CustomEvent<{ node?: string | null; nodeId?: string; value?: number; max?: number }>).detail;
      events.push({ type, node: 'node' in d ? d.node : d.nodeId, value: d.value, max: d.max });
    });
  }
  const toClient = (x: number, y: number): [number, number] => {
    const [cx, cy] = editor.canvas.ds.convertOffsetToCanvas([x, y]);
    const rect = editor.canvas.canvas.getBoundingClientRect();
    return [rect.left + cx, rect.top + cy];
  };
  const node = (id: string) => {
    // Widget positions are laid out while drawing: draw now so they are current.
    editor.canvas.draw(true, true);
    const found = editor.graph.getNodeById(id);
    if (!found) throw new Error(`no node ${id}`);
    return found;
  };
  /** A node-space rectangle of a node → [left, top, width, height] in client pixels. */
  const rectToClient = (n: LGraphNode, rect: [number, number, number, number] | undefined) => {
    if (!rect) return null;
    const [x, y] = toClient(n.pos[0] + rect[0], n.pos[1] + rect[1]);
    const scale = editor.canvas.ds.scale;
    return [x, y, rect[2] * scale, rect[3] * scale];
  };
  const hooks = {
    /** Where the last frame drew the node's image (preview/output) and its progress bar. */
    drawnRects: (id: string) => {
      const target = node(id) as EditorNode;
      return { image: rectToClient(target, target.imageRect), progress: rectToClient(target, target.progressRect) };
    },
    /** The on-screen textarea of a multiline widget: its text and client rectangle. */
    textArea: (id: string, name: string) => {
      const widget = node(id).widgets?.find((w) => w.name === name);
      const element = widget ? textAreaOf(widget) : undefined;
      if (!element || element.hidden) return null;
      const r = element.getBoundingClientRect();
      return { value: element.value, rect: [r.left, r.top, r.width, r.height], scrollHeight: element.scrollHeight, clientHeight: element.clientHeight };
    },
    timings: () => Object.fromEntries([...editor.state.nodes].filter(([, s]) => s.timing !== undefined).map(([id, s]) => [id, s.timing])),
    scale: () => editor.canvas.ds.scale,
    toClientPoint: (x: number, y: number) => toClient(x, y),
    groups: () => editor.graph._groups.map((g) => ({ title: g.title, bounding: [...g._bounding], nodes: [...g._children].filter((c) => 'id' in c && 'type' in c).map((c) => String((c as LGraphNode).id)) })),
    /** Overlapping nodes and links drawn behind a third node (litegraph's spline sampled), graph space. */
    layoutProblems: () => {
      editor.canvas.draw(true, true);
      return layoutProblems(editor.graph);
    },
    undoDepth: () => editor.history.depth,
    /** A client point over the canvas with no node or group under it (where a click deselects). */
    emptyCanvasPoint: (fromRight = false) => {
      const rect = editor.canvas.canvas.getBoundingClientRect();
      const xs: number[] = [];
      for (let x = rect.left + 40; x < rect.right - 20; x += 20) xs.push(x);
      if (fromRight) xs.reverse();
      for (let y = rect.top + 40; y < rect.bottom - 20; y += 20) {
        for (const x of xs) {
          const [gx, gy] = editor.canvas.ds.convertCanvasToOffset([x - rect.left, y - rect.top]);
          const free = (r: number[], pad: number) => gx < r[0] - pad || gx > r[0] + r[2] + pad || gy < r[1] - pad || gy > r[1] + r[3] + pad;
          const title = LiteGraph.NODE_TITLE_HEIGHT;
          if (editor.graph._nodes.every((n) => free([n.pos[0], n.pos[1] - title, n.size[0], n.size[1] + title], 30)) && editor.graph._groups.every((g) => free([...g._bounding], 30))) return [x, y];
        }
      }
      throw new Error('no empty spot on the canvas');
    },
    layoutInput: () => layoutInput(editor.graph),
    nodeBounds: (id: string) => {
      const n = node(id);
      return [n.pos[0], n.pos[1] - LiteGraph.NODE_TITLE_HEIGHT, n.size[0], n.size[1] + LiteGraph.NODE_TITLE_HEIGHT];
    },
    nodes: () => editor.graph._nodes.map((n) => ({ id: String(n.id), type: String(n.type), title: String(n.title) })),
    inputPosition: (id: string, name: string) => {
      const target = node(id);
      const index = target.inputs.findIndex((slot) => slot.name === name);
      return toClient(...(target.getInputPos(index) as [number, number]));
    },
    outputPosition: (id: string, index: number) => toClient(...(node(id).getOutputPos(index) as [number, number])),
    titlePosition: (id: string) => {
      const target = node(id);
      return toClient(target.pos[0] + target.size[0] / 2, target.pos[1] - LiteGraph.NODE_TITLE_HEIGHT / 2);
    },
    widgetPosition: (id: string, name: string) => {
      const target = node(id);
      const widget = target.widgets?.find((w) => w.name === name);
      if (!widget) throw new Error(`node ${id} has no widget ${name}`);
      return toClient(target.pos[0] + target.size[0] / 2, target.pos[1] + widget.y + LiteGraph.NODE_WIDGET_HEIGHT / 2);
    },
    widgetValue: (id: string, name: string) => node(id).widgets?.find((w) => w.name === name)?.value,
    widgetOptions: (id: string, name: string) => (node(id).widgets?.find((w) => w.name === name)?.options as { values?: unknown } | undefined)?.values,
    links: () => [...editor.graph._links.values()].map((l) => ({ id: l.id, from: String(l.origin_id), fromSlot: l.origin_slot, to: String(l.target_id), toSlot: l.target_slot, type: String(l.type) })),
    events: () => events,
    workflow: () => editor.serialize(),
    prompt: () => editor.toPrompt(),
    run: (): RunSnapshot => {
      const nodes: RunSnapshot['nodes'] = {};
      for (const [id, s] of editor.state.nodes) {
        nodes[id] = {
          progress: s.progress,
          outputs: s.outputs.map((o) => o.filename),
          imagesLoaded: s.images.filter((i) => i.complete && i.naturalWidth > 0).length,
          hasPreview: s.preview !== undefined,
          errors: s.errors,
        };
      }
      return { running: editor.state.running, promptId: editor.state.promptId, nodes };
    },
  };
  (window as unknown as { invgraph: typeof hooks }).invgraph = hooks;
}
