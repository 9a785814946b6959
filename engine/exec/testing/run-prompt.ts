// Test helper: runs one prompt on an executor and collects its events.

import type { ApiPrompt } from '../../graph/index.ts';
import type { ExecutionEvent, ExecutionOutcome } from '../events.ts';
import { createExecutor, type Executor, type ExecutorOptions } from '../executor.ts';
import { createInterruptFlag, type InterruptFlag } from '../interrupt.ts';
import { createFakeNodes, type FakeNodes } from './fake-nodes.ts';

const folders = { input: '/tmp/in', output: '/tmp/out', temp: '/tmp/temp', models: '/tmp/models' };

/** An executor over the fake nodes, with its log lines collected in `logs`. */
export function fakeExecutor(cache?: ExecutorOptions['cache']): FakeNodes & { executor: Executor; logs: string[] } {
  const fakes = createFakeNodes();
  const logs: string[] = [];
  const executor = createExecutor({ registry: fakes.registry, env: { folders }, services: {}, cache, log: (m) => logs.push(m) });
  return { ...fakes, executor, logs };
}

export interface PromptRun {
  outcome: ExecutionOutcome;
  events: ExecutionEvent[];
  /** Event types in order, with the node id for executing/executed, e.g. "executing:3". */
  trace: string[];
}

let counter = 0;

export async function runPrompt(executor: Executor, prompt: ApiPrompt, outputs: string[], interrupt: InterruptFlag = createInterruptFlag()): Promise<PromptRun> {
  const events: ExecutionEvent[] = [];
  const promptId = `prompt-${++counter}`;
  const outcome = await executor.execute({ promptId, prompt, outputs, extraData: { extra_pnginfo: { workflow: { id: 'w' } } } }, { onEvent: (event) => events.push(event), interrupt });
  for (const event of events) {
    if ('prompt_id' in event.data) assertEqual(event.data.prompt_id, promptId);
  }
  return { outcome, events, trace: events.map(traceOf) };
}

function traceOf(event: ExecutionEvent): string {
  if (event.type === 'executing' || event.type === 'executed') return `${event.type}:${event.data.node}`;
  return event.type;
}

function assertEqual(actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new Error(`event for ${String(actual)} in a run of ${String(expected)}`);
}

export function ranNodes(events: readonly ExecutionEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'executing' && event.data.node !== null ? [event.data.node] : []));
}

export function cachedNodes(events: readonly ExecutionEvent[]): string[] {
  const cached = events.find((event) => event.type === 'execution_cached');
  return cached?.type === 'execution_cached' ? cached.data.nodes : [];
}
