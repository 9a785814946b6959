// Public surface of the executor (architecture.md "Executor", comfyui-api.md §6.3–6.9).

export { createExecutor } from './executor.ts';
export type { ExecutionHooks, ExecutionJob, Executor, ExecutorOptions } from './executor.ts';
export { finishedEvent } from './events.ts';
export type {
  ExecutedData,
  ExecutingData,
  ExecutionCachedData,
  ExecutionErrorData,
  ExecutionEvent,
  ExecutionInterruptedData,
  ExecutionOutcome,
  ExecutionStartData,
  ExecutionSuccessData,
  PreviewData,
  ProgressData,
  StatusMessage,
} from './events.ts';
export { InterruptedError, createInterruptFlag, createSharedInterruptFlag, fromSharedBuffer } from './interrupt.ts';
export type { InterruptFlag, SharedInterruptFlag } from './interrupt.ts';
export { RunRecord } from './run-record.ts';
export { computeSignatures } from './cache-key.ts';
export type { SignatureSources, Signatures } from './cache-key.ts';
export type { CacheSettings } from './output-cache.ts';
export type { ExtraData } from './job.ts';
export { DependencyCycleError } from './schedule.ts';
