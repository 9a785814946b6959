// Public surface of engine/queue: the durable job queue + history (comfyui-api.md §2.1–2.7), on
// SQLite (embedded default) or on Redis with BullMQ (many workers).
export type { Awaitable, HistoryEntry, HistoryPage, HistoryStatus, JobQueue, NewJob, QueuedJob, QueueTuple } from './job-queue.ts';
export { toTuple } from './job-queue.ts';
export { openSqliteQueue, type SqliteQueueOptions } from './sqlite/sqlite-job-queue.ts';
export * from './redis/index.ts';
