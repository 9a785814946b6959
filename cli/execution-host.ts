// Host side of the execution worker: an ExecutionBackend that runs jobs in a child process, sends it
// interrupts over IPC, kills it when an interrupt is not honoured within the grace period (one
// native onnxruntime call can run for hours, and only a process can be stopped inside one), and
// starts a new one for the next job when it died or was killed.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Folders } from '../engine/graph/index.ts';
import { RunRecord } from '../engine/exec/index.ts';
import type { ExecutionEvent, ExecutionOutcome } from '../engine/exec/index.ts';
import type { BackendJob, ExecutionBackend } from '../engine/server/index.ts';
import type { FromWorker, ToWorker, WorkerData } from './execution-worker.ts';

export interface WorkerBackendOptions {
  folders: Folders;
  device: string;
  /** URL of a module exporting createRegistry(); default nodes/index.ts. */
  registryModule?: string;
  /** How long a job may run on after an interrupt before its process is killed (default 10 s). */
  interruptGraceMs?: number;
  log(message: string): void;
}

export const DEFAULT_INTERRUPT_GRACE_MS = 10_000;

/** --interrupt-grace-s: seconds (fractions allowed) a job may run on after an interrupt. */
export function interruptGraceFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0.1 || seconds > 3600) {
    throw new Error(`--interrupt-grace-s must be a number of seconds from 0.1 to 3600, got "${value}"`);
  }
  return Math.round(seconds * 1000);
}


interface PendingRun {
  id: number;
  record: RunRecord;
  onEvent(event: ExecutionEvent): void;
  resolve(outcome: ExecutionOutcome): void;
  reject(error: Error): void;
}

interface LiveWorker {
  child: ChildProcess;
  ready: Promise<void>;
  /** Set when the host killed it on purpose (an interrupt not honoured in time). */
  killedForInterrupt: boolean;
  /** Its resident bytes before the current job: when it started, then after each job that did not fail. */
  baselineRss: number;
  /** Closed by recycle(): its exit concerns no job (the next one runs on a fresh process). */
  retired: boolean;
}

/**
 * A failed job may leave memory behind in the process that ran it: buffers a native library (onnxruntime,
 * sharp) keeps, heap the allocator does not return, caches filled for a job that did not finish (issue
 * #12: ~4-5 GB stayed after failed jobs). When a failed job leaves the process more than this fraction
 * above its baseline (and by at least RECYCLE_MIN_GROWTH_BYTES, so small processes do not churn), the host
 * closes it and the next job starts a fresh one: RSS comes back to what it was before the job.
 */
export const RECYCLE_GROWTH = 0.2;
export const RECYCLE_MIN_GROWTH_BYTES = 64 * 2 ** 20;

/** Whether a process at `rss` after a failed job should be replaced (see RECYCLE_GROWTH). */
export function keptTooMuch(baselineRss: number, rss: number): boolean {
  return rss > baselineRss * (1 + RECYCLE_GROWTH) && rss - baselineRss > RECYCLE_MIN_GROWTH_BYTES;
}

const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;

const BOOT = fileURLToPath(new URL('./execution-worker-boot.mjs', import.meta.url));
const ENTRY = new URL('./execution-worker.ts', import.meta.url).href;
/** How long close() lets the worker release its services before killing it. */
const CLOSE_GRACE_MS = 5000;

export function createWorkerBackend(options: WorkerBackendOptions): ExecutionBackend {
  const graceMs = options.interruptGraceMs ?? DEFAULT_INTERRUPT_GRACE_MS;
  let starting: number | undefined;
  let live: LiveWorker | undefined;
  let current: PendingRun | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let nextId = 1;
  let closing = false;

  function start(): LiveWorker {
    const data: WorkerData = { folders: options.folders, device: options.device, registryModule: options.registryModule };
    // stdout goes to our stderr: `run --json` keeps stdout for its result whatever a library prints.
    const child = fork(BOOT, [ENTRY], { serialization: 'advanced', stdio: ['ignore', 2, 'inherit', 'ipc'] });
    let markReady!: () => void;
    let failStart!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failStart = reject;
    });
    ready.catch(() => {}); // observed by run(); avoid an unhandled rejection when idle
    const worker: LiveWorker = { child, ready, killedForInterrupt: false, baselineRss: 0, retired: false };
    child.on('message', (message: FromWorker) => onMessage(message, worker, markReady));
    child.on('error', (error) => {
      options.log(`execution worker failed: ${error.stack ?? error.message}`);
      failStart(error);
    });
    child.on('exit', (code, signal) => {
      if (live === worker) live = undefined;
      if (worker.retired) return;
      cancelKill();
      const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
      const error = new Error(`the execution worker stopped unexpectedly (${how}); the server started a new one`);
      failStart(error);
      const run = current;
      current = undefined;
      if (!run) return;
      if (closing) return run.reject(new Error('the server is shutting down'));
      if (worker.killedForInterrupt) {
        // Ends like an interrupt the executor honoured: the frame, then the outcome.
        const { event, outcome } = run.record.interrupted();
        run.onEvent(event);
        return run.resolve(outcome);
      }
      options.log(`execution worker stopped (${how}) during a job`);
      run.reject(error);
    });
    child.send({ type: 'init', data } satisfies ToWorker);
    return worker;
  }

  function onMessage(message: FromWorker, worker: LiveWorker, markReady: () => void): void {
    switch (message.type) {
      case 'ready':
        worker.baselineRss = message.rss;
        markReady();
        return;
      case 'log':
        options.log(message.message);
        return;
      case 'event':
        if (current?.id === message.id) {
          current.record.observe(message.event);
          current.onEvent(message.event);
        }
        return;
      case 'done':
      case 'failed': {
        const run = current;
        if (run?.id !== message.id) return;
        current = undefined;
        cancelKill();
        const failed = message.type === 'failed' || message.outcome.status === 'error';
        if (!failed) worker.baselineRss = message.rss;
        else if (keptTooMuch(worker.baselineRss, message.rss)) recycle(worker, message.rss);
        if (message.type === 'done') run.resolve(message.outcome);
        else run.reject(new Error(message.message));
      }
    }
  }

  /** Closes a worker a failed job left bloated; the next job starts a fresh one (see RECYCLE_GROWTH). */
  function recycle(worker: LiveWorker, rss: number): void {
    options.log(`a failed job left the execution process at ${mb(rss)} (${mb(worker.baselineRss)} before it): starting a fresh one to release that memory`);
    worker.retired = true;
    if (live === worker) live = undefined;
    if (worker.child.connected) worker.child.send({ type: 'close' } satisfies ToWorker);
    // A process that does not exit after releasing its sessions is killed.
    setTimeout(() => {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    }, CLOSE_GRACE_MS).unref();
  }

  function cancelKill(): void {
    clearTimeout(killTimer);
    killTimer = undefined;
  }

  function send(message: ToWorker): void {
    if (live?.child.connected) live.child.send(message);
  }

  /** The running job did not stop within the grace period: kill its process. */
  function killStuckWorker(): void {
    const worker = live;
    if (!worker || current === undefined) return;
    options.log(`the running job did not stop within ${graceMs / 1000} s of the interrupt: stopping the execution worker (models load again for the next job)`);
    worker.killedForInterrupt = true;
    worker.child.kill('SIGKILL');
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
      const record = new RunRecord(job.promptId, (nodeId) => (Object.hasOwn(job.prompt, nodeId) ? job.prompt[nodeId].class_type : ''));
      return new Promise<ExecutionOutcome>((resolve, reject) => {
        current = { id, record, onEvent, resolve, reject };
        worker.child.send({ type: 'run', id, job } satisfies ToWorker);
      });
    },
    interrupt: () => {
      const target = current?.id ?? starting;
      if (target === undefined) return;
      send({ type: 'interrupt', id: target });
      if (current !== undefined && killTimer === undefined) {
        killTimer = setTimeout(() => {
          killTimer = undefined;
          if (current?.id === target) killStuckWorker();
        }, graceMs);
        killTimer.unref();
      }
    },
    free: (request) => send({ type: 'free', ...request }),
    async close() {
      closing = true;
      cancelKill();
      const child = live?.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // A running job is interrupted first (it stops at its next step) so the worker can release its
      // sessions; a process that does not exit within the grace period is killed.
      if (current) send({ type: 'interrupt', id: current.id });
      const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(CLOSE_GRACE_MS, graceMs));
      send({ type: 'close' });
      await exited;
      clearTimeout(timer);
    },
  };
}
