// The area-composition conditioning nodes and the denoiser patches: what each writes on the entries / MODEL,
// with ComfyUI's inputs and defaults (nodes.py, comfy_extras/nodes_model_advanced.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTensor } from '../engine/tensor/index.ts';
import { makeMaskBatch } from '../engine/image/index.ts';
import type { Conditioning, SdModel } from '../engine/sd/index.ts';
import {
  ConditioningCombine, ConditioningSetArea, ConditioningSetAreaPercentage, ConditioningSetAreaStrength, ConditioningSetMask, ConditioningSetTimestepRange,
} from './conditioning-area.ts';
import { ModelSamplingDiscrete, RescaleCFG } from './model-sampling.ts';
import { createTestContext } from './test-context.ts';

const context = await createTestContext();
test.after(() => context.dispose());

const cond = (value: number): Conditioning => [{ embeds: makeTensor([1, 1, 2], new Float32Array([value, value])) }];

async function run<T>(node: { run: (inputs: never, c: typeof context.ctx) => unknown }, inputs: Record<string, unknown>): Promise<T> {
  return ((await node.run(inputs as never, context.ctx)) as { outputs: unknown[] }).outputs[0] as T;
}

test('ConditioningSetArea: pixels // 8 as (h, w, y, x) cells, with strength; ComfyUI defaults', async () => {
  const { required } = ConditioningSetArea.inputs;
  assert.deepEqual([required.width.default, required.width.min, required.width.step, required.x.default, required.strength.default, required.strength.max], [64, 64, 8, 0, 1, 10]);
  const [entry] = await run<Conditioning>(ConditioningSetArea, { conditioning: cond(1), width: 100, height: 64, x: 15, y: 8, strength: 2.5 });
  assert.deepEqual(entry.area, { unit: 'cells', height: 8, width: 12, y: 1, x: 1 });
  assert.equal(entry.strength, 2.5);
  assert.equal(entry.setAreaToBounds, false);
  const [pct] = await run<Conditioning>(ConditioningSetAreaPercentage, { conditioning: cond(1), width: 0.5, height: 0.25, x: 0.5, y: 0, strength: 1 });
  assert.deepEqual(pct.area, { unit: 'fraction', height: 0.25, width: 0.5, y: 0, x: 0.5 });
  const [strong] = await run<Conditioning>(ConditioningSetAreaStrength, { conditioning: [pct], strength: 0.3 });
  assert.deepEqual(strong.area, pct.area);
  assert.equal(strong.strength, 0.3);
});

test('ConditioningCombine concatenates entries; SetMask and SetTimestepRange annotate every entry', async () => {
  const both = await run<Conditioning>(ConditioningCombine, { conditioning_1: cond(1), conditioning_2: [...cond(2), ...cond(3)] });
  assert.deepEqual(both.map((e) => e.embeds.data[0]), [1, 2, 3]);
  const mask = makeMaskBatch(1, 8, 8);
  const masked = await run<Conditioning>(ConditioningSetMask, { conditioning: both, mask, strength: 0.4, set_cond_area: 'mask bounds' });
  assert.ok(masked.every((e) => e.mask === mask && e.maskStrength === 0.4 && e.setAreaToBounds === true));
  const plain = await run<Conditioning>(ConditioningSetMask, { conditioning: both, mask, strength: 1, set_cond_area: 'default' });
  assert.equal(plain[0].setAreaToBounds, false);
  const ranged = await run<Conditioning>(ConditioningSetTimestepRange, { conditioning: both, start: 0.1, end: 0.6 });
  assert.ok(ranged.every((e) => e.startPercent === 0.1 && e.endPercent === 0.6));
  assert.deepEqual([ConditioningSetTimestepRange.inputs.required.start.default, ConditioningSetTimestepRange.inputs.required.end.default], [0, 1]);
});

test('ModelSamplingDiscrete sets the prediction type and zsnr (ComfyUI\'s options); RescaleCFG sets its multiplier', async () => {
  assert.deepEqual(ModelSamplingDiscrete.inputs.required.sampling.options, ['eps', 'v_prediction', 'lcm', 'x0']);
  const model = { checkpoint: {} } as unknown as SdModel;
  const v = await run<SdModel>(ModelSamplingDiscrete, { model, sampling: 'v_prediction', zsnr: false });
  assert.equal(v.prediction, 'v_prediction');
  assert.equal(v.checkpoint, model.checkpoint);
  assert.equal(model.prediction, undefined, 'the input MODEL is not changed');
  const lcm = await run<SdModel>(ModelSamplingDiscrete, { model, sampling: 'lcm', zsnr: true });
  assert.deepEqual([lcm.prediction, lcm.zsnr], ['lcm', true]);
  await assert.rejects(async () => run(ModelSamplingDiscrete, { model, sampling: 'img_to_img', zsnr: false }), /unknown model prediction type/);
  assert.equal(RescaleCFG.inputs.required.multiplier.default, 0.7);
  const rescaled = await run<SdModel>(RescaleCFG, { model: v, multiplier: 0.5 });
  assert.deepEqual([rescaled.prediction, rescaled.rescaleCfg], ['v_prediction', 0.5]);
});
