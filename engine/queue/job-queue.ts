// The job queue and history contract of comfyui-api.md §2.1–2.7 and §6.11, made durable:
// a job accepted with 200 is stored before the answer, survives a crash, and a job that was
// running when the process died runs again on restart. SQLite implements it (sqlite/).

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

export interface JobQueue {
  /** Stores the job durably; returns its number. */
  add(job: NewJob): number;
  /** Moves the first pending job (lowest number, then prompt id) to running; undefined if none. */
  take(): QueuedJob | undefined;
  /** Atomically: write history, drop the running job, trim history to the retention. */
  finish(promptId: string, entry: HistoryEntry): void;
  running(): QueuedJob[];
  /** Whether a pending or running job has this prompt id. */
  contains(promptId: string): boolean;
  /** In execution order. */
  pending(): QueuedJob[];
  /** pending + running, the `queue_remaining` of §2.2. */
  remaining(): number;
  /** Removes pending jobs with these ids (running ones are untouched); returns how many. */
  deletePending(promptIds: readonly string[]): number;
  clearPending(): number;
  /** Oldest first, paged as ComfyUI pages `/history` (§2.6). */
  history(page?: HistoryPage): [string, HistoryEntry][];
  /** As history(), but each entry as its stored JSON text: /history answers without re-parsing. */
  historyJson(page?: HistoryPage): [string, string][];
  historyEntry(promptId: string): HistoryEntry | undefined;
  deleteHistory(promptIds: readonly string[]): void;
  clearHistory(): void;
  close(): void;
}

export function toTuple(job: QueuedJob): QueueTuple {
  return [job.number, job.promptId, job.prompt, job.extraData, job.outputs];
}
