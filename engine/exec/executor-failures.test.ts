// The executor when nodes fail or the user interrupts (comfyui-api.md §6.8, §6.9).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiPrompt } from '../graph/index.ts';
import { createInterruptFlag, createSharedInterruptFlag } from './interrupt.ts';
import { fakeExecutor, runPrompt } from './testing/run-prompt.ts';

const failing: ApiPrompt = {
  '1': { class_type: 'Const', inputs: { value: 3 } },
  '2': { class_type: 'Boom', inputs: { x: ['1', 0], note: 'hello' } },
  '3': { class_type: 'Show', inputs: { value: ['2', 0] } },
};
const good: ApiPrompt = {
  '1': { class_type: 'Const', inputs: { value: 4 } },
  '2': { class_type: 'Show', inputs: { value: ['1', 0] } },
};
const slow = (steps: number): ApiPrompt => ({
  '1': { class_type: 'Slow', inputs: { steps } },
  '2': { class_type: 'Show', inputs: { value: ['1', 0] } },
});

describe('executor: node errors', () => {
  it('reports a throwing node as a structured execution_error', async () => {
    const { executor } = fakeExecutor();
    const run = await runPrompt(executor, failing, ['3']);
    assert.deepEqual(run.trace, ['execution_start', 'execution_cached', 'executing:1', 'executing:2', 'execution_error']);
    assert.equal(run.outcome.status, 'error');
    const error = run.outcome.error;
    assert.ok(error);
    assert.equal(error.node_id, '2');
    assert.equal(error.node_type, 'Boom');
    assert.deepEqual(error.executed, ['1']);
    assert.equal(error.exception_message, 'boom: x was 3\n');
    assert.equal(error.exception_type, 'RangeError');
    assert.ok(error.traceback.length > 0 && error.traceback.every((line) => line.includes(' at ') && line.endsWith('\n')));
    assert.deepEqual(error.current_inputs, { x: [3], note: ['hello'] });
    assert.deepEqual(error.current_outputs, ['1', '2', '3']);
    assert.deepEqual(run.outcome.messages.map(([type]) => type), ['execution_start', 'execution_cached', 'execution_error']);
    assert.deepEqual(run.outcome.messages[2][1], error);
    assert.doesNotThrow(() => JSON.stringify(error));
  });

  it('keeps what ran before the failure cached, and the next prompt still runs', async () => {
    const { executor, calls } = fakeExecutor();
    await runPrompt(executor, failing, ['3']);
    calls.length = 0;
    const again = await runPrompt(executor, failing, ['3']);
    assert.deepEqual(calls, ['Boom#2']);
    assert.equal(again.outcome.status, 'error');
    const next = await runPrompt(executor, good, ['2']);
    assert.equal(next.outcome.status, 'success');
    assert.deepEqual(next.outcome.outputs, { '2': { values: [4] } });
  });

  it('still returns the UI of output nodes that ran or were cached before the failure', async () => {
    const { executor } = fakeExecutor();
    const prompt: ApiPrompt = {
      ...good,
      '5': { class_type: 'Boom', inputs: { x: ['1', 0], note: '' } },
      '6': { class_type: 'Sink', inputs: { value: ['5', 0] } },
    };
    const first = await runPrompt(executor, prompt, ['2', '6']);
    assert.equal(first.outcome.status, 'error');
    assert.deepEqual(first.outcome.outputs, { '2': { values: [4] } });
    const second = await runPrompt(executor, prompt, ['2', '6']);
    assert.deepEqual(second.trace.slice(2), ['executed:2', 'executing:5', 'execution_error']);
    assert.deepEqual(second.outcome.outputs, { '2': { values: [4] } });
  });

  it('survives a node that throws something that is not an Error', async () => {
    const { executor } = fakeExecutor();
    const run = await runPrompt(executor, { '1': { class_type: 'ThrowString', inputs: {} }, '2': { class_type: 'Sink', inputs: { value: ['1', 0] } } }, ['2']);
    assert.equal(run.outcome.status, 'error');
    assert.equal(run.outcome.error?.exception_type, 'string');
    assert.match(run.outcome.error?.exception_message ?? '', /just a string\n$/);
    assert.deepEqual(run.outcome.error?.traceback, []);
  });
});

describe('executor: interrupt', () => {
  it('stops a long node when another task sets the flag', async () => {
    const { executor } = fakeExecutor();
    const flag = createInterruptFlag();
    const started = Date.now();
    setTimeout(() => flag.set(), 30);
    const run = await runPrompt(executor, slow(5000), ['2'], flag);
    assert.ok(Date.now() - started < 3000, 'stopped long before 5000 steps');
    assert.equal(run.outcome.status, 'interrupted');
    assert.equal(run.outcome.error, undefined);
    assert.ok(run.trace.includes('progress'));
    const last = run.events.at(-1);
    assert.ok(last?.type === 'execution_interrupted');
    assert.deepEqual({ ...last.data, timestamp: 0 }, { prompt_id: last.data.prompt_id, node_id: '1', node_type: 'Slow', executed: [], timestamp: 0 });
    assert.deepEqual(run.outcome.messages.map(([type]) => type), ['execution_start', 'execution_cached', 'execution_interrupted']);
    assert.equal(flag.isSet(), false, 'the flag is cleared when the interrupt fires');
    const next = await runPrompt(executor, good, ['2'], flag);
    assert.equal(next.outcome.status, 'success');
  });

  it('works the same with the shared-memory flag', async () => {
    const { executor } = fakeExecutor();
    const flag = createSharedInterruptFlag();
    setTimeout(() => flag.set(), 30);
    const run = await runPrompt(executor, slow(5000), ['2'], flag);
    assert.equal(run.outcome.status, 'interrupted');
  });

  it('forgets an interrupt sent while idle', async () => {
    const { executor } = fakeExecutor();
    const flag = createInterruptFlag();
    flag.set();
    const run = await runPrompt(executor, slow(3), ['2'], flag);
    assert.equal(run.outcome.status, 'success');
  });

  it('aborts ctx.signal for a node that only awaits it', async () => {
    const { executor } = fakeExecutor();
    const flag = createInterruptFlag();
    setTimeout(() => flag.set(), 20);
    const run = await runPrompt(executor, { '1': { class_type: 'WaitForAbort', inputs: {} }, '2': { class_type: 'Sink', inputs: { value: ['1', 0] } } }, ['2'], flag);
    assert.equal(run.outcome.status, 'interrupted');
    const last = run.events.at(-1);
    assert.ok(last?.type === 'execution_interrupted' && last.data.node_id === '1');
  });

  it('does not cache the interrupted node', async () => {
    const { executor, calls } = fakeExecutor();
    const flag = createInterruptFlag();
    setTimeout(() => flag.set(), 20);
    await runPrompt(executor, slow(40), ['2'], flag);
    calls.length = 0;
    const run = await runPrompt(executor, slow(40), ['2'], flag);
    assert.equal(run.outcome.status, 'success');
    assert.deepEqual(calls, ['Slow#1', 'Show#2']);
  });

  it('refuses a second prompt while one runs', async () => {
    const { executor } = fakeExecutor();
    const flag = createInterruptFlag();
    const first = runPrompt(executor, slow(20), ['2'], flag);
    await assert.rejects(runPrompt(executor, good, ['2']), /one prompt at a time/);
    assert.equal((await first).outcome.status, 'success');
  });
});

describe('executor: broken graphs', () => {
  it('reports a dependency cycle as an execution_error naming a node of it', async () => {
    const { executor, calls } = fakeExecutor();
    const prompt: ApiPrompt = {
      '1': { class_type: 'Const', inputs: { value: 1 } },
      '10': { class_type: 'Add', inputs: { a: ['11', 0], b: ['1', 0] } },
      '11': { class_type: 'Add', inputs: { a: ['10', 0], b: ['1', 0] } },
      '12': { class_type: 'Show', inputs: { value: ['10', 0] } },
    };
    const run = await runPrompt(executor, prompt, ['12']);
    assert.equal(run.outcome.status, 'error');
    assert.equal(run.outcome.error?.exception_type, 'DependencyCycleError');
    assert.ok(['10', '11', '12'].includes(run.outcome.error?.node_id ?? ''));
    assert.deepEqual(calls, ['Const#1']);
  });
});
