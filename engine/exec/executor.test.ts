// The executor against fake nodes: which nodes run, caching between prompts, event order.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiPrompt } from '../graph/index.ts';
import { cachedNodes, fakeExecutor as setup, runPrompt } from './testing/run-prompt.ts';

/** 1 → Scale(2) → Show(3) */
const chain = (value = 5): ApiPrompt => ({
  '1': { class_type: 'Const', inputs: { value } },
  '2': { class_type: 'Scale', inputs: { x: ['1', 0], factor: 2 } },
  '3': { class_type: 'Show', inputs: { value: ['2', 0] } },
});

/** a(1), b(2) → Scale 3, Scale 4 → Add 5 → Show 6 */
const diamond = (a = 1, b = 2): ApiPrompt => ({
  '1': { class_type: 'Const', inputs: { value: a } },
  '2': { class_type: 'Const', inputs: { value: b } },
  '3': { class_type: 'Scale', inputs: { x: ['1', 0], factor: 10 } },
  '4': { class_type: 'Scale', inputs: { x: ['2', 0], factor: 100 } },
  '5': { class_type: 'Add', inputs: { a: ['3', 0], b: ['4', 0] } },
  '6': { class_type: 'Show', inputs: { value: ['5', 0] } },
});

describe('executor: a first run', () => {
  it('sends the frames in ComfyUI order and records execution_* messages', async () => {
    const { executor } = setup();
    const run = await runPrompt(executor, chain(), ['3']);
    assert.deepEqual(run.trace, ['execution_start', 'execution_cached', 'executing:1', 'executing:2', 'executing:3', 'executed:3', 'execution_success']);
    assert.equal(run.outcome.status, 'success');
    assert.deepEqual(run.outcome.outputs, { '3': { values: [10] } });
    assert.deepEqual(run.outcome.messages.map(([type]) => type), ['execution_start', 'execution_cached', 'execution_success']);
    const executed = run.events.find((e) => e.type === 'executed');
    assert.deepEqual(executed?.data, { node: '3', display_node: '3', output: { values: [10] }, prompt_id: run.outcome.messages[0][1].prompt_id });
    assert.ok(!run.events.some((e) => e.type === 'executing' && e.data.node === null), 'the host sends executing null after history');
    const start = run.events[0];
    assert.ok(start.type === 'execution_start' && Math.abs(start.data.timestamp - Date.now()) < 5000);
  });

  it('runs only what the requested outputs need', async () => {
    const { executor, calls } = setup();
    const prompt: ApiPrompt = {
      ...chain(),
      '7': { class_type: 'Const', inputs: { value: 9 } },
      '8': { class_type: 'Show', inputs: { value: ['7', 0] } },
      '9': { class_type: 'Const', inputs: { value: 4 } },
    };
    const run = await runPrompt(executor, prompt, ['3']);
    assert.deepEqual(calls, ['Const#1', 'Scale#2', 'Show#3']);
    assert.deepEqual(Object.keys(run.outcome.outputs), ['3']);
  });

  it('injects hidden inputs', async () => {
    const { executor } = setup();
    const run = await runPrompt(executor, { '12': { class_type: 'HiddenProbe', inputs: {} } }, ['12']);
    assert.deepEqual(run.outcome.outputs['12'], { seen: [1, { workflow: { id: 'w' } }, '12'] });
  });

  it('reports progress and previews from ctx.progress', async () => {
    const { executor } = setup();
    const run = await runPrompt(executor, { '1': { class_type: 'Slow', inputs: { steps: 3 } }, '2': { class_type: 'Show', inputs: { value: ['1', 0] } } }, ['2']);
    const progress = run.events.flatMap((e) => (e.type === 'progress' ? [[e.data.value, e.data.max, e.data.node]] : []));
    assert.deepEqual(progress, [[1, 3, '1'], [2, 3, '1'], [3, 3, '1']]);
    const preview = run.events.find((e) => e.type === 'preview');
    assert.ok(preview?.type === 'preview');
    assert.equal(preview.data.node, '1');
    assert.deepEqual([...preview.data.frame.data], [1, 2]);
    assert.deepEqual(run.trace.slice(2, 4), ['executing:1', 'progress']);
  });

  it('keeps going when an event listener throws', async () => {
    const { executor, logs } = setup();
    const outcome = await executor.execute({ promptId: 'p', prompt: chain(), outputs: ['3'] }, {
      onEvent: () => { throw new Error('socket gone'); },
      interrupt: { isSet: () => false, set: () => undefined, clear: () => undefined },
    });
    assert.equal(outcome.status, 'success');
    assert.ok(logs.some((line) => line.includes('socket gone')));
  });
});

describe('executor: caching between prompts', () => {
  it('runs nothing for an identical prompt, lists every node cached and still reports the UI', async () => {
    const { executor, calls } = setup();
    await runPrompt(executor, chain(), ['3']);
    calls.length = 0;
    const run = await runPrompt(executor, chain(), ['3']);
    assert.deepEqual(calls, []);
    assert.deepEqual(run.trace, ['execution_start', 'execution_cached', 'executed:3', 'execution_success']);
    assert.deepEqual(cachedNodes(run.events), ['1', '2', '3']);
    assert.deepEqual(run.outcome.outputs, { '3': { values: [10] } });
  });

  it('re-runs only the downstream of a changed input', async () => {
    const { executor, calls } = setup();
    await runPrompt(executor, diamond(1, 2), ['6']);
    calls.length = 0;
    const run = await runPrompt(executor, diamond(1, 3), ['6']);
    assert.deepEqual(calls.sort(), ['Add#5', 'Const#2', 'Scale#4', 'Show#6']);
    assert.deepEqual(cachedNodes(run.events), ['1', '3']);
    assert.deepEqual(run.outcome.outputs, { '6': { values: [310] } });
  });

  it('hits the cache when node ids are renumbered', async () => {
    const { executor, calls } = setup();
    await runPrompt(executor, chain(), ['3']);
    calls.length = 0;
    const renumbered: ApiPrompt = {
      '30': { class_type: 'Show', inputs: { value: ['21', 0] } },
      '21': { class_type: 'Scale', inputs: { factor: 2, x: ['10', 0] } },
      '10': { class_type: 'Const', inputs: { value: 5 } },
    };
    const run = await runPrompt(executor, renumbered, ['30']);
    assert.deepEqual(calls, []);
    assert.deepEqual(run.outcome.outputs, { '30': { values: [10] } });
  });

  it('classic mode keeps only what the latest prompt can use; A → B → A recomputes', async () => {
    const { executor, calls } = setup();
    await runPrompt(executor, chain(5), ['3']);
    await runPrompt(executor, chain(6), ['3']);
    calls.length = 0;
    await runPrompt(executor, chain(5), ['3']);
    assert.deepEqual(calls, ['Const#1', 'Scale#2', 'Show#3']);
  });

  it('lru mode keeps older prompts as long as they fit', async () => {
    const { executor, calls } = setup({ mode: 'lru', lruSize: 10 });
    await runPrompt(executor, chain(5), ['3']);
    await runPrompt(executor, chain(6), ['3']);
    calls.length = 0;
    await runPrompt(executor, chain(5), ['3']);
    assert.deepEqual(calls, []);
  });

  it('none mode keeps nothing between prompts', async () => {
    const { executor, calls } = setup({ mode: 'none' });
    await runPrompt(executor, chain(), ['3']);
    calls.length = 0;
    const run = await runPrompt(executor, chain(), ['3']);
    assert.deepEqual(calls, ['Const#1', 'Scale#2', 'Show#3']);
    assert.deepEqual(cachedNodes(run.events), []);
  });

  it('clearCache forgets everything', async () => {
    const { executor, calls } = setup();
    await runPrompt(executor, chain(), ['3']);
    executor.clearCache();
    calls.length = 0;
    await runPrompt(executor, chain(), ['3']);
    assert.equal(calls.length, 3);
  });

  it('a NaN fingerprint re-runs the node and its downstream every time', async () => {
    const { executor, calls } = setup();
    const prompt: ApiPrompt = {
      '1': { class_type: 'Random', inputs: {} },
      '2': { class_type: 'Show', inputs: { value: ['1', 0] } },
    };
    await runPrompt(executor, prompt, ['2']);
    calls.length = 0;
    const run = await runPrompt(executor, prompt, ['2']);
    assert.deepEqual(calls, ['Random#1', 'Show#2']);
    assert.deepEqual(cachedNodes(run.events), []);
  });

  it('a changed fingerprint re-runs; a throwing fingerprint counts as NaN and is logged', async () => {
    const { executor, calls, fileHash, logs } = setup();
    const prompt: ApiPrompt = { '1': { class_type: 'Fingerprinted', inputs: { file: 'a.png' } }, '2': { class_type: 'Sink', inputs: { value: ['1', 0] } } };
    await runPrompt(executor, prompt, ['2']);
    await runPrompt(executor, prompt, ['2']);
    assert.deepEqual(calls, ['Fingerprinted#1', 'Sink#2']);
    fileHash.value = 'hash-2';
    await runPrompt(executor, prompt, ['2']);
    assert.equal(calls.length, 4);
    fileHash.value = new Error('file vanished');
    await runPrompt(executor, prompt, ['2']);
    await runPrompt(executor, prompt, ['2']);
    assert.equal(calls.length, 8);
    assert.ok(logs.some((line) => line.includes('file vanished') && line.includes('node 1')));
  });

  it('an output node without UI served from cache reports executed with output null', async () => {
    const { executor } = setup();
    const prompt: ApiPrompt = { '1': { class_type: 'Const', inputs: { value: 1 } }, '2': { class_type: 'Sink', inputs: { value: ['1', 0] } } };
    const first = await runPrompt(executor, prompt, ['2']);
    assert.ok(!first.events.some((e) => e.type === 'executed'), 'no executed for a node without UI');
    const second = await runPrompt(executor, prompt, ['2']);
    const executed = second.events.find((e) => e.type === 'executed');
    assert.ok(executed?.type === 'executed');
    assert.equal(executed.data.output, null);
    assert.deepEqual(second.outcome.outputs, {});
  });

  it('tells a bigint seed from its number neighbour', async () => {
    const { executor, calls } = setup();
    const seeded = (seed: bigint): ApiPrompt => ({ '1': { class_type: 'SeedEcho', inputs: { seed } }, '2': { class_type: 'Show', inputs: { value: ['1', 0] } } });
    const big = 2n ** 63n + 1n;
    const first = await runPrompt(executor, seeded(big), ['2']);
    assert.deepEqual(first.outcome.outputs['2'], { values: [big] });
    await runPrompt(executor, seeded(big + 1n), ['2']);
    assert.equal(calls.length, 4, 'seeds 2^63+1 and 2^63+2 are the same double but different seeds');
  });
});
