// What a host saw of a run, from its events alone: enough to end the run as interrupted when
// the process running it had to be killed (an interrupt not honoured inside one long native call).

import type { UiOutput } from '../graph/index.ts';
import type { ExecutionEvent, ExecutionInterruptedData, ExecutionOutcome, StatusMessage } from './events.ts';

export class RunRecord {
  readonly #promptId: string;
  readonly #classTypeOf: (nodeId: string) => string;
  readonly #messages: StatusMessage[] = [];
  readonly #outputs: Record<string, UiOutput> = {};
  readonly #executed: string[] = [];
  #running: string | null = null;

  /** classTypeOf names a node of the prompt ('' when unknown). */
  constructor(promptId: string, classTypeOf: (nodeId: string) => string) {
    this.#promptId = promptId;
    this.#classTypeOf = classTypeOf;
  }

  observe(event: ExecutionEvent): void {
    switch (event.type) {
      case 'execution_start':
      case 'execution_cached':
        this.#messages.push([event.type, event.data]);
        if (event.type === 'execution_cached') this.#executed.push(...event.data.nodes);
        return;
      case 'executing':
        // One node runs at a time: the next one starting means the last one finished.
        if (this.#running !== null) this.#markExecuted(this.#running);
        this.#running = event.data.node;
        return;
      case 'executed':
        this.#markExecuted(event.data.node);
        if (event.data.output) this.#outputs[event.data.node] = event.data.output;
        return;
      default:
        return;
    }
  }

  #markExecuted(nodeId: string): void {
    if (!this.#executed.includes(nodeId)) this.#executed.push(nodeId);
  }

  /** The frame and outcome the executor would have produced had it stopped at the running node. */
  interrupted(timestamp = Date.now()): { event: ExecutionEvent; outcome: ExecutionOutcome } {
    const nodeId = this.#running ?? '';
    const data: ExecutionInterruptedData = {
      prompt_id: this.#promptId,
      node_id: nodeId,
      node_type: nodeId === '' ? '' : this.#classTypeOf(nodeId),
      executed: [...this.#executed],
      timestamp,
    };
    return {
      event: { type: 'execution_interrupted', data },
      outcome: { status: 'interrupted', outputs: { ...this.#outputs }, messages: [...this.#messages, ['execution_interrupted', data]] },
    };
  }
}
