// The state of one running prompt, shared by the scheduler and node execution.

import type { DefinitionEnv, NodeRegistry, NodeServices, ApiPrompt } from '../graph/index.ts';
import type { Signatures } from './cache-key.ts';
import type { ExecutionEvent, StatusMessage } from './events.ts';
import type { InterruptWatch } from './interrupt.ts';
import type { CacheEntry, OutputCache } from './output-cache.ts';

export interface ExtraData {
  extra_pnginfo?: Record<string, unknown>;
  client_id?: string;
}

export interface Job {
  promptId: string;
  prompt: ApiPrompt;
  extraData: ExtraData;
  registry: NodeRegistry;
  env: DefinitionEnv;
  services: NodeServices;
  cache: OutputCache;
  signatures: Signatures;
  /** Outputs (and UI) usable in this run by node id: computed now, or taken (and pinned) from
   *  the cache — every cached node of the prompt is pinned when execution_cached is sent. */
  values: Map<string, CacheEntry>;
  /** Nodes finished in this run (run or served from cache), in order. */
  executed: string[];
  messages: StatusMessage[];
  /** Summary of the running node's inputs, for execution_error. */
  currentInputs: Record<string, unknown[]>;
  interrupt: InterruptWatch;
  emit(event: ExecutionEvent): void;
  log(message: string): void;
}

/** Whether a node's outputs can be used now; a cache hit is copied into the run so that an lru
 *  eviction later in the run cannot take it away. */
export function isAvailable(job: Job, nodeId: string): boolean {
  if (job.values.has(nodeId)) return true;
  const signature = job.signatures.get(nodeId);
  const entry = signature ? job.cache.get(signature) : undefined;
  if (!entry) return false;
  job.values.set(nodeId, entry);
  return true;
}

export function timestamp(): number {
  return Date.now();
}
