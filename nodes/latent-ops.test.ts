// The latent nodes against values worked out by hand from ComfyUI's formulas (nodes.py, nodes_latent.py,
// nodes_mask.py, comfy.utils.common_upscale / bislerp).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTensor, type Tensor } from '../engine/tensor/index.ts';
import { makeImageBatch, makeMaskBatch } from '../engine/image/index.ts';
import type { Latent } from '../engine/sd/index.ts';
import {
  LatentUpscale, LatentUpscaleBy, LatentComposite, LatentCompositeMasked, LatentBlend, LatentFromBatch, RepeatLatentBatch,
  LatentBatch, LatentAdd, LatentSubtract, LatentMultiply, LatentFlip, LatentRotate, LatentCrop,
} from './latent-ops.ts';
import { imageScaleBy } from './image.ts';
import { prepareNoiseMask } from '../engine/latent/index.ts';
import { createTestContext } from './test-context.ts';
import { createRegistry } from './index.ts';

const ctx = (await createTestContext()).ctx;

function latent(dims: number[], fill: (i: number) => number): Latent {
  const t = makeTensor(dims);
  for (let i = 0; i < t.data.length; i++) t.data[i] = fill(i);
  return { samples: t };
}

async function run(node: { run: (inputs: never, c: typeof ctx) => unknown }, inputs: Record<string, unknown>): Promise<Latent> {
  const result = (await node.run(inputs as never, ctx)) as { outputs: unknown[] };
  return result.outputs[0] as Latent;
}

function close(actual: ArrayLike<number>, expected: number[], tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `value ${i}: ${actual[i]} ≠ ${expected[i]}`);
}

const values = (t: Tensor) => [...t.data];

test('every latent node is registered under its ComfyUI name with ComfyUI defaults', () => {
  const registry = createRegistry();
  for (const name of ['LatentUpscale', 'LatentUpscaleBy', 'LatentComposite', 'LatentCompositeMasked', 'LatentBlend', 'LatentFromBatch', 'RepeatLatentBatch', 'LatentBatch', 'LatentAdd', 'LatentSubtract', 'LatentMultiply', 'LatentFlip', 'LatentRotate', 'LatentCrop', 'ImageScaleBy']) {
    assert.ok(registry.has(name), name);
  }
  assert.deepEqual(LatentUpscale.inputs.required.upscale_method.options, ['nearest-exact', 'bilinear', 'area', 'bicubic', 'bislerp']);
  assert.equal(LatentUpscaleBy.inputs.required.scale_by.default, 1.5);
  assert.deepEqual([LatentUpscaleBy.inputs.required.scale_by.min, LatentUpscaleBy.inputs.required.scale_by.max], [0.01, 8]);
  assert.equal(LatentBlend.inputs.required.blend_factor.default, 0.5);
  assert.deepEqual([LatentFromBatch.inputs.required.batch_index.max, LatentFromBatch.inputs.required.length.max], [63, 64]);
  assert.equal(LatentCrop.inputs.required.width.min, 64);
});

test('LatentUpscale: pixel sizes of at least 64, nearest-exact repeats cells, a 0 side keeps the aspect', async () => {
  const small = latent([1, 1, 2, 2], (i) => i + 1);
  // 16-pixel request is raised to 64 pixels = 8 cells; nearest-exact 2 → 8 maps cells 0-3 to 0, 4-7 to 1.
  const up = await run(LatentUpscale, { samples: small, upscale_method: 'nearest-exact', width: 16, height: 64, crop: 'disabled' });
  assert.deepEqual(up.samples.dims, [1, 1, 8, 8]);
  assert.deepEqual(values(up.samples).slice(0, 8), [1, 1, 1, 1, 2, 2, 2, 2]);
  assert.deepEqual(values(up.samples).slice(56, 64), [3, 3, 3, 3, 4, 4, 4, 4]);
  const wide = latent([1, 4, 8, 16], () => 0);
  const byHeight = await run(LatentUpscale, { samples: wide, upscale_method: 'bilinear', width: 0, height: 128, crop: 'disabled' });
  assert.deepEqual(byHeight.samples.dims, [1, 4, 16, 32]); // width = round(16·128/8) = 256 px
  assert.equal(await run(LatentUpscale, { samples: wide, upscale_method: 'bilinear', width: 0, height: 0, crop: 'disabled' }), wide);
});

test('LatentUpscaleBy 1.5 bilinear follows torch interpolate (align_corners=False)', async () => {
  const ramp = latent([1, 1, 4, 4], (i) => i % 4);
  const up = await run(LatentUpscaleBy, { samples: ramp, upscale_method: 'bilinear', scale_by: 1.5 });
  assert.deepEqual(up.samples.dims, [1, 1, 6, 6]);
  // source x = max(4/6·(i+0.5) − 0.5, 0), the last clamped to the edge.
  close(values(up.samples).slice(0, 6), [0, 0.5, 7 / 6, 11 / 6, 2.5, 3]);
});

test('bislerp keeps the channel vectors\' norm: it slerps where bilinear would average', async () => {
  // Two channels, width 2: cell 0 = (1, 0), cell 1 = (0, 1); to width 4 (ratios 0, .25, .75, then the edge).
  const two = latent([1, 2, 1, 2], (i) => [1, 0, 0, 1][i]);
  const up = await run(LatentUpscaleBy, { samples: two, upscale_method: 'bislerp', scale_by: 2 });
  assert.deepEqual(up.samples.dims, [1, 2, 2, 4]);
  const c = Math.cos(Math.PI / 8);
  const s = Math.sin(Math.PI / 8);
  close(values(up.samples).slice(0, 4), [1, c, s, 0]); // channel 0, row 0
  close(values(up.samples).slice(8, 12), [0, s, c, 1]); // channel 1, row 0
});

test('LatentComposite pastes at x/8, y/8, clipped, and feathers the inner edges linearly', async () => {
  const to = latent([1, 1, 4, 4], () => 2);
  const from = latent([1, 1, 3, 3], () => 1);
  const plain = await run(LatentComposite, { samples_to: to, samples_from: from, x: 8, y: 8, feather: 0 });
  assert.deepEqual(values(plain.samples), [2, 2, 2, 2, 2, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1]);
  // feather 16 px = 2 cells; only the top and left edges lie inside: weights 0.5, 1 → m = row·col.
  const soft = await run(LatentComposite, { samples_to: to, samples_from: from, x: 8, y: 8, feather: 16 });
  const blend = (m: number) => 1 * m + 2 * (1 - m);
  close(values(soft.samples), [2, 2, 2, 2, 2, blend(0.25), blend(0.5), blend(0.5), 2, blend(0.5), 1, 1, 2, blend(0.5), 1, 1]);
});

test('LatentCompositeMasked weights the source by the mask and repeats the source batch', async () => {
  const destination = latent([2, 1, 4, 4], () => 0);
  const source = latent([1, 1, 2, 2], () => 3);
  const mask = makeMaskBatch(1, 2, 2, new Float32Array([1, 0, 0.5, 0]));
  const out = await run(LatentCompositeMasked, { destination, source, x: 16, y: 16, resize_source: false, mask });
  const item = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 1.5, 0];
  assert.deepEqual(values(out.samples), [...item, ...item]);
});

test('LatentBlend: samples1·f + samples2·(1 − f)', async () => {
  const out = await run(LatentBlend, { samples1: latent([1, 4, 2, 2], () => 1), samples2: latent([1, 4, 2, 2], () => 3), blend_factor: 0.25 });
  assert.ok(values(out.samples).every((v) => v === 2.5));
});

test('LatentFromBatch / RepeatLatentBatch / LatentBatch keep ComfyUI\'s batch_index bookkeeping', async () => {
  const four = latent([4, 1, 1, 1], (i) => i);
  const taken = await run(LatentFromBatch, { samples: four, batch_index: 2, length: 5 });
  assert.deepEqual(values(taken.samples), [2, 3]);
  assert.deepEqual(taken.batchIndex, [2, 3]);
  const repeated = await run(RepeatLatentBatch, { samples: taken, amount: 3 });
  assert.deepEqual(values(repeated.samples), [2, 3, 2, 3, 2, 3]);
  assert.deepEqual(repeated.batchIndex, [2, 3, 4, 5, 6, 7]);
  const joined = await run(LatentBatch, { samples1: latent([1, 1, 2, 2], () => 1), samples2: latent([2, 1, 2, 2], () => 2) });
  assert.deepEqual(joined.samples.dims, [3, 1, 2, 2]);
  assert.deepEqual(joined.batchIndex, [0, 0, 1]);
  const masked: Latent = { ...four, noiseMask: makeMaskBatch(2, 1, 1, new Float32Array([0.25, 0.75])) };
  const fromMasked = await run(LatentFromBatch, { samples: masked, batch_index: 1, length: 2 });
  assert.deepEqual([...fromMasked.noiseMask!.data], [0.75, 0.25]); // the 2-mask batch repeated to 4 first
});

test('LatentAdd / LatentSubtract repeat samples2 to samples1\'s batch; LatentMultiply scales', async () => {
  const a = latent([2, 1, 1, 2], (i) => i);
  const b = latent([1, 1, 1, 2], (i) => 10 * (i + 1));
  assert.deepEqual(values((await run(LatentAdd, { samples1: a, samples2: b })).samples), [10, 21, 12, 23]);
  assert.deepEqual(values((await run(LatentSubtract, { samples1: a, samples2: b })).samples), [-10, -19, -8, -17]);
  assert.deepEqual(values((await run(LatentMultiply, { samples: a, multiplier: -2 })).samples), [-0, -2, -4, -6]);
});

test('LatentFlip and LatentRotate (clockwise quarter turns, torch.rot90 dims [3, 2])', async () => {
  const m = latent([1, 1, 2, 3], (i) => i + 1); // [[1,2,3],[4,5,6]]
  assert.deepEqual(values((await run(LatentFlip, { samples: m, flip_method: 'x-axis: vertically' })).samples), [4, 5, 6, 1, 2, 3]);
  assert.deepEqual(values((await run(LatentFlip, { samples: m, flip_method: 'y-axis: horizontally' })).samples), [3, 2, 1, 6, 5, 4]);
  const r90 = await run(LatentRotate, { samples: m, rotation: '90 degrees' });
  assert.deepEqual(r90.samples.dims, [1, 1, 3, 2]);
  assert.deepEqual(values(r90.samples), [4, 1, 5, 2, 6, 3]);
  assert.deepEqual(values((await run(LatentRotate, { samples: m, rotation: '180 degrees' })).samples), [6, 5, 4, 3, 2, 1]);
  assert.deepEqual(values((await run(LatentRotate, { samples: m, rotation: '270 degrees' })).samples), [3, 6, 2, 5, 1, 4]);
});

test('LatentCrop pulls the offset back so 8 cells remain and clips the window', async () => {
  const grid = latent([1, 1, 16, 16], (i) => i);
  const out = await run(LatentCrop, { samples: grid, width: 64, height: 64, x: 800, y: 8 });
  assert.deepEqual(out.samples.dims, [1, 1, 8, 8]);
  assert.equal(out.samples.data[0], 1 * 16 + 8);
  const clipped = await run(LatentCrop, { samples: grid, width: 512, height: 64, x: 16, y: 0 });
  assert.deepEqual(clipped.samples.dims, [1, 1, 8, 14]);
});

test('ImageScaleBy 0.5 with area averages 2×2 blocks', async () => {
  const image = makeImageBatch(1, 2, 2, new Float32Array([0, 0, 0, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]));
  const result = await imageScaleBy.run({ image, upscale_method: 'area', scale_by: 0.5 }, ctx);
  const scaled = result.outputs[0] as ReturnType<typeof makeImageBatch>;
  assert.deepEqual([scaled.width, scaled.height], [1, 1]);
  close(scaled.data, [0.5, 0.5, 0.5]);
});

test('prepareNoiseMask: bilinear to the latent cells, the same for every channel, batch repeated', () => {
  const mask = makeMaskBatch(1, 2, 2, new Float32Array([1, 0, 0, 0]));
  const prepared = prepareNoiseMask(mask, [2, 2, 1, 1]);
  // 2×2 → 1×1 bilinear samples the centre (source 0.5, 0.5): the mean 0.25.
  close(prepared, [0.25, 0.25, 0.25, 0.25]);
});
