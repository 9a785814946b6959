// The executor's list semantics and lazy inputs (comfyui-api.md §6.4, §6.7).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiPrompt } from '../graph/index.ts';
import { fakeExecutor, ranNodes, runPrompt } from './testing/run-prompt.ts';

describe('executor: lists', () => {
  it('calls a node once per list element and merges outputs and UI', async () => {
    const { executor, calls } = fakeExecutor();
    const prompt: ApiPrompt = {
      '1': { class_type: 'Range', inputs: { count: 3 } },
      '2': { class_type: 'Scale', inputs: { x: ['1', 0], factor: 10 } },
      '3': { class_type: 'Show', inputs: { value: ['2', 0] } },
      '4': { class_type: 'SumList', inputs: { values: ['2', 0] } },
      '5': { class_type: 'Show', inputs: { value: ['4', 0] } },
    };
    const run = await runPrompt(executor, prompt, ['3', '5']);
    assert.deepEqual(run.outcome.outputs, { '3': { values: [0, 10, 20] }, '5': { values: [30] } });
    assert.equal(calls.filter((c) => c === 'Scale#2').length, 3);
    assert.equal(calls.filter((c) => c === 'SumList#4').length, 1, 'inputIsList nodes get the whole list at once');
    assert.equal(run.events.filter((e) => e.type === 'executed' && e.data.node === '3').length, 1, 'one executed frame with the merged UI');
  });

  it('repeats the last element of the shorter list', async () => {
    const { executor } = fakeExecutor();
    const prompt: ApiPrompt = {
      '1': { class_type: 'Range', inputs: { count: 3 } },
      '2': { class_type: 'Const', inputs: { value: 100 } },
      '3': { class_type: 'Add', inputs: { a: ['1', 0], b: ['2', 0] } },
      '4': { class_type: 'Show', inputs: { value: ['3', 0] } },
    };
    const run = await runPrompt(executor, prompt, ['4']);
    assert.deepEqual(run.outcome.outputs, { '4': { values: [100, 101, 102] } });
  });

  it('reports an empty list input as a node error, not a crash', async () => {
    const { executor } = fakeExecutor();
    const prompt: ApiPrompt = {
      '1': { class_type: 'Range', inputs: { count: 0 } },
      '2': { class_type: 'Show', inputs: { value: ['1', 0] } },
    };
    const run = await runPrompt(executor, prompt, ['2']);
    assert.equal(run.outcome.status, 'error');
    assert.equal(run.outcome.error?.node_id, '2');
    assert.match(run.outcome.error?.exception_message ?? '', /input "value" received an empty list/);
  });
});

describe('executor: lazy inputs', () => {
  const switched = (choose: boolean): ApiPrompt => ({
    '2': { class_type: 'Const', inputs: { value: 7 } },
    '3': { class_type: 'Boom', inputs: { x: ['2', 0], note: 'never evaluated' } },
    '4': { class_type: 'Switch', inputs: { choose, onTrue: ['2', 0], onFalse: ['3', 0] } },
    '5': { class_type: 'Show', inputs: { value: ['4', 0] } },
  });

  it('does not evaluate a lazy input the node does not ask for', async () => {
    const { executor, calls } = fakeExecutor();
    const run = await runPrompt(executor, switched(true), ['5']);
    assert.equal(run.outcome.status, 'success', run.outcome.error?.exception_message);
    assert.deepEqual(run.outcome.outputs, { '5': { values: [7] } });
    assert.ok(!calls.includes('Boom#3'));
    assert.deepEqual(ranNodes(run.events), ['4', '2', '4', '5'], 'the switch is re-queued behind the branch it asked for');
  });

  it('evaluates the branch it asks for', async () => {
    const { executor } = fakeExecutor();
    const run = await runPrompt(executor, switched(false), ['5']);
    assert.equal(run.outcome.status, 'error');
    assert.equal(run.outcome.error?.node_id, '3');
  });

  it('uses a cached lazy input without asking again', async () => {
    const { executor, calls } = fakeExecutor();
    await runPrompt(executor, switched(true), ['5']);
    const prompt = switched(true);
    prompt['5'] = { class_type: 'Show', inputs: { value: ['4', 0] }, _meta: { title: 'renamed' } };
    prompt['4'].inputs.onFalse = ['2', 0];
    calls.length = 0;
    const run = await runPrompt(executor, prompt, ['5']);
    assert.deepEqual(ranNodes(run.events), ['4', '5'], 'node 2 is cached, so the switch runs once');
    assert.deepEqual(calls, ['Switch#4', 'Show#5']);
  });
});
