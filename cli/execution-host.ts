// Main-thread side of the execution worker: an ExecutionBackend that runs jobs in a
// worker_threads worker, interrupts it through a SharedArrayBuffer flag (works while the worker
// is blocked in a synchronous ONNX run), and replaces the worker if it dies mid-job.

import { Worker } from 'node:worker_threads';
import type { Folders } from '../engine/graph/index.ts';
import { createSharedInterruptFlag } from '../engine/exec/index.ts';
import type { ExecutionEvent, ExecutionOutcome } from '../engine/exec/index.ts';
import type { BackendJob, ExecutionBackend } from '../engine/server/index.ts';
import type { FromWorker, ToWorker, WorkerData } from './execution-worker.ts';

export interface WorkerBackendOptions {
  folders: Folders;
  device: string;
  /** URL of a module exporting createRegistry(); default nodes/index.ts. */
  registryModule?: string;
  log(message: string): void;
}

interface PendingRun {
  id: number;
  onEvent(event: ExecutionEvent): void;
  resolve(outcome: ExecutionOutcome): void;
  reject(error: Error): void;
}

interface LiveWorker {
  worker: Worker;
  ready: Promise<void>;
}

const BOOT = new URL('./execution-worker-boot.mjs', import.meta.url);
const ENTRY = new URL('./execution-worker.ts', import.meta.url).href;
/** How long close() lets the worker release its services before terminating it. */
const CLOSE_GRACE_MS = 5000;

export function createWorkerBackend(options: WorkerBackendOptions): ExecutionBackend {
  const interrupt = createSharedInterruptFlag();
  // Which run an interrupt was meant for. The executor clears the flag when a job starts (an
  // interrupt sent while idle is lost, §6.8), which would also drop one sent while the worker was
  // still starting or the run message was on its way: the worker keeps the flag set for this run.
  const interruptTarget = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  let starting: number | undefined;
  let live: LiveWorker | undefined;
  let current: PendingRun | undefined;
  let nextId = 1;
  let closing = false;

  function start(): LiveWorker {
    const data: WorkerData = {
      entry: ENTRY,
      folders: options.folders,
      device: options.device,
      registryModule: options.registryModule,
      interruptBuffer: interrupt.buffer,
      interruptTargetBuffer: interruptTarget.buffer as SharedArrayBuffer,
    };
    const worker = new Worker(BOOT, { workerData: data, stdout: false, stderr: false });
    let markReady!: () => void;
    let failStart!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failStart = reject;
    });
    ready.catch(() => {}); // observed by run(); avoid an unhandled rejection when idle
    worker.on('message', (message: FromWorker) => onMessage(message, markReady));
    worker.on('error', (error) => {
      options.log(`execution worker failed: ${error.stack ?? error.message}`);
      failStart(error);
    });
    worker.on('exit', (code) => {
      if (live?.worker === worker) live = undefined;
      const error = new Error(`the execution worker stopped unexpectedly (exit code ${code}); the server started a new one`);
      failStart(error);
      if (current && !closing) options.log(`execution worker exited with code ${code} during a job`);
      const run = current;
      current = undefined;
      run?.reject(closing ? new Error('the server is shutting down') : error);
    });
    return { worker, ready };
  }

  function onMessage(message: FromWorker, markReady: () => void): void {
    switch (message.type) {
      case 'ready':
        markReady();
        return;
      case 'log':
        options.log(message.message);
        return;
      case 'event':
        if (current?.id === message.id) current.onEvent(message.event);
        return;
      case 'done':
      case 'failed': {
        const run = current;
        if (run?.id !== message.id) return;
        current = undefined;
        if (message.type === 'done') run.resolve(message.outcome);
        else run.reject(new Error(message.message));
      }
    }
  }

  function send(message: ToWorker): void {
    live?.worker.postMessage(message);
  }

  live = start();
  return {
    async run(job: BackendJob, onEvent) {
      if (closing) throw new Error('the server is shutting down');
      if (current) throw new Error(`cannot start prompt ${job.promptId}: the worker is busy`);
      live ??= start();
      const worker = live;
      const id = nextId++;
      starting = id;
      try {
        await worker.ready;
      } finally {
        starting = undefined;
      }
      return new Promise<ExecutionOutcome>((resolve, reject) => {
        current = { id, onEvent, resolve, reject };
        worker.worker.postMessage({ type: 'run', id, job } satisfies ToWorker);
      });
    },
    interrupt: () => {
      const target = current?.id ?? starting;
      if (target !== undefined) Atomics.store(interruptTarget, 0, target);
      interrupt.set();
    },
    free: (request) => send({ type: 'free', ...request }),
    async close() {
      closing = true;
      const worker = live?.worker;
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      // Terminating a worker inside a native onnxruntime call aborts the whole process, so a running
      // job is interrupted first (it stops at its next step) and the worker releases its sessions.
      if (current) interrupt.set();
      const timer = setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS);
      send({ type: 'close' });
      await exited;
      clearTimeout(timer);
    },
  };
}
