// The editor's link to the server: JSON routes with the optional bearer token, uploads,
// /view URLs, and the websocket (comfyui-api.md §3) re-emitted as DOM events.
import type { ApiPrompt } from '../../engine/graph/index.ts';
import type { ObjectInfo } from './node-info.ts';

export interface ImageRef {
  filename: string;
  subfolder?: string;
  type?: string;
}

/** A 400 from POST /prompt, with ComfyUI's error body (§2.1). */
export class PromptError extends Error {
  override name = 'PromptError';
  constructor(readonly body: PromptErrorBody) {
    super(describePromptError(body));
  }
}

export interface NodeErrorEntry {
  errors: { type: string; message: string; details: string; extra_info?: { input_name?: string } }[];
  class_type: string;
  dependent_outputs?: string[];
}

export interface PromptErrorBody {
  error: string | { type?: string; message: string; details?: string };
  node_errors?: Record<string, NodeErrorEntry>;
}

export class AuthRequiredError extends Error {
  override name = 'AuthRequiredError';
}

export function describePromptError(body: PromptErrorBody): string {
  const head = typeof body.error === 'string' ? body.error : `${body.error.message}${body.error.details ? `: ${body.error.details}` : ''}`;
  const lines = Object.entries(body.node_errors ?? {}).flatMap(([id, entry]) => [
    `${entry.class_type} (#${id})`,
    ...entry.errors.map((e) => `- ${e.message}: ${e.details}`),
  ]);
  return [head, ...lines].join('\n');
}

/** Binary preview frame types (§3.4). */
const PREVIEW_IMAGE = 1;
const PREVIEW_IMAGE_WITH_METADATA = 4;

export class ApiClient extends EventTarget {
  clientId: string;
  private socket: WebSocket | undefined;
  private closed = false;

  constructor(
    readonly base: string,
    public token: string | undefined,
  ) {
    super();
    this.clientId = sessionStorage.getItem('invgraph.clientId') ?? crypto.randomUUID().replaceAll('-', '');
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { ...extra, Authorization: `Bearer ${this.token}` } : extra;
  }

  async fetchApi(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(`${this.base}/api${path}`, { ...init, headers: this.headers((init.headers ?? {}) as Record<string, string>) });
    if (response.status === 401) throw new AuthRequiredError('This server needs an access token.');
    return response;
  }

  async getJson<T>(path: string): Promise<T> {
    const response = await this.fetchApi(path);
    if (!response.ok) throw new Error(`GET ${path} failed: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  async postJson(path: string, body: unknown): Promise<Response> {
    return this.fetchApi(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  }

  objectInfo(): Promise<ObjectInfo> {
    return this.getJson<ObjectInfo>('/object_info');
  }

  /** Queues a prompt; a validation failure throws PromptError with node_errors. */
  async queuePrompt(prompt: ApiPrompt, workflow: unknown): Promise<{ prompt_id: string; number: number; node_errors: Record<string, NodeErrorEntry> }> {
    const response = await this.postJson('/prompt', { client_id: this.clientId, prompt, extra_data: { extra_pnginfo: { workflow } } });
    const body = (await response.json()) as PromptErrorBody & { prompt_id: string; number: number };
    if (!response.ok) throw new PromptError(body);
    return { prompt_id: body.prompt_id, number: body.number, node_errors: body.node_errors ?? {} };
  }

  async interrupt(): Promise<void> {
    await this.postJson('/interrupt', {});
  }

  async deleteQueued(promptId: string): Promise<void> {
    await this.postJson('/queue', { delete: [promptId] });
  }

  async clearHistory(): Promise<void> {
    await this.postJson('/history', { clear: true });
  }

  async uploadImage(file: File): Promise<ImageRef> {
    const form = new FormData();
    form.append('image', file, file.name);
    const response = await this.fetchApi('/upload/image', { method: 'POST', body: form });
    const body = (await response.json()) as { name: string; subfolder: string; type: string; error?: string };
    if (!response.ok) throw new Error(`Upload of ${file.name} failed: ${body.error ?? response.status}`);
    return { filename: body.name, subfolder: body.subfolder, type: body.type };
  }

  /** A URL for <img>: tokens travel as ?token= because <img> cannot send headers. */
  viewUrl(image: ImageRef): string {
    const params = new URLSearchParams({ filename: image.filename, type: image.type ?? 'output', subfolder: image.subfolder ?? '' });
    if (this.token) params.set('token', this.token);
    return `${this.base}/api/view?${params}`;
  }

  connect(): void {
    const params = new URLSearchParams({ clientId: this.clientId });
    if (this.token) params.set('token', this.token);
    const socket = new WebSocket(`${this.base.replace(/^http/, 'ws')}/ws?${params}`);
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
      this.emit('reconnected', {});
    });
    socket.addEventListener('message', (event) => this.onMessage(event.data as string | ArrayBuffer));
    socket.addEventListener('close', () => {
      this.emit('disconnected', {});
      // As the official frontend: try again shortly after a close.
      if (!this.closed) setTimeout(() => this.connect(), 1000);
    });
    this.socket = socket;
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }

  private emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  private onMessage(data: string | ArrayBuffer): void {
    if (typeof data !== 'string') return this.onBinary(data);
    const message = JSON.parse(data) as { type: string; data: Record<string, unknown> };
    if (message.type === 'status' && typeof message.data.sid === 'string') {
      this.clientId = message.data.sid;
      sessionStorage.setItem('invgraph.clientId', this.clientId);
    }
    this.emit(message.type, message.data);
  }

  /** Type 1: [type][format][image]; type 4: [type][len][json metadata][image]. */
  private onBinary(buffer: ArrayBuffer): void {
    const view = new DataView(buffer);
    const type = view.getUint32(0);
    if (type === PREVIEW_IMAGE) {
      const mime = view.getUint32(4) === 2 ? 'image/png' : 'image/jpeg';
      this.emit('preview', { blob: new Blob([buffer.slice(8)], { type: mime }), nodeId: undefined });
    } else if (type === PREVIEW_IMAGE_WITH_METADATA) {
      const length = view.getUint32(4);
      const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, length))) as { node_id?: string; display_node_id?: string; image_type?: string };
      const blob = new Blob([buffer.slice(8 + length)], { type: meta.image_type ?? 'image/jpeg' });
      this.emit('preview', { blob, nodeId: meta.display_node_id ?? meta.node_id });
    }
  }
}
