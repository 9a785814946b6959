// Websocket sessions of comfyui-api.md §3: one socket per clientId, `status` with `sid` on
// connect, targeted vs broadcast delivery (§3.2), feature-flag negotiation and binary previews
// (§3.4), plus a heartbeat so idle sockets and long jobs keep the connection alive.

import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { PreviewData } from '../exec/index.ts';

export interface HubOptions {
  /** pending + running, for status frames (a Redis queue answers through a promise). */
  queueRemaining(): number | Promise<number>;
  /** The node the running job of this client is on, if it owns the running job (§3.1 reconnect). */
  runningNodeOf(clientId: string): string | undefined;
  serverFeatures: Record<string, unknown>;
  /** ws ping + status keep-alive period; a socket that misses two pongs is dropped. */
  heartbeatMs: number;
  log(message: string): void;
}

interface Session {
  socket: WebSocket;
  clientId: string;
  supportsPreviewMetadata: boolean;
  sawFirstMessage: boolean;
  alive: boolean;
}

const BINARY_PREVIEW = 1;
const BINARY_PREVIEW_WITH_METADATA = 4;
const FORMAT_CODE = { JPEG: 1, PNG: 2 } as const;

export class WsHub {
  private readonly sessions = new Map<string, Session>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: HubOptions) {
    this.timer = setInterval(() => this.heartbeat(), options.heartbeatMs);
    this.timer.unref();
  }

  /** Registers a new socket; a previous socket with the same id stays open but unregistered. */
  attach(socket: WebSocket, requestedId: string | undefined): void {
    const clientId = requestedId || randomUUID().replaceAll('-', '');
    const session: Session = { socket, clientId, supportsPreviewMetadata: false, sawFirstMessage: false, alive: true };
    this.sessions.set(clientId, session);
    socket.on('pong', () => {
      session.alive = true;
    });
    socket.on('message', (data, isBinary) => this.onMessage(session, data.toString(), isBinary));
    socket.on('error', (error) => this.options.log(`websocket ${clientId}: ${error.message}`));
    socket.on('close', () => {
      // Only forget the registration if it is still this socket (§3.1 quirk not copied).
      if (this.sessions.get(clientId) === session) this.sessions.delete(clientId);
    });
    this.withStatus((status) => {
      this.sendJson(session, 'status', { status, sid: clientId });
      const node = this.options.runningNodeOf(clientId);
      if (node !== undefined) this.sendJson(session, 'executing', { node });
    });
  }

  broadcastStatus(): void {
    this.withStatus((status) => {
      for (const session of this.sessions.values()) this.sendJson(session, 'status', { status });
    });
  }

  /** Targeted frame; dropped when the client has no open socket or the job has no client. */
  sendTo(clientId: string | undefined, type: string, data: unknown): void {
    const session = clientId === undefined ? undefined : this.sessions.get(clientId);
    if (session) this.sendJson(session, type, data);
  }

  /** To the job's client, or to everyone when the job has no client (§3.2). */
  sendToOrBroadcast(clientId: string | undefined, type: string, data: unknown): void {
    if (clientId !== undefined) this.sendTo(clientId, type, data);
    else for (const session of this.sessions.values()) this.sendJson(session, type, data);
  }

  sendPreview(clientId: string | undefined, preview: PreviewData): void {
    const targets = clientId !== undefined ? [this.sessions.get(clientId)] : [...this.sessions.values()];
    for (const session of targets) {
      if (session && session.socket.readyState === session.socket.OPEN) session.socket.send(previewFrame(session, preview));
    }
  }

  clientCount(): number {
    return this.sessions.size;
  }

  close(): void {
    clearInterval(this.timer);
    for (const session of this.sessions.values()) session.socket.terminate();
    this.sessions.clear();
  }

  /** Synchronously when the queue counts synchronously (SQLite), so frame order stays as it was. */
  private withStatus(send: (status: { exec_info: { queue_remaining: number } }) => void): void {
    const remaining = this.options.queueRemaining();
    const wrap = (n: number) => send({ exec_info: { queue_remaining: n } });
    if (typeof remaining === 'number') wrap(remaining);
    else remaining.then(wrap, (error: unknown) => this.options.log(`queue status unavailable: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Only the first text message counts, and only if it is `feature_flags` (§3.1). */
  private onMessage(session: Session, text: string, isBinary: boolean): void {
    if (isBinary || session.sawFirstMessage) return;
    session.sawFirstMessage = true;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.options.log(`websocket ${session.clientId}: ignoring a message that is not JSON`);
      return;
    }
    if (!isObject(message) || message.type !== 'feature_flags' || !isObject(message.data)) return;
    session.supportsPreviewMetadata = message.data.supports_preview_metadata === true;
    this.sendJson(session, 'feature_flags', this.options.serverFeatures);
  }

  private heartbeat(): void {
    const live: Session[] = [];
    for (const session of this.sessions.values()) {
      if (!session.alive) {
        session.socket.terminate();
        continue;
      }
      session.alive = false;
      session.socket.ping();
      live.push(session);
    }
    // Some clients treat ~10 s without a text frame as a dead socket (§3.1); a status frame is harmless.
    this.withStatus((status) => {
      for (const session of live) this.sendJson(session, 'status', { status });
    });
  }

  private sendJson(session: Session, type: string, data: unknown): void {
    if (session.socket.readyState !== session.socket.OPEN) return;
    session.socket.send(JSON.stringify({ type, data }));
  }
}

/** Binary frame of §3.4: type 4 with a JSON header if the client asked for it, else type 1. */
export function previewFrame(session: { supportsPreviewMetadata: boolean }, preview: PreviewData): Buffer {
  const image = Buffer.from(preview.frame.data.buffer, preview.frame.data.byteOffset, preview.frame.data.byteLength);
  if (!session.supportsPreviewMetadata) {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(BINARY_PREVIEW, 0);
    head.writeUInt32BE(FORMAT_CODE[preview.frame.format], 4);
    return Buffer.concat([head, image]);
  }
  const metadata = Buffer.from(
    JSON.stringify({
      node_id: preview.node,
      prompt_id: preview.prompt_id,
      display_node_id: preview.display_node,
      parent_node_id: null,
      real_node_id: preview.node,
      image_type: preview.frame.format === 'PNG' ? 'image/png' : 'image/jpeg',
    }),
  );
  const head = Buffer.alloc(8);
  head.writeUInt32BE(BINARY_PREVIEW_WITH_METADATA, 0);
  head.writeUInt32BE(metadata.length, 4);
  return Buffer.concat([head, metadata, image]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
