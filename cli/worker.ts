// `invgraph worker --queue redis://...`: runs prompts from the Redis queue of an `invgraph serve
// --queue` server (docs/server.md "Many workers"). Each of --concurrency slots is the embedded
// server's job runner + execution process, taking prompts from BullMQ instead of SQLite and sending
// its websocket frames to the server over Redis. Slots advertise their device and warm checkpoints.

import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Folders, NodeRegistry } from '../engine/graph/index.ts';
import { WorkerBus, WorkerRegistry, checkpointsOf, openRedisQueue, parseRedisUrl } from '../engine/queue/index.ts';
import type { ControlMessage, HistoryEntry, HubCall, QueuedJob, RedisAddress } from '../engine/queue/index.ts';
import { JobRunner, historyEntry } from '../engine/server/index.ts';
import { finishedEvent } from '../engine/exec/index.ts';
import type { ExecutionErrorData } from '../engine/exec/index.ts';
import type { ExecutionBackend, JobFrames } from '../engine/server/index.ts';
import { createWorkerBackend, interruptGraceFlag } from './execution-host.ts';
import { applyMaxDecodePixels, applyPreviewMethod, applyMemoryBudget, loadExtraModelPaths } from './model-paths.ts';
import { uploadingBackend, type UploadTarget } from './output-upload.ts';
import { inputFetchingBackend } from './input-download.ts';

export interface WorkerOptions {
  /** redis://HOST:6379[/DB] of the server's --queue. */
  queue: string;
  models?: string;
  /** extra_model_paths.yaml (ComfyUI's format); default ./extra_model_paths.yaml when present. */
  extraModelPaths?: string;
  input?: string;
  output?: string;
  temp?: string;
  device?: string;
  /** Prompts run at once, each in its own execution process with its own sessions (default 1). */
  concurrency?: number;
  /** Checkpoints a slot keeps loaded; taking a prompt for another one unloads the rest first (0 = no limit). */
  keepCheckpoints?: number;
  /** How long a slot leaves a prompt to a live worker that holds its checkpoint warm (default 1500 ms). */
  affinityWaitMs?: number;
  /** Redis key prefix shared with the server (default "invgraph"). */
  prefix?: string;
  /** BullMQ lock: a killed worker's prompt goes to another after this (default 30 s; tests use less). */
  lockMs?: number;
  /** Return output images to this server over HTTP instead of sharing the output folder. */
  upload?: UploadTarget;
  /** How long a prompt may run on after an interrupt before its execution process is killed (default 10 s). */
  interruptGraceMs?: number;
  /** Module URL exporting createRegistry() (tests); default nodes/index.ts. */
  registryModule?: string;
  log?: (message: string) => void;
}

export interface WorkerHandle {
  id: string;
  close(): Promise<void>;
}

const ADVERTISE_MS = 1000;

export async function startWorker(options: WorkerOptions): Promise<WorkerHandle> {
  const connection = parseRedisUrl(options.queue);
  const folders: Folders = {
    models: resolve(options.models ?? 'models'),
    input: resolve(options.input ?? 'input'),
    output: resolve(options.output ?? 'output'),
    temp: resolve(options.temp ?? 'temp'),
    extraModels: loadExtraModelPaths(options.extraModelPaths),
  };
  await Promise.all([folders.input, folders.output, folders.temp].map((dir) => mkdir(dir, { recursive: true })));
  const concurrency = options.concurrency ?? 1;
  const prefix = options.prefix ?? 'invgraph';
  const log = options.log ?? ((message: string) => console.error(`[invgraph worker] ${message}`));
  const id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const registry = new WorkerRegistry(connection, prefix);
  const slots: Slot[] = [];
  const bus = new WorkerBus(
    { connection, prefix },
    (message) => {
      for (const slot of slots) slot.control(message);
    },
    log,
  );
  const registryUrl = options.registryModule ?? new URL('../nodes/index.ts', import.meta.url).href;
  const nodes = ((await import(registryUrl)) as { createRegistry(): NodeRegistry }).createRegistry();
  for (let i = 0; i < concurrency; i++) {
    slots.push(startSlot({ id: `${id}/${i}`, connection, prefix, folders, options, registry, bus, nodes, log }));
  }
  const timer = setInterval(() => slots.forEach((slot) => slot.advertise()), ADVERTISE_MS);
  return {
    id,
    close: async () => {
      clearInterval(timer);
      await Promise.all(slots.map((slot) => slot.close()));
      registry.close();
      bus.close();
    },
  };
}

interface Slot {
  control(message: ControlMessage): void;
  advertise(): void;
  close(): Promise<void>;
}

interface SlotContext {
  id: string;
  connection: RedisAddress;
  prefix: string;
  folders: Folders;
  options: WorkerOptions;
  registry: WorkerRegistry;
  bus: WorkerBus;
  /** Node definitions (the execution processes hold their own): which inputs name input files. */
  nodes: NodeRegistry;
  log(message: string): void;
}

function startSlot(ctx: SlotContext): Slot {
  const { options, registry, bus, log } = ctx;
  const device = options.device ?? 'auto';
  let warm: string[] = [];
  const starts = { warmStarts: 0, coldStarts: 0 };
  let closed = false;
  const queue = openRedisQueue({
    connection: ctx.connection,
    prefix: ctx.prefix,
    lockMs: options.lockMs,
    onGiveUp: (job, message) => givenUp(job, message, frames),
    affinity: { self: ctx.id, warm: () => warm, registry, waitMs: options.affinityWaitMs ?? 1500 },
  });
  const execution = createWorkerBackend({ folders: ctx.folders, device, registryModule: options.registryModule, log, interruptGraceMs: options.interruptGraceMs });
  // With --upload-to the worker keeps its own folders: inputs come from the server, outputs go back to it.
  const jobs = options.upload
    ? inputFetchingBackend(uploadingBackend(execution, options.upload, ctx.folders), options.upload, ctx.folders, ctx.nodes)
    : execution;
  const keep = options.keepCheckpoints ?? 0;
  // Keeps `warm` true: the checkpoints whose sessions the execution process holds.
  const backend: ExecutionBackend = {
    async run(job, onEvent) {
      const wanted = checkpointsOf(job.prompt);
      const fresh = wanted.filter((name) => !warm.includes(name));
      if (wanted.length > 0) starts[fresh.length === 0 ? 'warmStarts' : 'coldStarts']++;
      if (keep > 0 && fresh.length > 0 && warm.length + fresh.length > keep) {
        jobs.free({ unloadModels: true, freeMemory: true });
        warm = [];
      }
      // Advertised from the start of the run: other workers leave this checkpoint's prompts to this slot.
      warm = [...new Set([...warm, ...wanted])];
      advertise();
      const outcome = await jobs.run(job, onEvent).catch((error: unknown) => {
        warm = warm.filter((name) => !fresh.includes(name));
        throw error;
      });
      if (outcome.status === 'error') warm = warm.filter((name) => !fresh.includes(name));
      return outcome;
    },
    interrupt: () => jobs.interrupt(),
    free: (request) => {
      jobs.free(request);
      if (request.unloadModels) warm = [];
    },
    close: () => jobs.close(),
  };
  const publish = (call: HubCall) => {
    bus.publish(call).catch((error: unknown) => log(`cannot reach the server's channel: ${error instanceof Error ? error.message : String(error)}`));
  };
  const advertise = () => {
    if (closed) return;
    const busy = runner.runningPromptId() !== undefined;
    registry.advertise({ id: ctx.id, device, warm, busy, ...starts }).catch(() => {});
  };
  const frames: JobFrames = {
    broadcastStatus: () => {
      publish({ kind: 'status' });
      advertise();
    },
    sendTo: (clientId, type, data) => publish({ kind: 'frame', clientId, orBroadcast: false, type, data }),
    sendToOrBroadcast: (clientId, type, data) => publish({ kind: 'frame', clientId, orBroadcast: true, type, data }),
    sendPreview: (clientId, preview) => publish({ kind: 'preview', clientId, preview }),
  };
  const runner = new JobRunner(queue, backend, frames, (message) => log(`${ctx.id}: ${message}`));
  const loop = (async () => {
    while (!closed) {
      const started = Date.now();
      runner.kick();
      await runner.drained();
      // take() blocks about a second when idle; a quicker return is an error (logged): back off.
      if (Date.now() - started < 100) await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  advertise();
  return {
    control(message) {
      if (message.type === 'interrupt') runner.interrupt(message.promptId);
      else backend.free(message);
    },
    advertise,
    async close() {
      closed = true;
      runner.stop();
      await backend.close();
      await runner.close();
      await loop;
      await queue.close();
      await registry.remove(ctx.id).catch(() => {});
    },
  };
}

/** The error a prompt ends with when its workers kept dying; its client hears it like any error. */
function givenUp(job: QueuedJob, message: string, frames: JobFrames): { entry: HistoryEntry; announce(): void } {
  const error: ExecutionErrorData = {
    prompt_id: job.promptId,
    node_id: '',
    node_type: '',
    executed: [],
    exception_message: `${message}\n`,
    exception_type: 'ExecutionWorkerError',
    traceback: [],
    current_inputs: {},
    current_outputs: [],
    timestamp: Date.now(),
  };
  const entry = historyEntry(job, { status: 'error', outputs: {}, messages: [['execution_error', error]], error });
  const clientId = typeof job.extraData.client_id === 'string' ? job.extraData.client_id : undefined;
  return {
    entry,
    announce: () => {
      frames.sendTo(clientId, 'execution_error', error);
      frames.broadcastStatus();
      const end = finishedEvent(job.promptId);
      frames.sendTo(clientId, end.type, end.data);
    },
  };
}

export const WORKER_USAGE = `  invgraph worker --queue redis://HOST:6379[/DB] [--device auto|cpu|cuda|cuda:N|webgpu] [--models DIR]
                  [--extra-model-paths FILE] [--memory-budget GB] [--max-decode-pixels N] [--preview-method auto|latent2rgb|taesd|none] [--input DIR] [--output DIR] [--temp DIR] [--concurrency N] [--keep-checkpoints N]
                  [--interrupt-grace-s S]
                  [--upload-to http://SERVER:8188 [--auth-token TOKEN]]
      Runs prompts from the Redis queue of \`invgraph serve --queue\` (docs/server.md "Many workers").
      --upload-to returns output images to the server over HTTP and fetches the input images prompts name
      from it (token also from INVGRAPH_AUTH_TOKEN)
      when the output folder is not shared.`;

export function parseWorkerArgs(argv: string[]): WorkerOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      queue: { type: 'string' },
      device: { type: 'string' },
      models: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      temp: { type: 'string' },
      concurrency: { type: 'string' },
      'keep-checkpoints': { type: 'string' },
      'upload-to': { type: 'string' },
      'extra-model-paths': { type: 'string' },
      'memory-budget': { type: 'string' },
      'max-decode-pixels': { type: 'string' },
      'preview-method': { type: 'string' },
      'auth-token': { type: 'string' },
      'interrupt-grace-s': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  if (values.queue === undefined) throw new Error('--queue redis://HOST:6379 is required (the same as the server\'s --queue)');
  parseRedisUrl(values.queue);
  applyMemoryBudget(values['memory-budget']);
  applyMaxDecodePixels(values['max-decode-pixels']);
  applyPreviewMethod(values['preview-method']);
  const uploadTo = values['upload-to'];
  if (uploadTo !== undefined && !/^https?:\/\/[^/]/.test(uploadTo)) throw new Error(`--upload-to must be the server's http(s):// URL, got "${uploadTo}"`);
  const token = values['auth-token'] || process.env.INVGRAPH_AUTH_TOKEN || undefined;
  return {
    queue: values.queue,
    device: values.device,
    models: values.models,
    extraModelPaths: values['extra-model-paths'],
    input: values.input,
    output: values.output,
    temp: values.temp,
    concurrency: intFlag(values.concurrency, '--concurrency', 1, 64),
    keepCheckpoints: intFlag(values['keep-checkpoints'], '--keep-checkpoints', 0, 1000),
    upload: uploadTo === undefined ? undefined : { url: uploadTo, token },
    interruptGraceMs: interruptGraceFlag(values['interrupt-grace-s']),
  };
}

function intFlag(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  return value;
}

/** `invgraph worker ARGS`: runs until SIGINT/SIGTERM; a prompt it was running goes back to the queue. */
export async function workerCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${WORKER_USAGE}\n`);
    return 0;
  }
  let options: WorkerOptions;
  try {
    options = parseWorkerArgs(argv);
  } catch (error) {
    process.stderr.write(`invgraph worker: ${(error as Error).message}\n\n${WORKER_USAGE}\n`);
    return 2;
  }
  const handle = await startWorker(options);
  process.stderr.write(`invgraph: worker ${handle.id} takes prompts from ${options.queue}\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  process.stderr.write('invgraph: worker shutting down\n');
  await handle.close();
  return 0;
}
