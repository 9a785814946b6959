// Shared helpers for the server integration tests: temp folders, a server on 127.0.0.1:0 with
// the fake nodes, a websocket client that records frames, and small prompt builders.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { serve, type ServeOptions } from '../../cli/serve.ts';
import type { ApiPrompt } from '../../engine/graph/index.ts';
import { stringifyJson } from '../../engine/graph/index.ts';

export const FAKE_REGISTRY = new URL('./fake-nodes.ts', import.meta.url).href;

export interface TestDirs {
  root: string;
  models: string;
  input: string;
  output: string;
  temp: string;
  data: string;
}

export function makeDirs(): TestDirs {
  const root = mkdtempSync(join(tmpdir(), 'invgraph-server-'));
  return { root, models: join(root, 'models'), input: join(root, 'input'), output: join(root, 'output'), temp: join(root, 'temp'), data: join(root, 'data') };
}

export interface TestServer {
  url: string;
  dirs: TestDirs;
  close(): Promise<void>;
}

export async function startTestServer(options: Partial<ServeOptions> & { dirs?: TestDirs } = {}): Promise<TestServer> {
  const dirs = options.dirs ?? makeDirs();
  const logs: string[] = [];
  const handle = await serve({
    port: 0,
    registryModule: FAKE_REGISTRY,
    log: (m) => logs.push(m),
    staticDir: join(dirs.root, 'no-ui'),
    ...dirs,
    ...options,
  });
  return {
    url: handle.url,
    dirs,
    close: async () => {
      await handle.close();
      if (!options.dirs) rmSync(dirs.root, { recursive: true, force: true });
    },
  };
}

export interface Frame {
  type: string;
  data: Record<string, unknown>;
}

/** A websocket client that records every JSON frame and binary frame it receives. */
export class WsClient {
  readonly frames: Frame[] = [];
  readonly binary: Buffer[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (isBinary) this.binary.push(data as Buffer);
      else this.frames.push(JSON.parse(String(data)) as Frame);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** `query` is appended as is (e.g. "token=..."). */
  static connect(url: string, clientId?: string, headers: Record<string, string> = {}, query = ''): Promise<WsClient> {
    const params = [clientId === undefined ? '' : `clientId=${encodeURIComponent(clientId)}`, query].filter(Boolean).join('&');
    const wsUrl = `${url.replace(/^http/, 'ws')}/ws${params ? `?${params}` : ''}`;
    const socket = new WebSocket(wsUrl, { headers });
    const client = new WsClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`websocket refused with ${res.statusCode}`)));
    });
  }

  /** Resolves with the first frame (from `from` on) matching `match`; rejects after timeoutMs. */
  async waitFor(match: (frame: Frame) => boolean, timeoutMs = 60_000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a frame; got ${this.frames.map((f) => f.type).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for `executing {node: null}` of this prompt: the job is over and in history. */
  finished(promptId: string, timeoutMs = 60_000): Promise<Frame> {
    return this.waitFor((f) => f.type === 'executing' && f.data.node === null && f.data.prompt_id === promptId, timeoutMs);
  }

  framesOf(promptId: string): Frame[] {
    return this.frames.filter((f) => f.data.prompt_id === promptId);
  }

  close(): void {
    this.socket.close();
  }
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : stringifyJson(body) });
}

export async function queuePrompt(url: string, prompt: ApiPrompt, clientId?: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await postJson(`${url}/prompt`, { prompt, client_id: clientId, ...extra });
  const body = (await res.json()) as { prompt_id?: string };
  if (res.status !== 200 || !body.prompt_id) throw new Error(`POST /prompt answered ${res.status}: ${JSON.stringify(body)}`);
  return body.prompt_id;
}

/** FakeNumber(value) → FakeWork(ms, steps) → FakeSave(tag). */
export function workPrompt(options: { value?: number; ms?: number; steps?: number; tag?: string; preview?: boolean } = {}): ApiPrompt {
  return {
    '1': { class_type: 'FakeNumber', inputs: { value: options.value ?? 1 } },
    '2': { class_type: 'FakeWork', inputs: { value: ['1', 0], ms: options.ms ?? 0, steps: options.steps ?? 1, preview: options.preview ?? false } },
    '3': { class_type: 'FakeSave', inputs: { value: ['2', 0], tag: options.tag ?? 'out' } },
  };
}

export async function getJson<T = Record<string, unknown>>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { headers });
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}
