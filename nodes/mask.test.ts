// The mask nodes against values worked out by hand from comfy_extras/nodes_mask.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeImageBatch, makeMaskBatch, type MaskBatch, type ImageBatch } from '../engine/image/index.ts';
import type { Latent } from '../engine/sd/index.ts';
import { makeTensor } from '../engine/tensor/index.ts';
import { SolidMask, InvertMask, MaskComposite, GrowMask, ImageToMask, MaskToImage, SetLatentNoiseMask } from './mask.ts';
import { createTestContext } from './test-context.ts';

const context = await createTestContext();
test.after(() => context.dispose());

async function run<T>(node: { run: (inputs: never, c: typeof context.ctx) => unknown }, inputs: Record<string, unknown>): Promise<T> {
  return ((await node.run(inputs as never, context.ctx)) as { outputs: unknown[] }).outputs[0] as T;
}

const mask = (h: number, w: number, values: number[]) => makeMaskBatch(1, h, w, new Float32Array(values));

test('SolidMask and InvertMask', async () => {
  assert.deepEqual(SolidMask.inputs.required.value.default, 1);
  const solid = await run<MaskBatch>(SolidMask, { value: 0.25, width: 3, height: 2 });
  assert.deepEqual([solid.batch, solid.height, solid.width, ...solid.data], [1, 2, 3, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
  assert.deepEqual([...(await run<MaskBatch>(InvertMask, { mask: solid })).data], [0.75, 0.75, 0.75, 0.75, 0.75, 0.75]);
});

test('MaskComposite places the source at (x, y), clips it and clamps the result', async () => {
  const destination = mask(2, 3, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
  const source = mask(2, 2, [1, 0.25, 0.75, 0]);
  const add = await run<MaskBatch>(MaskComposite, { destination, source, x: 2, y: 1, operation: 'add' });
  assert.deepEqual([...add.data], [0.5, 0.5, 0.5, 0.5, 0.5, 1]); // only source (0,0) = 1 lands, 0.5 + 1 clamps to 1
  const sub = await run<MaskBatch>(MaskComposite, { destination, source, x: 0, y: 0, operation: 'subtract' });
  assert.deepEqual([...sub.data], [0, 0.25, 0.5, 0, 0.5, 0.5]);
  const xor = await run<MaskBatch>(MaskComposite, { destination: mask(1, 2, [0.6, 0.4]), source: mask(1, 2, [1, 1]), x: 0, y: 0, operation: 'xor' });
  assert.deepEqual([...xor.data], [0, 1]);
});

test('GrowMask dilates with a cross (tapered) or square footprint and erodes for negative expand', async () => {
  const dot = mask(3, 3, [0, 0, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual([...(await run<MaskBatch>(GrowMask, { mask: dot, expand: 1, tapered_corners: true })).data], [0, 1, 0, 1, 1, 1, 0, 1, 0]);
  assert.deepEqual([...(await run<MaskBatch>(GrowMask, { mask: dot, expand: 1, tapered_corners: false })).data], [1, 1, 1, 1, 1, 1, 1, 1, 1]);
  const full = mask(3, 3, [1, 1, 1, 1, 1, 1, 1, 1, 0]);
  assert.deepEqual([...(await run<MaskBatch>(GrowMask, { mask: full, expand: -1, tapered_corners: true })).data], [1, 1, 1, 1, 1, 0, 1, 0, 0]);
});

test('ImageToMask takes one channel, MaskToImage greys it back; a missing alpha is a clear error', async () => {
  const image = makeImageBatch(1, 1, 2, new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]));
  const green = await run<MaskBatch>(ImageToMask, { image, channel: 'green' });
  assert.deepEqual([...green.data], [0.2, 0.5].map(Math.fround));
  const grey = await run<ImageBatch>(MaskToImage, { mask: green });
  assert.deepEqual([...grey.data], [0.2, 0.2, 0.2, 0.5, 0.5, 0.5].map(Math.fround));
  await assert.rejects(async () => run(ImageToMask, { image, channel: 'alpha' }), /no alpha channel/);
});

test('SetLatentNoiseMask attaches the mask and keeps the samples', async () => {
  const samples: Latent = { samples: makeTensor([1, 4, 2, 2]) };
  const m = mask(16, 16, new Array(256).fill(1));
  const out = await run<Latent>(SetLatentNoiseMask, { samples, mask: m });
  assert.equal(out.samples, samples.samples);
  assert.equal(out.noiseMask, m);
});
