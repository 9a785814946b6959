// EmptyLatentImage, VAEEncode, VAEDecode and VAEDecodeTiled on the sd15-tiny VAE: shapes, zeros, size
// limits, and that encode → decode keeps an image recognisable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmptyLatentImage, VAEEncode, VAEDecode, VAEDecodeTiled } from './latent.ts';
import { makeImageBatch } from '../engine/image/index.ts';
import type { ImageBatch } from '../engine/image/index.ts';
import type { Latent } from '../engine/sd/index.ts';
import { fixtureModels, withSd } from './sd-test-fixture.ts';

test('EmptyLatentImage: [batch, 4, h/8, w/8] zeros, sizes rounded down like ComfyUI; too large is an error', () => withSd(async (t) => {
  assert.deepEqual(EmptyLatentImage.inputs.required.width, { kind: 'INT', default: 512, min: 16, max: 16384, step: 8, tooltip: 'The width of the latent images in pixels.' });
  const latent = (await EmptyLatentImage.run({ width: 72, height: 36, batch_size: 3 }, t.ctx)).outputs[0] as Latent;
  assert.deepEqual(latent.samples.dims, [3, 4, 4, 9]);
  assert.equal(latent.samples.data.length, 3 * 4 * 4 * 9);
  assert.ok(latent.samples.data.every((v) => v === 0));
  assert.throws(() => EmptyLatentImage.run({ width: 16384, height: 16384, batch_size: 4096 }, t.ctx), /too large to hold in memory/);
}));

test('VAEEncode → VAEDecode: latent [1, 4, h/8, w/8], image back at the same size; tiled decode has the same size', () => withSd(async (t) => {
  const { vae } = await fixtureModels();
  const image: ImageBatch = makeImageBatch(1, 32, 48);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 48; x++) {
    const i = (y * 48 + x) * 3;
    image.data[i] = x / 47; image.data[i + 1] = y / 31; image.data[i + 2] = 0.5;
  }
  const latent = (await VAEEncode.run({ pixels: image, vae }, t.ctx)).outputs[0] as Latent;
  assert.deepEqual(latent.samples.dims, [1, 4, 4, 6]);
  assert.ok(latent.samples.data.every(Number.isFinite));
  assert.ok(latent.samples.data.some((v) => v !== 0));
  const decoded = (await VAEDecode.run({ samples: latent, vae }, t.ctx)).outputs[0] as ImageBatch;
  assert.deepEqual([decoded.batch, decoded.height, decoded.width], [1, 32, 48]);
  assert.ok(decoded.data.every((v) => v >= 0 && v <= 1), 'decoded pixels are clamped to 0…1');
  const ticks: Array<[number, number]> = [];
  t.ctx.progress = (value, max) => { ticks.push([value, max]); };
  const tiled = (await VAEDecodeTiled.run({ samples: latent, vae, tile_size: 64, overlap: 0 }, t.ctx)).outputs[0] as ImageBatch;
  assert.deepEqual([tiled.batch, tiled.height, tiled.width], [1, 32, 48]);
  assert.ok(ticks.length >= 1 && ticks.at(-1)![0] === ticks.at(-1)![1], 'tiled decode reports progress to completion');
}));
