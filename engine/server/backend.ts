// What the server needs from whoever executes prompts (a child process in production, an
// in-process executor in tests). The server never imports nodes/ or cli/ (architecture.md).

import type { ApiPrompt } from '../graph/index.ts';
import type { ExecutionEvent, ExecutionOutcome } from '../exec/index.ts';

export interface BackendJob {
  promptId: string;
  prompt: ApiPrompt;
  outputs: string[];
  extraData: Record<string, unknown>;
}

export interface ExecutionBackend {
  /** Runs one job; resolves with its outcome. Rejects only if the backend itself failed
   *  (e.g. the worker died); the server then records an execution_error for the job. */
  run(job: BackendJob, onEvent: (event: ExecutionEvent) => void): Promise<ExecutionOutcome>;
  /** Stops the running job at its next interrupt check (§6.8); no-op when idle. */
  interrupt(): void;
  /** POST /free: unload models; `freeMemory` also empties the output cache (§2.14). */
  free(request: { unloadModels: boolean; freeMemory: boolean }): void;
  close(): Promise<void>;
}
