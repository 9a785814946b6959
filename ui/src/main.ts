// Editor entry point: finds the access token, loads /object_info, builds the editor and wires
// the toolbar, palette, queue panel, workflow menu, file drop and keyboard shortcuts.
import { ApiClient, AuthRequiredError, type ImageRef } from './api-client.ts';
import { Editor } from './editor.ts';
import { exposeTestHooks } from './test-hooks.ts';
import { buildPalette, NODE_DRAG_TYPE } from './palette.ts';
import { QueuePanel } from './queue-panel.ts';
import { setupWorkflowMenu, downloadJson } from './workflow-menu.ts';

const TOKEN_KEY = 'invgraph.token';

function element<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function notify(message: string, kind: 'error' | 'info' = 'info'): void {
  const toast = document.createElement('div');
  toast.className = `toast ${kind}`;
  toast.textContent = message;
  toast.addEventListener('click', () => toast.remove());
  element('toasts').append(toast);
  setTimeout(() => toast.remove(), kind === 'error' ? 15000 : 4000);
}

/** Asks for the token in a small form (the server answered 401). */
function askToken(): Promise<string> {
  const dialog = element<HTMLDialogElement>('token-dialog');
  const input = element<HTMLInputElement>('token-input');
  dialog.showModal();
  return new Promise((resolve) => {
    element('token-form').addEventListener('submit', () => resolve(input.value.trim()), { once: true });
  });
}

/** Token from ?token=, else the one remembered; asks until /object_info answers. */
async function connect(): Promise<{ api: ApiClient; objectInfo: Awaited<ReturnType<ApiClient['objectInfo']>> }> {
  const fromUrl = new URLSearchParams(location.search).get('token') ?? undefined;
  const api = new ApiClient(location.origin, fromUrl ?? localStorage.getItem(TOKEN_KEY) ?? undefined);
  for (;;) {
    try {
      const objectInfo = await api.objectInfo();
      if (api.token) localStorage.setItem(TOKEN_KEY, api.token);
      return { api, objectInfo };
    } catch (error) {
      if (!(error instanceof AuthRequiredError)) throw error;
      api.token = await askToken();
    }
  }
}

function pickFile(accept: string): Promise<File | undefined> {
  const input = document.createElement('input');
  input.type = 'file';
  input.accept = accept;
  input.id = 'file-picker';
  input.style.display = 'none';
  document.body.append(input);
  return new Promise((resolve) => {
    input.addEventListener('change', () => {
      resolve(input.files?.[0]);
      input.remove();
    });
    input.click();
  });
}

function wireCanvasDrop(editor: Editor, container: HTMLElement): void {
  container.addEventListener('dragover', (event) => event.preventDefault());
  container.addEventListener('drop', (event) => {
    event.preventDefault();
    const pos = editor.canvas.ds.convertCanvasToOffset([event.offsetX, event.offsetY]) as [number, number];
    const type = event.dataTransfer?.getData(NODE_DRAG_TYPE);
    if (type) {
      editor.addNode(type, pos);
      return;
    }
    const file = event.dataTransfer?.files[0];
    if (file) editor.loadFile(file, pos).catch((error: Error) => notify(error.message, 'error'));
  });
}

function resizeCanvas(editor: Editor, container: HTMLElement): void {
  const fit = () => editor.canvas.resize(container.clientWidth, container.clientHeight);
  new ResizeObserver(fit).observe(container);
  fit();
}

const DEFAULT_WORKFLOW = 'txt2img';

async function loadDefaultWorkflow(api: ApiClient, editor: Editor): Promise<void> {
  const response = await api.fetchApi(`/workflow_templates/invgraph/${DEFAULT_WORKFLOW}.json`);
  if (!response.ok) throw new Error(`no ${DEFAULT_WORKFLOW} workflow (${response.status})`);
  editor.loadWorkflow(await response.json(), `${DEFAULT_WORKFLOW}.json`);
}

async function boot(): Promise<void> {
  const { api, objectInfo } = await connect();
  const pickAndUpload = async (): Promise<ImageRef | undefined> => {
    const file = await pickFile('image/*');
    return file ? api.uploadImage(file) : undefined;
  };
  const container = element('canvas-container');
  const editor = new Editor({ api, objectInfo, canvasElement: element<HTMLCanvasElement>('graph-canvas'), notify, pickAndUpload });
  resizeCanvas(editor, container);
  const queuePanel = new QueuePanel(element('queue-panel'), api, (workflow, source) => editor.loadWorkflow(workflow, source));
  const refreshQueue = () => void queuePanel.refresh().catch((error: Error) => notify(error.message, 'error'));
  buildPalette(element('palette'), objectInfo, (type) => editor.addNode(type));
  wireCanvasDrop(editor, container);
  await setupWorkflowMenu(element('workflow-menu'), api, (workflow, source) => editor.loadWorkflow(workflow, source));

  const queue = () => void editor.queue().then(refreshQueue);
  element('queue-button').addEventListener('click', queue);
  element('interrupt-button').addEventListener('click', () => void api.interrupt());
  element('save-button').addEventListener('click', () => downloadJson('workflow.json', editor.serialize()));
  element('export-api-button').addEventListener('click', () => downloadJson('workflow_api.json', editor.toPrompt()));
  element('load-button').addEventListener('click', () => void pickFile('.json,application/json,image/png').then((file) => file && editor.loadFile(file)));
  element('arrange-button').addEventListener('click', () => editor.arrange());
  element('clear-button').addEventListener('click', () => editor.graph.clear());
  element('refresh-button').addEventListener('click', () => {
    editor.refreshDefinitions().then(
      () => buildPalette(element('palette'), editor.objectInfo, (type) => editor.addNode(type)),
      (error: Error) => notify(`Refresh failed: ${error.message}`, 'error'),
    );
  });
  window.addEventListener('keydown', (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
    const key = event.key.toLowerCase();
    if (key === 'z' && !event.shiftKey) editor.undo();
    else if (key === 'y' || (key === 'z' && event.shiftKey)) editor.redo();
    else if (key === 'enter') queue();
    else if (key === 'm') editor.toggleMode(2);
    else if (key === 'b') editor.toggleMode(4);
    else if (key === 'g') editor.groupSelection();
    else return;
    event.preventDefault();
  });

  api.addEventListener('status', (event) => {
    const remaining = (event as CustomEvent<{ status?: { exec_info?: { queue_remaining?: number } } }>).detail.status?.exec_info?.queue_remaining ?? 0;
    element('queue-size').textContent = `Queue: ${remaining}`;
    refreshQueue();
  });
  api.addEventListener('executing', (event) => {
    const node = (event as CustomEvent<{ node: string | null }>).detail.node;
    element('run-status').textContent = node === null ? 'Idle' : `Running #${node} ${editor.graph.getNodeById(node)?.title ?? ''}`;
  });
  api.connect();

  // First visit (nothing saved): open on the txt2img workflow, as ComfyUI opens on its default graph.
  if (!editor.restore()) await loadDefaultWorkflow(api, editor).catch(() => editor.canvas.setDirty(true, true));
  setInterval(() => editor.persist(), 1000);
  window.addEventListener('beforeunload', () => editor.persist());
  refreshQueue();
  exposeTestHooks(editor);
  document.body.dataset.ready = 'true';
}

boot().catch((error: Error) => {
  notify(`The editor could not start: ${error.message}`, 'error');
  document.body.dataset.ready = 'failed';
});
