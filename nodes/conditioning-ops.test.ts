// ConditioningAverage / Concat / ZeroOut against values worked out by hand from ComfyUI's nodes.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTensor } from '../engine/tensor/index.ts';
import type { Conditioning } from '../engine/sd/index.ts';
import { ConditioningAverage, ConditioningConcat, ConditioningZeroOut } from './conditioning-ops.ts';
import { createTestContext } from './test-context.ts';

const context = await createTestContext();
test.after(() => context.dispose());

const cond = (tokens: number, values: number[]): Conditioning => [{ embeds: makeTensor([1, tokens, 2], new Float32Array(values)) }];

async function run(node: { run: (inputs: never, c: typeof context.ctx) => unknown }, inputs: Record<string, unknown>): Promise<Conditioning> {
  return ((await node.run(inputs as never, context.ctx)) as { outputs: unknown[] }).outputs[0] as Conditioning;
}

test('ConditioningAverage: to·s + from·(1 − s), from cut or zero-padded to to\'s tokens', async () => {
  assert.equal(ConditioningAverage.inputs.required.conditioning_to_strength.default, 1);
  const to = cond(2, [1, 1, 2, 2]);
  const shortFrom = cond(1, [3, 5]);
  const avg = await run(ConditioningAverage, { conditioning_to: to, conditioning_from: shortFrom, conditioning_to_strength: 0.75 });
  assert.deepEqual([...avg[0].embeds.data], [0.75 + 0.75, 0.75 + 1.25, 1.5, 1.5]);
  const longFrom = cond(3, [4, 4, 8, 8, 9, 9]);
  const cut = await run(ConditioningAverage, { conditioning_to: to, conditioning_from: longFrom, conditioning_to_strength: 0.5 });
  assert.deepEqual(cut[0].embeds.dims, [1, 2, 2]);
  assert.deepEqual([...cut[0].embeds.data], [2.5, 2.5, 5, 5]);
});

test('ConditioningConcat appends from\'s tokens; ConditioningZeroOut zeroes and keeps the shape', async () => {
  const concat = await run(ConditioningConcat, { conditioning_to: cond(1, [1, 2]), conditioning_from: cond(2, [3, 4, 5, 6]) });
  assert.deepEqual(concat[0].embeds.dims, [1, 3, 2]);
  assert.deepEqual([...concat[0].embeds.data], [1, 2, 3, 4, 5, 6]);
  const zero = await run(ConditioningZeroOut, { conditioning: cond(2, [1, 2, 3, 4]) });
  assert.deepEqual(zero[0].embeds.dims, [1, 2, 2]);
  assert.ok(zero[0].embeds.data.every((v) => v === 0));
  await assert.rejects(async () => run(ConditioningConcat, { conditioning_to: cond(1, [1, 2]), conditioning_from: [] }), /empty conditioning/);
});
