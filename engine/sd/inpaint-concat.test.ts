// An inpainting UNet's concat input as ComfyUI's concat_cond builds it: the mask resized (bilinear) to the latent
// and rounded, the fallbacks (the latent's noise mask and the latent itself; ones and the blank latent without any
// mask), resize_to_batch_size; and, through prepareGuidedUnet on a 9-channel copy of the fixture, which row gets which.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeMaskBatch } from '../image/index.ts';
import { makeTensor, type Tensor } from '../tensor/index.ts';
import { sigmaFromTimestep } from '../sampling/index.ts';
import { openCheckpoint } from './checkpoint/checkpoint.ts';
import { prepareGuidedUnet } from './guided-unet.ts';
import { createEpsModel } from './eps-model.ts';
import { SdRuntime } from './runtime.ts';
import { inpaintConcat, resizeToBatchSize } from './inpaint-concat.ts';
import type { Conditioning } from './wire-types.ts';
import { FIXTURE_CHECKPOINT, goldens, assertClose, writeInpaintingFixture } from './test-fixture.ts';
import { tempDir } from '../onnx/test-helpers.ts';

const f = Math.fround;
const planes = (t: Tensor, plane: number) => Array.from({ length: t.data.length / plane }, (_, i) => [...t.data.subarray(i * plane, (i + 1) * plane)]);

/** A 16×16 pixel mask whose latent cell (0, 0) samples pixels 3/4 × 3/4: `hits` of those four are 1. */
function pixelMask(hits: number): ReturnType<typeof makeMaskBatch> {
  const mask = makeMaskBatch(1, 16, 16);
  [[3, 3], [3, 4], [4, 3], [4, 4]].slice(0, hits).forEach(([y, x]) => { mask.data[y * 16 + x] = 1; });
  // Cell (1, 1) samples pixels 11/12 × 11/12: two of four → 0.5, which rounds to 0 (half to even).
  mask.data[12 * 16 + 12] = 1;
  mask.data[11 * 16 + 11] = 1;
  return mask;
}

test('concat_mask is resized to the latent (bilinear) and rounded; concat_latent_image fills channels 1..4', () => {
  const samples = makeTensor([1, 4, 2, 2]);
  const concatLatent = makeTensor([1, 4, 2, 2], Float32Array.from({ length: 16 }, (_, i) => i / 10));
  const three = inpaintConcat({ concatMask: pixelMask(3), concatLatent }, { samples });
  assert.deepEqual(three.dims, [1, 5, 2, 2]);
  assert.deepEqual(planes(three, 4)[0], [1, 0, 0, 0]); // 0.75 → 1
  assert.deepEqual(three.data.subarray(4), concatLatent.data);
  assert.deepEqual(planes(inpaintConcat({ concatMask: pixelMask(2), concatLatent }, { samples }), 4)[0], [0, 0, 0, 0]); // 0.5 → 0
});

test('without concat_mask: the latent\'s noise mask and the latent itself; without any mask: ones and the blank latent', () => {
  const samples = makeTensor([1, 4, 2, 2], Float32Array.from({ length: 16 }, (_, i) => -i));
  const fallback = inpaintConcat(undefined, { samples, noiseMask: pixelMask(4) });
  assert.deepEqual(planes(fallback, 4)[0], [1, 0, 0, 0]);
  assert.deepEqual(fallback.data.subarray(4), samples.data);
  // No mask at all: ComfyUI ignores a concat latent too.
  const blank = inpaintConcat({ concatLatent: makeTensor([1, 4, 2, 2]) }, { samples });
  assert.deepEqual(planes(blank, 4), [[1, 1, 1, 1], ...[0.8223, -0.6876, 0.6364, 0.138].map((v) => new Array(4).fill(f(v)))]);
});

test('resize_to_batch_size: fewer items evenly spread, more stretched; a concat batch follows the latent\'s', () => {
  const items = (n: number) => makeTensor([n, 1], Float32Array.from({ length: n }, (_, i) => i));
  assert.deepEqual([...resizeToBatchSize(items(3), 2).data], [0, 2]);
  assert.deepEqual([...resizeToBatchSize(items(4), 3).data], [0, 2, 3]);
  assert.deepEqual([...resizeToBatchSize(items(2), 3).data], [0, 1, 1]);
  assert.deepEqual([...resizeToBatchSize(items(3), 1).data], [0]);
  const concat = inpaintConcat({ concatMask: makeMaskBatch(1, 2, 2, new Float32Array([1, 0, 0, 1])), concatLatent: makeTensor([1, 4, 2, 2]) }, { samples: makeTensor([3, 4, 2, 2]) });
  assert.deepEqual(concat.dims, [3, 5, 2, 2]);
  assert.deepEqual(planes(concat, 4).filter((_, i) => i % 5 === 0), [[1, 0, 0, 1], [1, 0, 0, 1], [1, 0, 0, 1]]);
});

test('sampling an inpainting checkpoint: cond rows get the positive\'s concat latent, uncond rows (none of their own) the latent being sampled', async () => {
  const runtime = new SdRuntime({ cacheDir: tempDir(), device: 'cpu', threads: 1 });
  try {
    const golden = goldens('unet.safetensors');
    const text = { dims: [1, 77, 32], data: golden('encoder_hidden_states').data.slice(0, 77 * 32) };
    const sample = golden('sample').data;
    const [rowA, rowB] = [sample.slice(0, 256), sample.slice(256, 512)];
    const noisy = new Float32Array(256).map((_, i) => Math.sin(i));
    const call = (x: Float32Array) => ({ sample: x, dims: [2, 4, 8, 8], guidance: 'uncond+cond' as const, timestep: 981, sigma: sigmaFromTimestep(981), step: { index: 0, total: 1 } });
    const positive: Conditioning = [{ embeds: text, concatLatent: makeTensor([1, 4, 8, 8], rowB), concatMask: makeMaskBatch(1, 64, 64, new Float32Array(4096).fill(1)) }];
    const negative: Conditioning = [{ embeds: text }];
    const latent = { samples: makeTensor([1, 4, 8, 8], rowA), noiseMask: makeMaskBatch(1, 8, 8, new Float32Array(64).fill(1)) };
    // Weights on the masked-image channels only: the fixture UNet of whatever latent each row's concat holds.
    const inpainting = { checkpoint: openCheckpoint(writeInpaintingFixture(tempDir(), 'masked-image')) };
    const guided = await prepareGuidedUnet(runtime, { model: inpainting, positive, negative, latentDims: [1, 4, 8, 8], latent });
    const eps = await createEpsModel(guided)(call(new Float32Array([...noisy, ...noisy])));
    const plain = await prepareGuidedUnet(runtime, { model: { checkpoint: openCheckpoint(FIXTURE_CHECKPOINT) }, positive: [{ embeds: text }], negative: [{ embeds: text }], latentDims: [1, 4, 8, 8] });
    const expected = await createEpsModel(plain)(call(new Float32Array([...rowA, ...rowB])));
    assertClose(eps, expected, 'rows [uncond: the latent, cond: the concat latent]');
  } finally {
    await runtime.release();
  }
});
