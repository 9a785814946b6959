// Tiled VAE decoding: tile layout, exactness when one tile covers the image, and a blended result close to
// the whole-image decode when it does not (tiles normalise on their own statistics, so not bitwise).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { SdRuntime } from '../runtime.ts';
import { decodeLatent } from './vae-codec.ts';
import { decodeLatentTiled, tileStarts } from './vae-tiled.ts';
import { FIXTURE_CHECKPOINT } from '../test-fixture.ts';
import { tempDir, noise } from '../../onnx/test-helpers.ts';

const runtime = new SdRuntime({ cacheDir: tempDir(), device: 'cpu' });
after(() => runtime.release());
const vae = { checkpoint: runtime.checkpoint(FIXTURE_CHECKPOINT) };

test('tile starts cover the axis with the requested overlap, the last tile flush with the end', () => {
  assert.deepEqual(tileStarts(16, 8, 2), [0, 6, 8]);
  assert.deepEqual(tileStarts(8, 8, 2), [0]);
  assert.deepEqual(tileStarts(5, 8, 2), [0]);
  assert.deepEqual(tileStarts(20, 8, 0), [0, 8, 12]);
});

test('one tile covering the latent decodes bitwise like the whole-image decode', async () => {
  const latent = { dims: [2, 4, 8, 12], data: noise(2 * 4 * 8 * 12, 3) };
  const whole = await decodeLatent(runtime, vae, latent);
  const tiled = await decodeLatentTiled(runtime, vae, latent, { tileSize: 128, overlap: 16 });
  assert.deepEqual([tiled.batch, tiled.height, tiled.width], [2, 64, 96]);
  assert.ok(Buffer.from(tiled.data.buffer).equals(Buffer.from(whole.data.buffer)));
});

test('overlapping tiles blend into an image close to the whole-image decode', async () => {
  const latent = { dims: [1, 4, 24, 24], data: noise(4 * 24 * 24, 5).map((v) => v * 0.5) };
  const whole = await decodeLatent(runtime, vae, latent);
  const tiles: number[] = [];
  const tiled = await decodeLatentTiled(runtime, vae, latent, { tileSize: 96, overlap: 32, onTile: (done) => tiles.push(done) });
  assert.deepEqual(tiles, [1, 2, 3, 4, 5, 6, 7, 8, 9], '3×3 tiles of 12 cells with 4 overlapping over 24');
  let meanAbs = 0;
  for (let i = 0; i < whole.data.length; i++) meanAbs += Math.abs(whole.data[i] - tiled.data[i]);
  meanAbs /= whole.data.length;
  console.log(`# tiled vs whole decode, mean abs difference (0..1 pixels): ${meanAbs.toFixed(4)}`);
  assert.ok(meanAbs < 0.1, `mean abs difference ${meanAbs}`);
  assert.ok(tiled.data.every((v) => v >= 0 && v <= 1));
});

test('tile sizes that are not multiples of 8 are refused clearly', async () => {
  const latent = { dims: [1, 4, 8, 8], data: new Float32Array(256) };
  await assert.rejects(decodeLatentTiled(runtime, vae, latent, { tileSize: 100, overlap: 16 }), /multiples of 8/);
  await assert.rejects(decodeLatentTiled(runtime, vae, latent, { tileSize: 64, overlap: 64 }), /overlap < tile_size/);
});
