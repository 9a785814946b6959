// `invgraph serve`: opens the durable queue in the data folder, starts the execution worker and
// the ComfyUI-compatible HTTP + websocket server (docs/server.md).

import { cp, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { NodeRegistry } from '../engine/graph/index.ts';
import { ServerBus, openRedisQueue, openSqliteQueue, parseRedisUrl } from '../engine/queue/index.ts';
import type { JobQueue } from '../engine/queue/index.ts';
import { startServer } from '../engine/server/index.ts';
import type { ExecutionBackend, Limits, WorkerChannel } from '../engine/server/index.ts';
import { createWorkerBackend } from './execution-host.ts';
import { loadExtraModelPaths, applyMemoryBudget } from './model-paths.ts';

export interface ServeOptions {
  host?: string;
  port?: number;
  models?: string;
  /** ComfyUI-format extra_model_paths.yaml (default ./extra_model_paths.yaml when present). */
  extraModelPaths?: string;
  input?: string;
  output?: string;
  temp?: string;
  /** Queue database, settings and user workflows. */
  data?: string;
  device?: string;
  /** Required bearer token; default: env INVGRAPH_AUTH_TOKEN, else none. */
  authToken?: string;
  allowOrigins?: string[];
  /** History entries kept (default 10000, as ComfyUI). */
  historyMax?: number;
  /** redis://HOST:6379[/DB]: prompts go to a BullMQ queue run by `invgraph worker`s; none → SQLite
   *  queue and one in-process execution thread (the embedded default). */
  queue?: string;
  /** Redis key prefix shared with the workers (default "invgraph"; tests isolate with it). */
  queuePrefix?: string;
  limits?: Partial<Limits>;
  /** Module URL exporting createRegistry() for the worker and validation (tests); default nodes/index.ts. */
  registryModule?: string;
  /** Built editor; default ui/dist of this package. */
  staticDir?: string;
  heartbeatMs?: number;
  log?: (message: string) => void;
}

export interface ServeHandle {
  url: string;
  close(): Promise<void>;
}

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

export async function serve(options: ServeOptions = {}): Promise<ServeHandle> {
  const folders = {
    models: resolve(options.models ?? 'models'),
    input: resolve(options.input ?? 'input'),
    output: resolve(options.output ?? 'output'),
    temp: resolve(options.temp ?? 'temp'),
    extraModels: loadExtraModelPaths(options.extraModelPaths),
  };
  const data = resolve(options.data ?? 'data');
  const firstRun = !existsSync(folders.input);
  await Promise.all([folders.input, folders.output, folders.temp, data].map((dir) => mkdir(dir, { recursive: true })));
  // A fresh install gets the example inputs the shipped workflows name (img2img's example.png).
  if (firstRun) await cp(join(PACKAGE_ROOT, 'workflows', 'inputs'), folders.input, { recursive: true, force: false, errorOnExist: false });
  const log = options.log ?? ((message: string) => console.error(`[invgraph] ${message}`));
  const device = options.device ?? 'auto';
  const registryModule = options.registryModule ?? new URL('../nodes/index.ts', import.meta.url).href;
  const { createRegistry } = (await import(registryModule)) as { createRegistry(): NodeRegistry };
  let queue: JobQueue;
  let backend: ExecutionBackend | undefined;
  let workers: WorkerChannel | undefined;
  if (options.queue === undefined) {
    queue = openSqliteQueue({ file: join(data, 'queue.db'), historyMax: options.historyMax });
    backend = createWorkerBackend({ folders, device, registryModule, log });
  } else {
    const connection = parseRedisUrl(options.queue);
    const prefix = options.queuePrefix ?? 'invgraph';
    queue = openRedisQueue({ connection, prefix, historyMax: options.historyMax });
    workers = new ServerBus({ connection, prefix });
  }
  const authToken = options.authToken || process.env.INVGRAPH_AUTH_TOKEN || undefined;
  let server;
  try {
    server = await startServer({
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 8188,
      folders,
      dataDir: data,
      registry: createRegistry(),
      queue,
      backend,
      workers,
      authToken,
      allowOrigins: options.allowOrigins,
      limits: options.limits,
      staticDir: options.staticDir ?? join(PACKAGE_ROOT, 'ui', 'dist'),
      workflowsDir: join(PACKAGE_ROOT, 'workflows'),
      device: workers ? 'workers (redis queue)' : device,
      heartbeatMs: options.heartbeatMs,
      log,
    });
  } catch (error) {
    await backend?.close();
    workers?.close();
    await queue.close();
    throw error;
  }
  const running = server;
  return {
    url: running.url,
    close: async () => {
      await running.close();
      await queue.close();
    },
  };
}

export const SERVE_USAGE = `  invgraph serve [--host 127.0.0.1] [--port 8188] [--models DIR] [--extra-model-paths FILE] [--memory-budget GB] [--input DIR]
                 [--output DIR] [--temp DIR] [--data DIR] [--device auto|cpu|cuda|webgpu] [--auth-token TOKEN]
                 [--allow-origin ORIGIN ...] [--history-max N] [--max-upload-mb N] [--queue redis://HOST:6379]
      Runs the ComfyUI-compatible HTTP + websocket server and the browser editor (docs/server.md).
      With --queue, prompts go to Redis and \`invgraph worker\`s run them (docs/server.md "Many workers").
      The token may also come from INVGRAPH_AUTH_TOKEN.`;

/** Command-line flags → ServeOptions; throws with a message naming the bad flag. */
export function parseServeArgs(argv: string[]): ServeOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      models: { type: 'string' },
      'extra-model-paths': { type: 'string' },
      'memory-budget': { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      temp: { type: 'string' },
      data: { type: 'string' },
      device: { type: 'string' },
      'auth-token': { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      'history-max': { type: 'string' },
      'max-upload-mb': { type: 'string' },
      queue: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  applyMemoryBudget(values['memory-budget']);
  const uploadMb = optionalInt(values['max-upload-mb'], '--max-upload-mb', 1, 100_000);
  if (values.queue !== undefined) parseRedisUrl(values.queue);
  return {
    host: values.host,
    port: optionalInt(values.port, '--port', 0, 65535),
    models: values.models,
    extraModelPaths: values['extra-model-paths'],
    input: values.input,
    output: values.output,
    temp: values.temp,
    data: values.data,
    device: values.device,
    authToken: values['auth-token'],
    allowOrigins: values['allow-origin'],
    historyMax: optionalInt(values['history-max'], '--history-max', 1, 10_000_000),
    queue: values.queue,
    limits: uploadMb === undefined ? undefined : { maxUploadBytes: uploadMb * 1024 * 1024, maxBodyBytes: uploadMb * 1024 * 1024 },
  };
}

function optionalInt(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  return value;
}

/** `invgraph serve ARGS`: runs until SIGINT/SIGTERM, then closes (a running job runs again next start). */
export async function serveCommand(argv: string[]): Promise<number> {
  let options: ServeOptions;
  try {
    options = parseServeArgs(argv);
  } catch (error) {
    process.stderr.write(`invgraph serve: ${(error as Error).message}\n\n${SERVE_USAGE}\n`);
    return 2;
  }
  let handle: ServeHandle;
  try {
    handle = await serve(options);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const hint = code === 'EADDRINUSE' ? ` (another program uses port ${options.port ?? 8188}; pick another with --port)` : '';
    process.stderr.write(`invgraph serve: cannot start: ${message}${hint}\n`);
    return 1;
  }
  process.stderr.write(`invgraph: serving on ${handle.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('invgraph: shutting down\n');
  await handle.close();
  return 0;
}
