// The inpainting nodes against values worked out by hand from ComfyUI's nodes.py: the grey fill under the
// rounded mask, the asymmetric grow of an even kernel, the crop to multiples of 8, the outpaint padding and its
// feathering, LoadImageMask's channels; and, on the sd15-tiny VAE, what reaches the encoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { makeImageBatch, makeMaskBatch, type ImageBatch, type MaskBatch } from '../engine/image/index.ts';
import type { Conditioning, Latent } from '../engine/sd/index.ts';
import { makeTensor } from '../engine/tensor/index.ts';
import { VAEEncodeForInpaint, InpaintModelConditioning, ImagePadForOutpaint, LoadImageMask } from './inpaint.ts';
import { alignMaskForVae, greyOutMasked, growInpaintMask } from './inpaint-pixels.ts';
import { VAEEncode } from './latent.ts';
import { KSampler } from './sampling.ts';
import { writeInpaintingFixture } from '../engine/sd/test-fixture.ts';
import { tempDir } from '../engine/onnx/test-helpers.ts';
import { createTestContext } from './test-context.ts';
import { fixtureModels, runtime, withSd } from './sd-test-fixture.ts';

const outputs = async (node: { run: (inputs: never, ctx: never) => unknown }, inputs: Record<string, unknown>, ctx: unknown) =>
  ((await node.run(inputs as never, ctx as never)) as { outputs: unknown[] }).outputs;

function ramp(batch: number, height: number, width: number): ImageBatch {
  const image = makeImageBatch(batch, height, width);
  image.data.forEach((_, i) => { image.data[i] = ((i * 37) % 64) / 64; }); // multiples of 1/64: exact after ±0.5
  return image;
}

function rows(mask: MaskBatch): string[] {
  return Array.from({ length: mask.height }, (_, y) => [...mask.data.subarray(y * mask.width, (y + 1) * mask.width)].join(''));
}

test('grow_mask_by: a pixel spreads ceil((k−1)/2) down/right and the rest of k−1 up/left; 0 only rounds', () => {
  const dot = makeMaskBatch(1, 9, 9);
  dot.data[4 * 9 + 4] = 1;
  const block = (from: number, to: number, row: string) => Array.from({ length: 9 }, (_, y) => (y >= from && y <= to ? row : '000000000'));
  assert.deepEqual(rows(growInpaintMask(dot, 4)), block(3, 6, '000111100'));
  assert.deepEqual(rows(growInpaintMask(dot, 3)), block(3, 5, '000111000'));
  assert.deepEqual(rows(growInpaintMask(dot, 6)), block(2, 7, '001111110'));
  // round() before the convolution: 0.5 rounds to 0 (half to even), 0.51 to 1; the result is 0/1.
  const soft = makeMaskBatch(1, 1, 4, new Float32Array([0.5, 0, 0, 0.51]));
  assert.deepEqual([...growInpaintMask(soft, 0).data], [0, 0, 0, 1]);
  assert.deepEqual([...growInpaintMask(soft, 2).data], [0, 0, 0, 1]);
  assert.deepEqual([...growInpaintMask(makeMaskBatch(1, 1, 4, new Float32Array([0, 0.7, 0, 0])), 2).data], [0, 1, 1, 0]);
});

test('grey fill: pixels under round(mask) become 0.5, the rest keep their value; the mask batch must be 1 or the image\'s', () => {
  const image = makeImageBatch(2, 1, 3, new Float32Array([0.25, 0.75, 1, 0, 0.125, 0.5, 1, 1, 1, 0.5, 0.25, 0, 0.75, 0.875, 1, 0, 0, 0]));
  const mask = makeMaskBatch(1, 1, 3, new Float32Array([1, 0.5, 0.6])); // rounds to 1, 0, 1
  const grey = [0.5, 0.5, 0.5];
  assert.deepEqual([...greyOutMasked(image, mask).data], [...grey, 0, 0.125, 0.5, ...grey, ...grey, 0.75, 0.875, 1, ...grey]);
  assert.throws(() => greyOutMasked(ramp(2, 1, 3), makeMaskBatch(3, 1, 3)), /mask batch \(3\) must be 1 or match the image batch \(2\)/);
});

test('crop to multiples of 8: offset (size mod 8) // 2, the mask resized to the image first', () => {
  const image = ramp(1, 21, 19); // → 16×16 from row 2, column 1
  const mask = makeMaskBatch(1, 21, 19);
  mask.data[2 * 19 + 1] = 1; // the crop's top-left pixel
  const aligned = alignMaskForVae(image, mask);
  assert.deepEqual([aligned.pixels.height, aligned.pixels.width, aligned.mask.height, aligned.mask.width], [16, 16, 16, 16]);
  assert.equal(aligned.mask.data[0], 1);
  assert.equal(aligned.mask.data.reduce((a, b) => a + b, 0), 1);
  assert.deepEqual([...aligned.pixels.data.subarray(0, 3)], [...image.data.subarray((2 * 19 + 1) * 3, (2 * 19 + 1) * 3 + 3)]);
  // A half-size mask is scaled up (bilinear) to the image before cropping.
  const small = alignMaskForVae(ramp(1, 16, 16), makeMaskBatch(1, 8, 8, new Float32Array(64).fill(1)));
  assert.ok(small.mask.data.every((v) => v === 1));
  assert.throws(() => alignMaskForVae(ramp(1, 7, 30), mask), /at least 8×8/);
});

test('ImagePadForOutpaint: grey canvas, mask 1 on the border and ((f − d)/f)² towards padded sides only', async () => {
  const { ctx, dispose } = await createTestContext();
  try {
    assert.deepEqual(ImagePadForOutpaint.inputs.required.feathering, { kind: 'INT', default: 40, min: 0, max: 16384, step: 1 });
    assert.equal(ImagePadForOutpaint.inputs.required.left.step, 8);
    const image = makeImageBatch(1, 10, 10, new Float32Array(300).fill(0.25));
    const [padded, mask] = await outputs(ImagePadForOutpaint, { image, left: 8, top: 0, right: 0, bottom: 8, feathering: 4 }, ctx) as [ImageBatch, MaskBatch];
    assert.deepEqual([padded.height, padded.width, mask.batch, mask.height, mask.width], [18, 18, 1, 18, 18]);
    assert.equal(padded.data[0], 0.5); // new border: grey
    assert.equal(padded.data[(0 * 18 + 8) * 3], 0.25); // image pixel (0, 0) lands at (0, 8)
    const at = (i: number, j: number) => mask.data[i * 18 + j + 8];
    assert.equal(mask.data[0], 1);
    assert.equal(mask.data[17 * 18 + 17], 1);
    assert.equal(at(0, 0), 1); // d = 0 from the left side
    assert.equal(at(5, 2), Math.fround(0.25)); // d = 2 (left): ((4 − 2)/4)²
    assert.equal(at(9, 9), Math.fround(0.5625)); // d = 1 (bottom): 0.75²
    assert.equal(at(2, 5), 0); // 5 from the left, 8 from the bottom; top and right are not padded
    assert.equal(at(0, 9), 0);
    // 2·feathering must be below both sides, else no feathering at all.
    const [, flat] = await outputs(ImagePadForOutpaint, { image, left: 8, top: 0, right: 0, bottom: 0, feathering: 5 }, ctx) as [ImageBatch, MaskBatch];
    assert.deepEqual([...flat.data.subarray(0, 18)], [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  } finally {
    await dispose();
  }
});

test('LoadImageMask: red/green/blue as they are, alpha inverted; no alpha gives zeros of the image size', async () => {
  const { ctx, env, folders, dispose } = await createTestContext();
  try {
    // Pixels (R, G, B, A): (255, 0, 51, 255), (0, 102, 255, 0), (10, 20, 30, 40), (50, 60, 70, 80).
    const rgba = Buffer.from([255, 0, 51, 255, 0, 102, 255, 0, 10, 20, 30, 40, 50, 60, 70, 80]);
    await writeFile(join(folders.input, 'm.png'), await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } }).png().toBuffer());
    await writeFile(join(folders.input, 'rgb.png'), await sharp(Buffer.from([9, 9, 9, 9, 9, 9]), { raw: { width: 2, height: 1, channels: 3 } }).png().toBuffer());
    assert.deepEqual(LoadImageMask.inputs.required.channel.options, ['alpha', 'red', 'green', 'blue']);
    assert.ok((LoadImageMask.inputs.required.image.options as (e: typeof env) => string[])(env).includes('m.png'));
    const f = (v: number) => Math.fround(v / 255);
    const red = (await outputs(LoadImageMask, { image: 'm.png', channel: 'red' }, ctx))[0] as MaskBatch;
    assert.deepEqual([red.batch, red.height, red.width], [1, 2, 2]);
    assert.deepEqual([...red.data], [f(255), 0, f(10), f(50)]);
    const alpha = (await outputs(LoadImageMask, { image: 'm.png', channel: 'alpha' }, ctx))[0] as MaskBatch;
    assert.deepEqual([...alpha.data], [0, 1, Math.fround(1 - f(40)), Math.fround(1 - f(80))]);
    const none = (await outputs(LoadImageMask, { image: 'rgb.png', channel: 'alpha' }, ctx))[0] as MaskBatch;
    assert.deepEqual([none.height, none.width, ...none.data], [1, 2, 0, 0]);
    assert.equal(await LoadImageMask.validate!.check({ image: 'missing.png' }, env), 'Invalid image file: missing.png');
  } finally {
    await dispose();
  }
});

test('VAEEncodeForInpaint: the VAE sees the grey-filled crop, so pixels under the mask do not matter; noise mask grown', () => withSd(async (t) => {
  const { vae } = await fixtureModels();
  assert.deepEqual(VAEEncodeForInpaint.inputs.required.grow_mask_by, { kind: 'INT', default: 6, min: 0, max: 64, step: 1 });
  const image = ramp(1, 20, 17); // → 16×16 from row 2, column 0
  const mask = makeMaskBatch(1, 20, 17);
  for (let y = 6; y < 10; y++) for (let x = 4; x < 8; x++) mask.data[y * 17 + x] = 1;
  const other = makeImageBatch(1, 20, 17, image.data.slice());
  for (let y = 6; y < 10; y++) for (let x = 4; x < 8; x++) other.data.fill(0.9, (y * 17 + x) * 3, (y * 17 + x) * 3 + 3);
  const [a] = await outputs(VAEEncodeForInpaint, { pixels: image, vae, mask, grow_mask_by: 2 }, t.ctx) as [Latent];
  const [b] = await outputs(VAEEncodeForInpaint, { pixels: other, vae, mask, grow_mask_by: 2 }, t.ctx) as [Latent];
  assert.deepEqual(a.samples.dims, [1, 4, 2, 2]);
  assert.deepEqual([...a.samples.data], [...b.samples.data]);
  const aligned = alignMaskForVae(image, mask);
  const [plain] = await outputs(VAEEncode, { pixels: greyOutMasked(aligned.pixels, aligned.mask), vae }, t.ctx) as [Latent];
  assert.deepEqual([...a.samples.data], [...plain.samples.data]);
  // The mask's rows 6..9 are crop rows 4..7 (columns 4..7); k = 2 spreads it one pixel down and right.
  const noise = a.noiseMask!;
  assert.deepEqual([noise.batch, noise.height, noise.width], [1, 16, 16]);
  assert.deepEqual(rows(noise), Array.from({ length: 16 }, (_, y) => (y >= 4 && y <= 8 ? '0000111110000000' : '0000000000000000')));
}));

test('InpaintModelConditioning: the whole image\'s latent, the unrounded mask as noise mask (or none), concat latent and mask on both conditionings', () => withSd(async (t) => {
  const { vae } = await fixtureModels();
  assert.deepEqual(InpaintModelConditioning.inputs.required.noise_mask.default, true);
  const image = ramp(1, 16, 16);
  const mask = makeMaskBatch(1, 16, 16);
  mask.data.fill(0.3, 0, 64);
  mask.data.fill(1, 64, 128);
  const text = (): Conditioning => [{ embeds: makeTensor([1, 77, 32]) }];
  const [positive, negative, latent] = await outputs(InpaintModelConditioning, { positive: text(), negative: text(), vae, pixels: image, mask, noise_mask: true }, t.ctx) as [Conditioning, Conditioning, Latent];
  const [whole] = await outputs(VAEEncode, { pixels: image, vae }, t.ctx) as [Latent];
  assert.deepEqual([...latent.samples.data], [...whole.samples.data]);
  assert.deepEqual([...latent.noiseMask!.data], [...mask.data]);
  const [forInpaint] = await outputs(VAEEncodeForInpaint, { pixels: image, vae, mask, grow_mask_by: 0 }, t.ctx) as [Latent];
  for (const c of [positive, negative]) {
    assert.deepEqual([...c[0].concatLatent!.data], [...forInpaint.samples.data]);
    assert.deepEqual([...c[0].concatMask!.data], [...mask.data]);
  }
  const [, , bare] = await outputs(InpaintModelConditioning, { positive: text(), negative: text(), vae, pixels: image, mask, noise_mask: false }, t.ctx) as [Conditioning, Conditioning, Latent];
  assert.equal(bare.noiseMask, undefined);
}));

test('KSampler on an inpainting checkpoint with InpaintModelConditioning: unmasked cells kept, the concat latent reaches the UNet', () => withSd(async (t) => {
  const { vae } = await fixtureModels();
  // conv_in weights on the masked-image channels only: ε depends on the concat latent alone.
  const model = { checkpoint: runtime().checkpoint(writeInpaintingFixture(tempDir(), 'masked-image')) };
  const image = ramp(1, 16, 16);
  const mask = makeMaskBatch(1, 16, 16);
  for (let y = 0; y < 16; y++) mask.data.fill(1, y * 16, y * 16 + 8); // left half: latent column 0
  const text = (): Conditioning => [{ embeds: makeTensor([1, 77, 32]) }];
  const [positive, negative, latent] = await outputs(InpaintModelConditioning, { positive: text(), negative: text(), vae, pixels: image, mask, noise_mask: true }, t.ctx) as [Conditioning, Conditioning, Latent];
  const sampling = { model, seed: 3n, steps: 2, cfg: 2, sampler_name: 'euler', scheduler: 'normal', latent_image: latent, denoise: 1 };
  const [withConcat] = await outputs(KSampler, { ...sampling, positive, negative }, t.ctx) as [Latent];
  const [withoutConcat] = await outputs(KSampler, { ...sampling, positive: text(), negative: text() }, t.ctx) as [Latent];
  const column = (l: Latent, x: number) => [...l.samples.data].filter((_, i) => i % 2 === x);
  assert.deepEqual(column(withConcat, 1), column(latent, 1));
  assert.ok(column(withConcat, 0).every(Number.isFinite));
  // Without the conditioning's concat the UNet gets the latent itself (not the grey-filled one) as masked image.
  assert.notDeepEqual(column(withConcat, 0), column(withoutConcat, 0));
  assert.deepEqual(column(withoutConcat, 1), column(latent, 1));
}));
