// Takes jobs off the durable queue one at a time, runs them on the execution backend and
// routes events to websockets. Keeps §10's atomic transitions: (pending → running + status)
// and (history + drop running + status) each happen synchronously, then `executing null`.

import type { ExecutionErrorData, ExecutionEvent, ExecutionOutcome } from '../exec/index.ts';
import { finishedEvent } from '../exec/index.ts';
import type { HistoryEntry, JobQueue, QueuedJob } from '../queue/index.ts';
import { toTuple } from '../queue/index.ts';
import type { ExecutionBackend } from './backend.ts';
import type { WsHub } from './ws-hub.ts';

/** Where the runner's frames go: the websocket hub, or in a worker process the bus to the server's hub. */
export type JobFrames = Pick<WsHub, 'broadcastStatus' | 'sendTo' | 'sendToOrBroadcast' | 'sendPreview'>;

/** What the routes drive: this process's runner, or the workers behind a Redis queue (remote-runner.ts). */
export interface PromptRunner {
  /** A prompt was queued. */
  kick(): void;
  /** The node the running job of this client is on, if it owns a running job (§3.1 reconnect). */
  runningNodeOf(clientId: string): string | undefined;
  /** POST /interrupt: with a prompt id, only that prompt (§2.5). */
  interrupt(promptId?: string): boolean;
  /** POST /free (§2.14). */
  free(request: { unloadModels: boolean; freeMemory: boolean }): void;
  stop(): void;
  close(): Promise<void>;
}

/** Secrets the frontend may send for API nodes; never stored in history (§6.11). */
const SECRET_EXTRA_KEYS = ['auth_token_comfy_org', 'api_key_comfy_org'];

interface RunningJob {
  job: QueuedJob;
  clientId: string | undefined;
  currentNode: string | undefined;
}

export class JobRunner implements PromptRunner {
  private running: RunningJob | undefined;
  private loop: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly queue: JobQueue,
    private readonly backend: ExecutionBackend,
    private readonly hub: JobFrames,
    private readonly log: (message: string) => void,
  ) {}

  /** Starts working through the queue unless already doing so. */
  kick(): void {
    if (this.loop || this.closed) return;
    this.loop = this.drain()
      .catch((error: unknown) => this.log(`job runner stopped: ${error instanceof Error ? error.stack : String(error)}`))
      .finally(() => {
        this.loop = undefined;
        this.running = undefined;
      });
  }

  runningPromptId(): string | undefined {
    return this.running?.job.promptId;
  }

  runningNodeOf(clientId: string): string | undefined {
    const running = this.running;
    return running && running.clientId === clientId ? running.currentNode : undefined;
  }

  /** POST /interrupt: with a prompt id, only if that prompt is the running one (§2.5). */
  interrupt(promptId?: string): boolean {
    if (!this.running) return false;
    if (promptId !== undefined && promptId !== this.running.job.promptId) return false;
    this.backend.interrupt();
    return true;
  }

  free(request: { unloadModels: boolean; freeMemory: boolean }): void {
    this.backend.free(request);
  }

  /** Resolves when the runner has no job left to take. */
  async drained(): Promise<void> {
    await this.loop;
  }

  /** No new job starts, and a job that ends from now on is left in the queue (it runs again
   *  on the next start) instead of being written to history. */
  stop(): void {
    this.closed = true;
  }

  async close(): Promise<void> {
    this.stop();
    await this.loop;
  }

  private async drain(): Promise<void> {
    while (!this.closed) {
      const job = await this.queue.take();
      if (!job) return;
      const clientId = typeof job.extraData.client_id === 'string' ? job.extraData.client_id : undefined;
      this.running = { job, clientId, currentNode: undefined };
      this.hub.broadcastStatus();
      const outcome = await this.execute(this.running);
      if (this.closed) return;
      const written = await this.queue.finish(job.promptId, historyEntry(job, outcome));
      this.running = undefined;
      // Another worker took the job over (this one lost its lock): its run is the one that counts.
      if (!written) {
        this.log(`prompt ${job.promptId}: handed to another worker meanwhile; this run is not recorded`);
        continue;
      }
      this.hub.broadcastStatus();
      const end = finishedEvent(job.promptId);
      this.hub.sendTo(clientId, end.type, end.data);
    }
  }

  private async execute(running: RunningJob): Promise<ExecutionOutcome> {
    const { job } = running;
    const messages: ExecutionOutcome['messages'] = [];
    const onEvent = (event: ExecutionEvent) => {
      if (event.type === 'executing' && event.data.node !== null) running.currentNode = event.data.node;
      if (event.type === 'execution_start' || event.type === 'execution_cached') messages.push([event.type, event.data]);
      this.route(running.clientId, event);
    };
    try {
      return await this.backend.run(
        { promptId: job.promptId, prompt: job.prompt, outputs: job.outputs, extraData: job.extraData },
        onEvent,
      );
    } catch (error) {
      // The backend itself failed (e.g. the worker died): the job ends with an execution_error.
      const message = error instanceof Error ? error.message : String(error);
      const data = backendError(running, message);
      // On shutdown the job stays queued and runs again on the next start: nothing to report.
      if (!this.closed) {
        this.log(`prompt ${job.promptId}: execution backend failed: ${message}`);
        this.route(running.clientId, { type: 'execution_error', data });
      }
      return { status: 'error', outputs: {}, messages: [...messages, ['execution_error', data]], error: data };
    }
  }

  /** §3.2: execution frames only to the job's client; interrupt, progress and previews are
   *  broadcast when the job has no client. */
  private route(clientId: string | undefined, event: ExecutionEvent): void {
    switch (event.type) {
      case 'preview':
        this.hub.sendPreview(clientId, event.data);
        return;
      case 'execution_interrupted':
      case 'progress':
        this.hub.sendToOrBroadcast(clientId, event.type, event.data);
        return;
      case 'executing':
        // The end-of-job frame is sent by drain() after history is written.
        if (event.data.node === null) return;
        this.hub.sendTo(clientId, event.type, event.data);
        return;
      default:
        this.hub.sendTo(clientId, event.type, event.data);
    }
  }
}

function backendError(running: RunningJob, message: string): ExecutionErrorData {
  const nodeId = running.currentNode ?? '';
  return {
    prompt_id: running.job.promptId,
    node_id: nodeId,
    node_type: running.job.prompt[nodeId]?.class_type ?? '',
    executed: [],
    exception_message: `${message}\n`,
    exception_type: 'ExecutionWorkerError',
    traceback: [],
    current_inputs: {},
    current_outputs: [],
    timestamp: Date.now(),
  };
}

export function historyEntry(job: QueuedJob, outcome: ExecutionOutcome): HistoryEntry {
  const extraData = { ...job.extraData };
  for (const key of SECRET_EXTRA_KEYS) delete extraData[key];
  const meta: Record<string, unknown> = {};
  for (const nodeId of Object.keys(outcome.outputs)) {
    meta[nodeId] = { node_id: nodeId, display_node: nodeId, parent_node: null, real_node_id: nodeId };
  }
  return {
    prompt: toTuple({ ...job, extraData }),
    outputs: outcome.outputs,
    status: {
      status_str: outcome.status === 'success' ? 'success' : 'error',
      completed: outcome.status === 'success',
      messages: outcome.messages,
    },
    meta,
  };
}
