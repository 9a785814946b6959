// `invgraph serve`: opens the durable queue in the data folder, starts the execution worker and
// the ComfyUI-compatible HTTP + websocket server (docs/server.md).

import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { NodeRegistry, PromptLimits } from '../engine/graph/index.ts';
import { ServerBus, openRedisQueue, openSqliteQueue, parseRedisUrl } from '../engine/queue/index.ts';
import type { JobQueue } from '../engine/queue/index.ts';
import { installProcessGuards, isLoopback, startServer } from '../engine/server/index.ts';
import type { ExecutionBackend, LimitOptions, WorkerChannel } from '../engine/server/index.ts';
import { ensureEditorBuilt } from './editor-build.ts';
import { createWorkerBackend, interruptGraceFlag } from './execution-host.ts';
import { outputFlag, seedInputFolder } from './folder-flags.ts';
import { loadExtraModelPaths, applyMaxDecodePixels, applyPreviewMethod, applyMemoryBudget } from './model-paths.ts';

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
  /** DNS names an exposed server answers to besides IPs and this machine's name (`*`: any). */
  allowHosts?: string[];
  /** Listen on a non-loopback address without a token (refused otherwise). */
  insecureNoAuth?: boolean;
  /** History entries kept (default 10000, as ComfyUI). */
  historyMax?: number;
  /** How long a job may run on after an interrupt before its worker process is killed (default 10 s). */
  interruptGraceMs?: number;
  /** redis://HOST:6379[/DB]: prompts go to a BullMQ queue run by `invgraph worker`s; none → SQLite
   *  queue and one execution process (the embedded default). */
  queue?: string;
  /** Redis key prefix shared with the workers (default "invgraph"; tests isolate with it). */
  queuePrefix?: string;
  limits?: LimitOptions;
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
  const host = options.host ?? '127.0.0.1';
  checkExposure(host, options.authToken || process.env.INVGRAPH_AUTH_TOKEN || undefined, options);
  const folders = {
    models: resolve(options.models ?? 'models'),
    input: resolve(options.input ?? 'input'),
    output: resolve(options.output ?? 'output'),
    temp: resolve(options.temp ?? 'temp'),
    extraModels: loadExtraModelPaths(options.extraModelPaths),
  };
  const data = resolve(options.data ?? 'data');
  await Promise.all([folders.input, folders.output, folders.temp, data].map((dir) => mkdir(dir, { recursive: true })));
  await seedInputFolder(folders.input);
  const log = options.log ?? ((message: string) => console.error(`[invgraph] ${message}`));
  const device = options.device ?? 'auto';
  const registryModule = options.registryModule ?? new URL('../nodes/index.ts', import.meta.url).href;
  const { createRegistry } = (await import(registryModule)) as { createRegistry(): NodeRegistry };
  let queue: JobQueue;
  let backend: ExecutionBackend | undefined;
  let workers: WorkerChannel | undefined;
  if (options.queue === undefined) {
    queue = openSqliteQueue({ file: join(data, 'queue.db'), historyMax: options.historyMax });
    backend = createWorkerBackend({ folders, device, registryModule, log, interruptGraceMs: options.interruptGraceMs });
  } else {
    const connection = parseRedisUrl(options.queue);
    const prefix = options.queuePrefix ?? 'invgraph';
    queue = openRedisQueue({ connection, prefix, historyMax: options.historyMax });
    workers = new ServerBus({ connection, prefix });
  }
  const authToken = options.authToken || process.env.INVGRAPH_AUTH_TOKEN || undefined;
  const staticDir = options.staticDir ?? join(PACKAGE_ROOT, 'ui', 'dist');
  if (options.staticDir === undefined) await ensureEditorBuilt(staticDir, log);
  let server;
  try {
    server = await startServer({
      host,
      port: options.port ?? 8188,
      folders,
      dataDir: data,
      registry: createRegistry(),
      queue,
      backend,
      workers,
      authToken,
      allowOrigins: options.allowOrigins,
      allowHosts: options.allowHosts,
      limits: options.limits,
      staticDir,
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
                 [--allow-origin ORIGIN ...] [--allow-host NAME ...] [--insecure-no-auth] [--history-max N] [--interrupt-grace-s S] [--max-upload-mb N] [--max-prompt-mb N]
                 [--max-image-pixels N] [--max-batch-pixels N] [--max-steps N] [--max-decode-pixels N] [--preview-method auto|latent2rgb|taesd|none] [--queue redis://HOST:6379]
      Runs the ComfyUI-compatible HTTP + websocket server and the browser editor (docs/server.md).
      With --queue, prompts go to Redis and \`invgraph worker\`s run them (docs/server.md "Many workers").
      The token may also come from INVGRAPH_AUTH_TOKEN.`;

/** A server reachable from other machines without a token lets anyone there run prompts and read
 *  every image: refused unless asked for explicitly. An empty token would silently disable auth. */
export function checkExposure(host: string, authToken: string | undefined, options: Pick<ServeOptions, 'authToken' | 'insecureNoAuth'>): void {
  if (options.authToken === '') throw new Error('--auth-token must not be empty (an empty token would turn authentication off)');
  if (!isLoopback(host) && authToken === undefined && !options.insecureNoAuth) {
    throw new Error(
      `refusing to listen on ${host} without an access token: anyone who can reach it could run prompts and read every image. ` +
        'Set --auth-token TOKEN (or INVGRAPH_AUTH_TOKEN), or pass --insecure-no-auth on a network you trust.',
    );
  }
}

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
      'max-decode-pixels': { type: 'string' },
      'preview-method': { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      out: { type: 'string' },
      temp: { type: 'string' },
      data: { type: 'string' },
      device: { type: 'string' },
      'auth-token': { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      'allow-host': { type: 'string', multiple: true },
      'insecure-no-auth': { type: 'boolean' },
      'history-max': { type: 'string' },
      'interrupt-grace-s': { type: 'string' },
      'max-upload-mb': { type: 'string' },
      'max-prompt-mb': { type: 'string' },
      'max-image-pixels': { type: 'string' },
      'max-batch-pixels': { type: 'string' },
      'max-steps': { type: 'string' },
      queue: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  applyMemoryBudget(values['memory-budget']);
  applyMaxDecodePixels(values['max-decode-pixels']);
  applyPreviewMethod(values['preview-method']);
  const uploadMb = optionalInt(values['max-upload-mb'], '--max-upload-mb', 1, 100_000);
  const promptMb = optionalInt(values['max-prompt-mb'], '--max-prompt-mb', 1, 1024);
  if (values.queue !== undefined) parseRedisUrl(values.queue);
  return {
    host: values.host,
    port: optionalInt(values.port, '--port', 0, 65535),
    models: values.models,
    extraModelPaths: values['extra-model-paths'],
    input: values.input,
    output: outputFlag(values.output, values.out),
    temp: values.temp,
    data: values.data,
    device: values.device,
    authToken: values['auth-token'],
    allowOrigins: values['allow-origin'],
    allowHosts: values['allow-host'],
    insecureNoAuth: values['insecure-no-auth'],
    historyMax: optionalInt(values['history-max'], '--history-max', 1, 10_000_000),
    interruptGraceMs: interruptGraceFlag(values['interrupt-grace-s']),
    queue: values.queue,
    limits: {
      ...(uploadMb === undefined ? {} : { maxUploadBytes: uploadMb * 1024 * 1024 }),
      ...(promptMb === undefined ? {} : { maxBodyBytes: promptMb * 1024 * 1024 }),
      prompt: promptLimits(values),
    },
  };
}

/** --max-image-pixels / --max-batch-pixels / --max-steps (0 = no limit); unset ones keep the defaults. */
function promptLimits(values: Record<string, unknown>): Partial<PromptLimits> {
  const limits: Partial<PromptLimits> = {};
  const flags = [['max-image-pixels', 'maxImagePixels'], ['max-batch-pixels', 'maxBatchPixels'], ['max-steps', 'maxSteps']] as const;
  for (const [flag, key] of flags) {
    const value = optionalInt(values[flag] as string | undefined, `--${flag}`, 0, Number.MAX_SAFE_INTEGER);
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}

function optionalInt(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  return value;
}

/** `invgraph serve ARGS`: runs until SIGINT/SIGTERM, then closes (a running job runs again next start). */
export async function serveCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
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
  const guards = installProcessGuards((message) => process.stderr.write(`[invgraph] ${message}\n`));
  if (options.insecureNoAuth && !isLoopback(options.host ?? '127.0.0.1') && !(options.authToken || process.env.INVGRAPH_AUTH_TOKEN)) {
    process.stderr.write(`invgraph: WARNING: listening on ${options.host} with no access token (--insecure-no-auth): anyone who can reach it can run prompts and read every image\n`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('invgraph: shutting down\n');
  await handle.close();
  guards.remove();
  return 0;
}
