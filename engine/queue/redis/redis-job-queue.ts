// JobQueue on Redis with BullMQ, for many workers on many machines (docs/server.md "Many workers").
// A prompt is a BullMQ job (id from the prompt id); taking it locks it for this worker, the lock is
// renewed while it runs, and a worker killed mid-prompt loses it to BullMQ's stalled-job check, which
// puts it back for another worker. finish() completes the job with its history entry as the return
// value, under the lock: a worker whose job was handed on writes nothing. History is BullMQ's
// completed set, trimmed to the retention.

import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import type { Job, JobType } from 'bullmq';
import { Redis } from 'ioredis';
import type { ApiPrompt } from '../../graph/index.ts';
import type { HistoryEntry, HistoryPage, JobQueue, NewJob, QueuedJob } from '../job-queue.ts';
import { historyWindow } from '../sqlite/sqlite-job-queue.ts';
import { fromJsonText, toJsonText } from '../sqlite/json-text.ts';
import type { RedisAddress } from './redis-url.ts';
import type { WorkerRegistry } from './worker-registry.ts';

export interface RedisQueueOptions {
  connection: RedisAddress;
  /** Key prefix, so several installations can share one Redis (default "invgraph"). */
  prefix?: string;
  /** Most history entries kept (default 10000, as ComfyUI). */
  historyMax?: number;
  /** A taken job whose lock is not renewed for this long is handed to another worker (default 30 s). */
  lockMs?: number;
  /** How often this taker looks for stalled jobs of dead workers (default lockMs / 2). */
  stalledCheckMs?: number;
  /** A prompt started this many times, its worker dying each time (killed, out of memory, a native
   *  crash), is not started again: it ends with an error (default 3). */
  maxStarts?: number;
  /** Builds that prompt's error history entry, and what tells its client once it is written. */
  onGiveUp?: (job: QueuedJob, message: string) => { entry: HistoryEntry; announce(): void };
  /** For a worker's take(): prefer prompts whose checkpoints this worker holds warm. */
  affinity?: Affinity;
}

/** take() leaves the next prompt, for up to `waitMs`, to another live worker that holds its
 *  checkpoints warm when this one does not: a preference, never a reservation. */
export interface Affinity {
  self: string;
  warm(): readonly string[];
  registry: WorkerRegistry;
  waitMs: number;
}

/** What a BullMQ job holds: JSON text keeps seeds beyond 2^53 exact (lossless-json). */
interface JobData {
  promptId: string;
  number: number;
  prompt: string;
  extraData: string;
  outputs: string[];
  /** The prompt's `ckpt_name` inputs: what a warm worker would already hold. */
  checkpoints: string[];
}

interface HeldJob {
  job: Job<JobData, string, typeof JOB_NAME>;
  token: string;
  renew: NodeJS.Timeout;
}

export interface RedisJobQueue extends JobQueue {
  /** The Redis options this queue connects with, for the event bus beside it. */
  readonly connection: RedisAddress;
  readonly prefix: string;
  /** Whether this taker still holds the job's lock (false once it was handed on). */
  holds(promptId: string): boolean;
}

const QUEUE_NAME = 'prompts';
const JOB_NAME = 'prompt';
const PENDING_TYPES: JobType[] = ['wait', 'prioritized'];

/** BullMQ job ids may not be integers or contain ':'; prompt ids may, so they are escaped. */
export function jobIdOf(promptId: string): string {
  return `p-${encodeURIComponent(promptId)}`;
}

export function openRedisQueue(options: RedisQueueOptions): RedisJobQueue {
  const historyMax = options.historyMax ?? 10000;
  if (!Number.isInteger(historyMax) || historyMax < 1) throw new Error(`history retention must be a positive integer, got ${historyMax}`);
  const prefix = options.prefix ?? 'invgraph';
  const lockMs = options.lockMs ?? 30_000;
  const maxStarts = options.maxStarts ?? 3;
  // BullMQ's blocking connections need it: a lost connection is retried, not failed per command.
  const connection = { ...options.connection, maxRetriesPerRequest: null };
  const queue = new Queue<JobData, string, typeof JOB_NAME>(QUEUE_NAME, {
    connection,
    prefix,
    defaultJobOptions: { removeOnComplete: { count: historyMax }, removeOnFail: { count: historyMax } },
  });
  const redis = new Redis(connection);
  const counterKey = `${prefix}:${QUEUE_NAME}:counter`;
  const held = new Map<string, HeldJob>();
  let taker: Worker<JobData, string, typeof JOB_NAME> | undefined;
  let closed = false;

  function takerWorker(): Worker<JobData, string, typeof JOB_NAME> {
    if (taker) return taker;
    // A manual worker: jobs are fetched with getNextJob; no processor, so the lock is renewed here.
    taker = new Worker<JobData, string, typeof JOB_NAME>(QUEUE_NAME, null, {
      connection,
      prefix,
      lockDuration: lockMs,
      stalledInterval: options.stalledCheckMs ?? Math.max(500, Math.floor(lockMs / 2)),
      // Never failed by BullMQ (a failed job would vanish from /history): take() gives up on it instead.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      drainDelay: 1,
    });
    taker.on('error', () => {}); // connection errors are retried by ioredis; a lost lock shows in finish()
    void taker.startStalledCheckTimer();
    return taker;
  }

  function hold(job: Job<JobData, string, typeof JOB_NAME>, token: string): void {
    const renew = setInterval(() => {
      job.extendLock(token, lockMs).then(
        (ok) => {
          if (!ok) release(job.data.promptId);
        },
        () => {},
      );
    }, Math.max(100, Math.floor(lockMs / 3)));
    held.set(job.data.promptId, { job, token, renew });
  }

  function release(promptId: string): HeldJob | undefined {
    const entry = held.get(promptId);
    if (entry) clearInterval(entry.renew);
    held.delete(promptId);
    return entry;
  }

  async function jobsIn(states: readonly JobType[]): Promise<QueuedJob[]> {
    const jobs = await queue.getJobs([...states], 0, -1, true);
    return jobs.filter((job) => job?.data).map((job) => toQueued(job.data));
  }

  async function historyRows(page: HistoryPage): Promise<[string, string][]> {
    const total = await queue.getCompletedCount();
    const [limit, offset] = historyWindow(total, page);
    if (limit <= 0 || offset >= total) return [];
    const jobs = await queue.getJobs(['completed'], offset, offset + limit - 1, true);
    const rows: [string, string][] = [];
    for (const job of jobs) {
      const entry: unknown = job?.returnvalue;
      if (job?.data && typeof entry === 'string') rows.push([job.data.promptId, entry]);
    }
    return rows;
  }

  async function leaveToWarmWorker(affinity: Affinity): Promise<void> {
    const deadline = Date.now() + affinity.waitMs;
    while (Date.now() < deadline && !closed) {
      const [head] = await queue.getJobs(['wait'], 0, 0, true);
      const wanted = head?.data?.checkpoints ?? [];
      const mine = affinity.warm();
      if (wanted.length === 0 || wanted.every((name) => mine.includes(name))) return;
      const others = (await affinity.registry.live()).filter((w) => w.id !== affinity.self);
      if (!others.some((w) => wanted.every((name) => w.warm.includes(name)))) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  return {
    connection,
    prefix,
    holds: (promptId) => held.has(promptId),
    async add(job: NewJob) {
      const state = await queue.getJobState(jobIdOf(job.promptId));
      // A prompt id reused after it finished: its history entry gives way to the new run (as SQLite's upsert).
      if (state === 'completed' || state === 'failed') await queue.remove(jobIdOf(job.promptId));
      let number = job.number;
      if (number === undefined) {
        const counter = (await redis.incr(counterKey)) - 1;
        number = job.front ? -counter : counter;
      }
      const data: JobData = {
        promptId: job.promptId,
        number,
        prompt: toJsonText(job.prompt),
        extraData: toJsonText(job.extraData),
        outputs: job.outputs,
        checkpoints: checkpointsOf(job.prompt),
      };
      // Counter numbers grow, so FIFO is their order; a front (negative) number goes to the head (LIFO),
      // which is ComfyUI's -counter order among front prompts (docs/server.md: explicit numbers).
      await queue.add(JOB_NAME, data, { jobId: jobIdOf(job.promptId), lifo: number < 0 || Object.is(number, -0) });
      return number;
    },
    async take() {
      if (closed) return undefined;
      if (options.affinity) await leaveToWarmWorker(options.affinity);
      for (;;) {
        const token = randomUUID();
        const job = (await takerWorker().getNextJob(token, { block: true })) as Job<JobData, string, typeof JOB_NAME> | undefined;
        if (!job) return undefined;
        if (job.attemptsStarted <= maxStarts || !options.onGiveUp) {
          hold(job, token);
          return toQueued(job.data);
        }
        const message = `prompt ${job.data.promptId} was started ${job.attemptsStarted - 1} times and its worker died each time (killed, out of memory or a native crash); it is not run again`;
        const { entry, announce } = options.onGiveUp(toQueued(job.data), message);
        await job.moveToCompleted(toJsonText(entry), token, false).then(announce, () => {});
      }
    },
    async finish(promptId: string, entry: HistoryEntry) {
      const owned = release(promptId);
      if (!owned) return false;
      try {
        await owned.job.moveToCompleted(toJsonText(entry), owned.token, false);
        return true;
      } catch {
        // The lock was lost (this worker stalled and the job went to another): nothing is written.
        return false;
      }
    },
    running: () => jobsIn(['active']),
    async contains(promptId) {
      const state = await queue.getJobState(jobIdOf(promptId));
      return state === 'waiting' || state === 'prioritized' || state === 'active' || state === 'delayed';
    },
    pending: () => jobsIn(PENDING_TYPES),
    async remaining() {
      const counts = await queue.getJobCounts('wait', 'prioritized', 'active');
      return Object.values(counts).reduce((sum, n) => sum + n, 0);
    },
    async deletePending(promptIds) {
      let removed = 0;
      for (const promptId of promptIds) {
        const id = jobIdOf(promptId);
        const state = await queue.getJobState(id);
        // remove() refuses a locked (running) job; the state check keeps history untouched too.
        if (state === 'waiting' || state === 'prioritized') removed += await queue.remove(id);
      }
      return removed;
    },
    async clearPending() {
      const before = (await queue.getJobs(PENDING_TYPES, 0, -1)).length;
      await queue.drain();
      return before;
    },
    async history(page: HistoryPage = {}) {
      return (await historyRows(page)).map(([id, text]) => [id, fromJsonText<HistoryEntry>(text)]);
    },
    historyJson: (page: HistoryPage = {}) => historyRows(page),
    async historyEntry(promptId) {
      const job = await queue.getJob(jobIdOf(promptId));
      if (!job || typeof job.returnvalue !== 'string' || !(await job.isCompleted())) return undefined;
      return fromJsonText<HistoryEntry>(job.returnvalue);
    },
    async deleteHistory(promptIds) {
      for (const promptId of promptIds) {
        if ((await queue.getJobState(jobIdOf(promptId))) === 'completed') await queue.remove(jobIdOf(promptId));
      }
    },
    async clearHistory() {
      await queue.clean(0, 0, 'completed');
    },
    async close() {
      closed = true;
      // A job this taker still holds (its runner stopped mid-prompt) goes back to the head of the
      // queue now, instead of waiting for its lock to expire.
      for (const [promptId, entry] of [...held]) {
        release(promptId);
        await entry.job.moveToWait(entry.token).catch(() => {});
      }
      await taker?.close(true);
      await queue.close();
      redis.disconnect();
    },
  };
}

/** Checkpoint names a prompt loads: every `ckpt_name` string input (CheckpointLoaderSimple and kin). */
export function checkpointsOf(prompt: ApiPrompt): string[] {
  const names = new Set<string>();
  for (const node of Object.values(prompt)) {
    const name = node.inputs.ckpt_name;
    if (typeof name === 'string') names.add(name);
  }
  return [...names].sort();
}

function toQueued(data: JobData): QueuedJob {
  return {
    number: data.number,
    promptId: data.promptId,
    prompt: fromJsonText<ApiPrompt>(data.prompt),
    extraData: fromJsonText<Record<string, unknown>>(data.extraData),
    outputs: data.outputs,
  };
}
