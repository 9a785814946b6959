// The job queue and history contract of comfyui-api.md §2.1–2.7 and §6.11, made durable:
// a job accepted with 200 is stored before the answer, survives a crash, and a job that was
// running when the process died runs again. Two implementations pass one case-suite
// (job-queue.case.ts): SQLite (sqlite/, the embedded default, answers synchronously) and
// Redis with BullMQ (redis/, many workers on many machines, answers over the network).

import type { ApiPrompt } from '../graph/index.ts';

/** What POST /prompt hands to the queue. `number` absent → the queue's counter decides. */
export interface NewJob {
  promptId: string;
  prompt: ApiPrompt;
  extraData: Record<string, unknown>;
  /** ids of the output nodes that passed validation. */
  outputs: string[];
  number?: number;
  /** Without `number`: take -counter so the job runs before normal ones (§2.1). */
  front?: boolean;
}

export interface QueuedJob {
  number: number;
  promptId: string;
  prompt: ApiPrompt;
  extraData: Record<string, unknown>;
  outputs: string[];
}

/** The 5-tuple clients see in /queue and history `prompt` (§2.3). */
export type QueueTuple = [number, string, ApiPrompt, Record<string, unknown>, string[]];

export interface HistoryStatus {
  status_str: 'success' | 'error';
  completed: boolean;
  messages: [string, unknown][];
}

export interface HistoryEntry {
  prompt: QueueTuple;
  outputs: Record<string, unknown>;
  status: HistoryStatus;
  meta: Record<string, unknown>;
}

export interface HistoryPage {
  maxItems?: number;
  offset?: number;
}

/** SQLite answers at once, Redis through a promise; callers always await. */
export type Awaitable<T> = T | Promise<T>;

export interface JobQueue {
  /** Stores the job durably; returns its number. */
  add(job: NewJob): Awaitable<number>;
  /** Moves the first pending job (lowest number, then prompt id) to running; undefined if none. */
  take(): Awaitable<QueuedJob | undefined>;
  /** Atomically: write history, drop the running job, trim history to the retention. Returns false
   *  when this taker no longer owns the job (Redis: its lock expired and the job went to another
   *  worker); then nothing is written, so a prompt never gets two history entries. */
  finish(promptId: string, entry: HistoryEntry): Awaitable<boolean>;
  running(): Awaitable<QueuedJob[]>;
  /** Whether a pending or running job has this prompt id. */
  contains(promptId: string): Awaitable<boolean>;
  /** In execution order. */
  pending(): Awaitable<QueuedJob[]>;
  /** pending + running, the `queue_remaining` of §2.2. */
  remaining(): Awaitable<number>;
  /** Removes pending jobs with these ids (running ones are untouched); returns how many. */
  deletePending(promptIds: readonly string[]): Awaitable<number>;
  clearPending(): Awaitable<number>;
  /** Oldest first, paged as ComfyUI pages `/history` (§2.6). */
  history(page?: HistoryPage): Awaitable<[string, HistoryEntry][]>;
  /** As history(), but each entry as its stored JSON text: /history answers without re-parsing. */
  historyJson(page?: HistoryPage): Awaitable<[string, string][]>;
  historyEntry(promptId: string): Awaitable<HistoryEntry | undefined>;
  deleteHistory(promptIds: readonly string[]): Awaitable<void>;
  clearHistory(): Awaitable<void>;
  close(): Awaitable<void>;
}

export function toTuple(job: QueuedJob): QueueTuple {
  return [job.number, job.promptId, job.prompt, job.extraData, job.outputs];
}
