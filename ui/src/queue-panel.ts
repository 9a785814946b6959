// The queue / history side panel: running and pending prompts (with delete), recent history
// with status and thumbnails (click one to see its images full size, its prompt and "Load
// workflow"), and clear history.
import type { ApiClient, ImageRef } from './api-client.ts';

type QueueItem = [number, string, unknown, { extra_pnginfo?: { workflow?: unknown } }, string[]];

interface HistoryEntry {
  prompt: QueueItem;
  outputs: Record<string, { images?: ImageRef[] }>;
  status?: { status_str?: string; completed?: boolean };
}

export class QueuePanel {
  constructor(
    private readonly root: HTMLElement,
    private readonly api: ApiClient,
    private readonly loadWorkflow: (workflow: unknown, source: string) => void,
  ) {}

  async refresh(): Promise<void> {
    const [queue, history] = await Promise.all([
      this.api.getJson<{ queue_running: QueueItem[]; queue_pending: QueueItem[] }>('/queue'),
      this.api.getJson<Record<string, HistoryEntry>>('/history?max_items=20'),
    ]);
    const running = queue.queue_running.map((item) => this.queueRow(item, 'running'));
    const pending = queue.queue_pending.sort((a, b) => a[0] - b[0]).map((item) => this.queueRow(item, 'pending'));
    const done = Object.entries(history).reverse().map(([id, entry]) => this.historyRow(id, entry));
    const clear = document.createElement('button');
    clear.textContent = 'Clear history';
    clear.addEventListener('click', () => void this.api.clearHistory().then(() => this.refresh()));
    this.root.replaceChildren(heading('Queue'), ...(running.length + pending.length ? [...running, ...pending] : [note('Nothing queued.')]), heading('History'), ...(done.length ? done : [note('No history yet.')]), clear);
  }

  private queueRow(item: QueueItem, status: 'running' | 'pending'): HTMLElement {
    const row = document.createElement('div');
    row.className = `queue-item ${status}`;
    row.dataset.promptId = item[1];
    row.textContent = `#${item[0]} ${status}`;
    if (status === 'pending') {
      const remove = document.createElement('button');
      remove.textContent = '✕';
      remove.title = 'Remove from the queue';
      remove.addEventListener('click', () => void this.api.deleteQueued(item[1]).then(() => this.refresh()));
      row.append(remove);
    }
    return row;
  }

  private historyRow(id: string, entry: HistoryEntry): HTMLElement {
    const row = document.createElement('div');
    const status = entry.status?.status_str ?? (entry.status?.completed ? 'success' : 'unknown');
    row.className = `history-item ${status}`;
    row.dataset.promptId = id;
    const label = document.createElement('span');
    label.textContent = `#${entry.prompt[0]} ${status}`;
    row.append(label);
    for (const output of Object.values(entry.outputs ?? {})) {
      for (const image of output.images ?? []) {
        const thumb = document.createElement('img');
        thumb.src = this.api.viewUrl(image);
        thumb.alt = image.filename;
        row.append(thumb);
      }
    }
    row.title = 'Click to see this run\'s images and prompt';
    row.addEventListener('click', () => this.showRun(entry));
    return row;
  }

  /** A dialog with the run's images full size, its prompt texts and "Load workflow". */
  showRun(entry: HistoryEntry): void {
    document.getElementById('run-viewer')?.remove();
    const dialog = document.createElement('dialog');
    dialog.id = 'run-viewer';
    const title = document.createElement('h3');
    title.textContent = `Run #${entry.prompt[0]} · ${entry.status?.status_str ?? 'unknown'}`;
    const images = document.createElement('div');
    images.className = 'run-images';
    for (const output of Object.values(entry.outputs ?? {})) {
      for (const image of output.images ?? []) {
        const img = document.createElement('img');
        img.src = this.api.viewUrl(image);
        img.alt = image.filename;
        img.title = image.filename;
        images.append(img);
      }
    }
    if (images.childElementCount === 0) images.append(note('This run saved no images.'));
    const prompt = document.createElement('div');
    prompt.className = 'run-prompt';
    for (const text of promptTexts(entry.prompt[2])) {
      const p = document.createElement('p');
      p.textContent = text;
      prompt.append(p);
    }
    const actions = document.createElement('div');
    actions.className = 'run-actions';
    const workflow = entry.prompt[3]?.extra_pnginfo?.workflow;
    const load = document.createElement('button');
    load.textContent = 'Load workflow';
    load.className = 'primary';
    load.disabled = !workflow;
    load.title = workflow ? 'Replace the graph with the one that made this run' : 'This run carries no workflow';
    load.addEventListener('click', () => {
      dialog.close();
      this.loadWorkflow(workflow, `history #${entry.prompt[0]}`);
    });
    const close = document.createElement('button');
    close.textContent = 'Close';
    close.addEventListener('click', () => dialog.close());
    actions.append(load, close);
    dialog.append(title, images, prompt, actions);
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }
}

/** The texts a run was prompted with: every string input of its text-encoding nodes, by title. */
function promptTexts(prompt: unknown): string[] {
  if (typeof prompt !== 'object' || prompt === null) return [];
  const texts: string[] = [];
  for (const node of Object.values(prompt as Record<string, { class_type?: string; inputs?: Record<string, unknown>; _meta?: { title?: string } }>)) {
    if (!/TextEncode/i.test(node.class_type ?? '')) continue;
    for (const value of Object.values(node.inputs ?? {})) {
      if (typeof value === 'string' && value.trim()) texts.push(`${node._meta?.title ?? node.class_type}: ${value}`);
    }
  }
  return texts;
}

function heading(text: string): HTMLElement {
  const h = document.createElement('h3');
  h.textContent = text;
  return h;
}

function note(text: string): HTMLElement {
  const p = document.createElement('p');
  p.className = 'panel-note';
  p.textContent = text;
  return p;
}
