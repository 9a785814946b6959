// The executor: runs validated prompts one at a time against a node registry, keeping the output
// cache between them. It knows no node; events go to the caller's callback (style.md §6).

import type { DefinitionEnv, NodeRegistry, NodeServices, ApiPrompt } from '../graph/index.ts';
import type { ExecutionEvent, ExecutionOutcome, StatusMessage } from './events.ts';
import { watchInterrupt, type InterruptFlag } from './interrupt.ts';
import type { ExtraData, Job } from './job.ts';
import { createOutputCache, type CacheSettings } from './output-cache.ts';
import { recordingEmitter, runJob } from './run-job.ts';

export interface ExecutorOptions {
  registry: NodeRegistry;
  env: DefinitionEnv;
  services: NodeServices;
  /** Default: classic. */
  cache?: CacheSettings;
  /** Where node log lines and executor warnings go. Default: console.warn. */
  log?: (message: string) => void;
}

export interface ExecutionJob {
  promptId: string;
  /** Already validated: classes exist, links resolve, constants coerced (SEED as bigint). */
  prompt: ApiPrompt;
  /** Output node ids to run. */
  outputs: string[];
  extraData?: ExtraData;
}

export interface ExecutionHooks {
  onEvent(event: ExecutionEvent): void;
  /** Cleared when the job starts, so an interrupt sent while idle is lost (§6.8). */
  interrupt: InterruptFlag;
}

export interface Executor {
  /** Resolves with the outcome for success, node errors and interrupts alike; it rejects only if
   *  called while another job runs. Does not emit the final `executing {node: null}` frame. */
  execute(job: ExecutionJob, hooks: ExecutionHooks): Promise<ExecutionOutcome>;
  /** Drops every cached output (POST /free). */
  clearCache(): void;
}

export function createExecutor(options: ExecutorOptions): Executor {
  const cache = createOutputCache(options.cache ?? { mode: 'classic' });
  const log = options.log ?? ((message: string) => console.warn(message));
  let running = false;
  return {
    async execute(request, hooks) {
      if (running) throw new Error(`cannot start prompt ${request.promptId}: the executor runs one prompt at a time and one is running`);
      running = true;
      try {
        hooks.interrupt.clear();
        const messages: StatusMessage[] = [];
        const job: Job = {
          promptId: request.promptId,
          prompt: request.prompt,
          extraData: request.extraData ?? {},
          registry: options.registry,
          env: options.env,
          services: options.services,
          cache,
          signatures: new Map(),
          values: new Map(),
          executed: [],
          messages,
          currentInputs: {},
          interrupt: watchInterrupt(hooks.interrupt),
          emit: recordingEmitter((event) => hooks.onEvent(event), messages, log),
          log,
        };
        return await runJob(job, request.outputs);
      } finally {
        running = false;
      }
    },
    clearCache: () => cache.clear(),
  };
}
