// One prompt from execution_start to success, error or interrupt (comfyui-api.md §3.3, §6.3–6.9).
// Every failure inside becomes an outcome; nothing a node throws escapes.

import type { UiOutput } from '../graph/index.ts';
import { describeError } from './errors.ts';
import type { ExecutionErrorData, ExecutionEvent, ExecutionOutcome, StatusMessage } from './events.ts';
import { signaturesForPrompt } from './fingerprints.ts';
import { InterruptedError } from './interrupt.ts';
import { isAvailable, timestamp, type Job } from './job.ts';
import { runNode } from './run-node.ts';
import { DependencyCycleError, createExecutionList } from './schedule.ts';

/** The node running when something failed; null before the first node starts. */
interface Progress {
  nodeId: string | null;
}

export async function runJob(job: Job, outputs: readonly string[]): Promise<ExecutionOutcome> {
  const progress: Progress = { nodeId: null };
  try {
    job.emit({ type: 'execution_start', data: { prompt_id: job.promptId, timestamp: timestamp() } });
    await prepareCache(job);
    await runNodes(job, outputs, progress);
    job.emit({ type: 'execution_success', data: { prompt_id: job.promptId, timestamp: timestamp() } });
    return outcome(job, 'success');
  } catch (thrown) {
    return failureOutcome(job, progress.nodeId, thrown);
  } finally {
    job.interrupt.stop();
  }
}

async function prepareCache(job: Job): Promise<void> {
  job.signatures = await signaturesForPrompt({ prompt: job.prompt, registry: job.registry, env: job.env, log: job.log });
  const current = new Set<string>();
  for (const signature of job.signatures.values()) if (signature) current.add(signature);
  job.cache.beginPrompt(current);
  // Every cached node of the prompt, needed or not, in prompt order (§3.3).
  const cached = Object.keys(job.prompt).filter((nodeId) => isAvailable(job, nodeId));
  job.emit({ type: 'execution_cached', data: { nodes: cached, prompt_id: job.promptId, timestamp: timestamp() } });
}

async function runNodes(job: Job, outputs: readonly string[], progress: Progress): Promise<void> {
  const list = createExecutionList({
    prompt: job.prompt,
    registry: job.registry,
    isAvailable: (nodeId) => isAvailable(job, nodeId),
  });
  for (const nodeId of outputs) list.add(nodeId);
  while (!list.isEmpty()) {
    progress.nodeId = null;
    const nodeId = list.next();
    progress.nodeId = nodeId;
    job.currentInputs = {};
    job.interrupt.check();
    if ((await runNode(job, list, nodeId)) === 'done') list.complete(nodeId);
  }
}

function failureOutcome(job: Job, runningNode: string | null, thrown: unknown): ExecutionOutcome {
  const nodeId = runningNode ?? (thrown instanceof DependencyCycleError ? thrown.nodeIds[0] : null);
  const nodeType = nodeId && Object.hasOwn(job.prompt, nodeId) ? job.prompt[nodeId].class_type : '';
  const base = { prompt_id: job.promptId, node_id: nodeId ?? '', node_type: nodeType, executed: [...job.executed] };
  if (isInterrupt(job, thrown)) {
    job.emit({ type: 'execution_interrupted', data: { ...base, timestamp: timestamp() } });
    return outcome(job, 'interrupted');
  }
  const described = describeError(thrown);
  const error: ExecutionErrorData = {
    ...base,
    exception_message: described.message,
    exception_type: described.type,
    traceback: described.traceback,
    current_inputs: job.currentInputs,
    current_outputs: Object.keys(job.prompt),
    timestamp: timestamp(),
  };
  job.emit({ type: 'execution_error', data: error });
  return { ...outcome(job, 'error'), error };
}

/** An interrupt may surface as our InterruptedError or as whatever an API threw when
 *  ctx.signal aborted (e.g. an AbortError). */
function isInterrupt(job: Job, thrown: unknown): boolean {
  return thrown instanceof InterruptedError || job.interrupt.isNoticed();
}

function outcome(job: Job, status: ExecutionOutcome['status']): ExecutionOutcome {
  return { status, outputs: uiOutputsOfPrompt(job), messages: job.messages };
}

/** History `outputs`: UI of the prompt's nodes produced in this run or found in the cache (§6.5). */
function uiOutputsOfPrompt(job: Job): Record<string, UiOutput> {
  const outputs: Record<string, UiOutput> = {};
  for (const nodeId of Object.keys(job.prompt)) {
    const ui = job.values.get(nodeId)?.ui;
    if (ui) outputs[nodeId] = ui;
  }
  return outputs;
}

type StatusEvent = Extract<ExecutionEvent, { type: StatusMessage[0] }>;

function isStatusEvent(event: ExecutionEvent): event is StatusEvent {
  return event.type.startsWith('execution_');
}

/** Records the execution_* frames for history status.messages (§2.6) and forwards every event;
 *  a throwing listener is logged, never allowed to fail the job. */
export function recordingEmitter(
  onEvent: (event: ExecutionEvent) => void,
  messages: StatusMessage[],
  log: (message: string) => void,
): (event: ExecutionEvent) => void {
  return (event: ExecutionEvent): void => {
    if (isStatusEvent(event)) messages.push([event.type, event.data]);
    try {
      onEvent(event);
    } catch (error) {
      const described = describeError(error);
      log(`event listener failed on "${event.type}": ${described.type}: ${described.message.trim()}`);
    }
  };
}
