// TAESD preview decoder: the graph equals TAESD's decoder written out the plain way (nested loops) on the
// demo file's random weights; both key layouts load; other files are refused; the previewer maps [-1,1] to
// bytes as ComfyUI's preview_to_image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeSafetensors, createSession } from '../../onnx/index.ts';
import type { TensorToWrite } from '../../onnx/index.ts';
import { tempDir, noise, referenceConv3x3, referenceNearest } from '../../onnx/test-helpers.ts';
import type { Planes } from '../../onnx/test-helpers.ts';
import { openTaesdDecoder, taesdModelPath, TaesdError } from './taesd.ts';
import { demoTaesdDecoder } from './taesd-demo.ts';
import { taesdPreviewer } from './latent-preview.ts';

type Weights = Record<string, TensorToWrite>;
const conv = referenceConv3x3;
const map = (x: Planes, f: (v: number) => number): Planes => ({ ...x, data: x.data.map(f) });
const relu = (x: Planes) => map(x, (v) => Math.max(0, v));
const plus = (a: Planes, b: Planes): Planes => ({ ...a, data: a.data.map((v, i) => v + b.data[i]) });
const up2 = (x: Planes): Planes => referenceNearest(x, 2);

/** comfy/taesd/taesd.py Decoder + TAESD.decode, as written there. */
function referenceDecoder(weights: Weights, latent: Planes): Planes {
  const block = (i: number, x: Planes) => relu(plus(conv(weights, `${i}.conv.4`, relu(conv(weights, `${i}.conv.2`, relu(conv(weights, `${i}.conv.0`, x))))), x));
  let h = map(latent, (v) => Math.tanh(v / 3) * 3);
  h = relu(conv(weights, '1', h));
  for (const [blocks, upConv] of [[[3, 4, 5], 7], [[8, 9, 10], 12], [[13, 14, 15], 17]] as const) {
    for (const b of blocks) h = block(b, h);
    h = conv(weights, String(upConv), up2(h));
  }
  h = conv(weights, '19', block(18, h));
  return map(h, (v) => (v - 0.5) * 2);
}

test('the TAESD decoder graph equals the plain decoder on a 2x3 latent (16x24 pixels)', async () => {
  const dir = tempDir();
  const weights = demoTaesdDecoder();
  const path = join(dir, 'taesd_decoder.safetensors');
  writeSafetensors(path, weights);
  const decoder = openTaesdDecoder(path);
  const session = await createSession(taesdModelPath(dir, decoder).path, { device: 'cpu', threads: 1 });
  try {
    const latent: Planes = { c: 4, h: 2, w: 3, data: noise(24, 5).map((v) => v * 4) };
    const { image } = await session.run({ latent: { dims: [1, 4, 2, 3], data: latent.data } }, ['image']);
    const expected = referenceDecoder(weights, latent);
    assert.deepEqual(image.dims, [1, 3, 16, 24]);
    let worst = 0, scale = 0;
    expected.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - image.data[i])); scale = Math.max(scale, Math.abs(v)); });
    assert.ok(scale > 0.01, 'the random decoder gives a non-trivial image');
    assert.ok(worst <= 1e-4 * Math.max(1, scale), `max difference ${worst} (scale ${scale})`);
  } finally {
    await session.release();
  }
});

test('a decoder under the taesd_decoder. prefix loads; other files are refused, saying what was expected', () => {
  const dir = tempDir();
  const prefixed = join(dir, 'prefixed.safetensors');
  writeSafetensors(prefixed, demoTaesdDecoder('taesd_decoder.'));
  assert.ok(openTaesdDecoder(prefixed).weights.has('3.conv.0.weight'));

  const lora = join(dir, 'lora.safetensors');
  writeSafetensors(lora, { 'lora_unet_x.lora_down.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) } });
  assert.throws(() => openTaesdDecoder(lora), (e: Error) => e instanceof TaesdError && /not a TAESD decoder: expected keys 1\.weight … 19\.weight/.test(e.message) && e.message.includes('lora_unet_x'));

  const sd3 = join(dir, 'taesd3_decoder.safetensors'); // another family: 16 latent channels
  writeSafetensors(sd3, demoTaesdDecoder('', 16));
  assert.throws(() => openTaesdDecoder(sd3), /4-channel \(SD1\.x\) latents .* this file has \[64,16,3,3\]/);
});

test('the TAESD previewer decodes batch item 0 and maps [-1,1] to bytes with rounding, clamped', async () => {
  const fed: Array<readonly number[]> = [];
  const session = {
    run: async (feeds: Record<string, { dims: readonly number[]; data: Float32Array | BigInt64Array }>) => {
      fed.push(feeds.latent.dims);
      // a 1x2 "image": channel planes [-2, 1], [0, 0.5], [-1, 2]
      return { image: { dims: [1, 3, 1, 2], data: Float32Array.from([-2, 1, 0, 0.5, -1, 2]) } };
    },
  };
  const preview = await taesdPreviewer(session as never)(new Float32Array(2 * 4 * 3 * 3), [2, 4, 3, 3]);
  assert.deepEqual(fed, [[1, 4, 3, 3]]);
  assert.deepEqual({ width: preview.width, height: preview.height }, { width: 2, height: 1 });
  assert.deepEqual([...preview.rgb], [0, 128, 0, 255, 191, 255]);
});
