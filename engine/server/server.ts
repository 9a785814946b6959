// Starts the ComfyUI-compatible server: HTTP app + websocket upgrade on one port, the job runner
// working through the durable queue, and an orderly close that leaves a running job re-runnable.

import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Folders, NodeRegistry } from '../graph/index.ts';
import type { JobQueue } from '../queue/index.ts';
import type { ExecutionBackend } from './backend.ts';
import { LogBuffer } from './context.ts';
import type { Limits, ServerContext } from './context.ts';
import { createApp } from './http-app.ts';
import { JobRunner } from './job-runner.ts';
import type { PromptRunner } from './job-runner.ts';
import { RemoteRunner } from './remote-runner.ts';
import type { WorkerChannel } from './remote-runner.ts';
import { checkRequest } from './security.ts';
import type { SecurityOptions } from './security.ts';
import { WsHub } from './ws-hub.ts';

export interface ServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  folders: Folders;
  dataDir: string;
  registry: NodeRegistry;
  queue: JobQueue;
  /** Who runs prompts, one of: this process's execution backend (embedded default), or workers
   *  behind a Redis queue reached through their channel (`invgraph worker`, docs/server.md). */
  backend?: ExecutionBackend;
  workers?: WorkerChannel;
  authToken?: string;
  allowOrigins?: readonly string[];
  /** DNS names an exposed server answers to (see SecurityOptions.allowHosts). */
  allowHosts?: readonly string[];
  limits?: Partial<Limits>;
  /** Built editor (ui/dist); a placeholder page is served at / when it has no index.html. */
  staticDir?: string;
  /** Shipped workflows (workflows/), listed by GET /workflow_templates. */
  workflowsDir?: string;
  /** Shown in /system_stats. */
  device?: string;
  heartbeatMs?: number;
  argv?: string[];
  log?: (message: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Stops accepting work, stops the backend (a running job stays queued for the next start). */
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: Limits = {
  // ComfyUI prompts and workflows are kilobytes; a few MB leave room for big workflows while a hostile
  // body is refused before it is read (413) instead of filling the heap.
  maxBodyBytes: 8 * 1024 * 1024,
  maxUploadBytes: 100 * 1024 * 1024,
  maxUploadPixels: 16384 * 16384,
};

/** Inbound websocket messages are only the small feature_flags frame. */
const MAX_WS_MESSAGE_BYTES = 64 * 1024;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logs = new LogBuffer();
  const sink = options.log ?? ((message: string) => console.error(`[invgraph] ${message}`));
  const log = (message: string) => {
    logs.add(message);
    sink(message);
  };
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const features = { supports_preview_metadata: true, max_upload_size: limits.maxUploadBytes };
  let runner: PromptRunner | undefined;
  const hub = new WsHub({
    queueRemaining: () => options.queue.remaining(),
    runningNodeOf: (clientId) => runner?.runningNodeOf(clientId),
    serverFeatures: features,
    heartbeatMs: options.heartbeatMs ?? 5000,
    log,
  });
  const { backend, workers } = options;
  if ((backend === undefined) === (workers === undefined)) throw new Error('startServer needs either an execution backend or a worker channel');
  const remote = workers ? new RemoteRunner(workers, hub, log) : undefined;
  runner = remote ?? new JobRunner(options.queue, backend!, hub, log);
  await remote?.start();
  const ctx: ServerContext = {
    registry: options.registry,
    env: { folders: options.folders },
    dataDir: options.dataDir,
    queue: options.queue,
    runner,
    hub,
    limits,
    features,
    device: options.device ?? 'cpu',
    listWorkers: workers ? () => workers.list() : undefined,
    startArgv: options.argv ?? process.argv.slice(1),
    logs,
    log,
  };
  const security: SecurityOptions = { authToken: options.authToken, allowOrigins: options.allowOrigins ?? [], bindHost: options.host, allowHosts: options.allowHosts };
  const http = createServer(createApp(ctx, security, { staticDir: options.staticDir, workflowsDir: options.workflowsDir }));
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES });
  http.on('upgrade', (req, socket: Socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws' && url.pathname !== '/api/ws') return refuseUpgrade(socket, 404, 'Not Found');
    const verdict = checkRequest(req, security);
    if (!verdict.ok) return refuseUpgrade(socket, verdict.status, verdict.status === 401 ? 'Unauthorized' : 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => hub.attach(ws, url.searchParams.get('clientId') ?? undefined));
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  runner.kick(); // jobs recovered from the queue file start right away
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: async () => {
      runner.stop();
      await backend?.close();
      await runner.close();
      hub.close();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function refuseUpgrade(socket: Socket, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
