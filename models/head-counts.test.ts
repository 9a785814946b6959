// Head counts that weight shapes cannot tell come from config files, never from a guess: models of our own
// making whose CLIP, UNet and ControlNet heads differ from the public fixture's (issue: general parity).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSession } from '../engine/onnx/index.ts';
import { openCheckpoint, CheckpointError } from '../engine/sd/checkpoint/checkpoint.ts';
import { openControlnet, resolveControlnetConfig } from '../engine/sd/controlnet/controlnet-checkpoint.ts';
import { sdModelPath } from '../engine/sd/graph-models.ts';
import { FIXTURE_DIR } from '../engine/sd/test-fixture.ts';
import { tempDir } from '../engine/onnx/test-helpers.ts';
import { generateCheckpoint, SIZES } from './generate-random-checkpoint.ts';
import type { Sizes } from './generate-random-checkpoint.ts';

/** A tiny model unlike the fixture: CLIP 48 wide with 4 heads (48/8 would say 6), UNet 4 heads per level. */
const UNLIKE_FIXTURE: Sizes = {
  ...SIZES.tiny,
  unet: { ...SIZES.tiny.unet, heads: [4, 4, 4, 4], crossAttentionDim: 48 },
  clip: { ...SIZES.tiny.clip, hiddenSize: 48, heads: 4, intermediateSize: 96 },
};

function generate(name: string): string {
  const out = join(tempDir(), name);
  generateCheckpoint({ size: 'tiny', dtype: 'fp32', out, seed: 11, sizes: UNLIKE_FIXTURE });
  return out;
}

async function lastHiddenState(path: string): Promise<Float32Array> {
  const checkpoint = openCheckpoint(path);
  const session = await createSession(sdModelPath(tempDir(), checkpoint, { kind: 'clip-text' }).path, { device: 'cpu', threads: 1 });
  try {
    const ids = BigInt64Array.from({ length: 77 }, (_, i) => BigInt(i === 0 ? 49406 : i < 6 ? 320 + i : 49407));
    const out = await session.run({ input_ids: { dims: [1, 77], data: ids, type: 'int64' } });
    return out.last_hidden_state.data as Float32Array;
  } finally {
    await session.release();
  }
}

test('CLIP and UNet heads are read from the LDM yaml beside the checkpoint', () => {
  const { config } = openCheckpoint(generate('unlike.safetensors'));
  assert.equal(config.clip.hiddenSize, 48);
  assert.equal(config.clip.heads, 4);
  assert.deepEqual(config.unet.heads, [4, 4, 4, 4]);
});

test('a non-standard CLIP width with no config file is refused, naming the file to add', () => {
  const path = generate('bare.safetensors');
  rmSync(path.replace(/\.safetensors$/, '.yaml'));
  assert.throws(() => openCheckpoint(path), (err: Error) => err instanceof CheckpointError
    && err.message.includes(path) && /48 wide/.test(err.message) && err.message.includes('bare.yaml') && /cond_stage_config\.params\.num_heads/.test(err.message));
});

test('the head count from the config is the one the text-encoder graph uses', async () => {
  const path = generate('four.safetensors');
  const four = await lastHiddenState(path);
  // The same weights declared with 6 heads (what width/8 would have guessed) give another network.
  const yaml = path.replace(/\.safetensors$/, '.yaml');
  const six = join(tempDir(), 'six.safetensors');
  copyFileSync(path, six);
  writeFileSync(six.replace(/\.safetensors$/, '.yaml'), (await import('node:fs')).readFileSync(yaml, 'utf8').replace(/(cond_stage_config:\n\s+params:\n\s+num_heads:) 4/, '$1 6'));
  assert.equal(openCheckpoint(six).config.clip.heads, 6);
  const sixOut = await lastHiddenState(six);
  let diff = 0;
  for (let i = 0; i < four.length; i++) diff = Math.max(diff, Math.abs(four[i] - sixOut[i]));
  assert.ok(diff > 1e-3, `4 and 6 heads gave the same output (max diff ${diff})`);
});

test('a ControlNet without a config takes the heads of the UNet it controls; its own yaml wins', () => {
  const dir = tempDir();
  const path = join(dir, 'net.safetensors');
  copyFileSync(join(FIXTURE_DIR, 'controlnet.safetensors'), path);
  const bare = openControlnet(path);
  assert.equal(bare.config.encoder.heads, undefined);
  assert.deepEqual(resolveControlnetConfig(bare, [4, 4, 4, 4]).encoder.heads, [4, 4, 4, 4]);
  writeFileSync(join(dir, 'net.yaml'), 'model:\n  params:\n    control_stage_config:\n      params:\n        num_heads: 2\n');
  assert.deepEqual(resolveControlnetConfig(openControlnet(path), [4, 4, 4, 4]).encoder.heads, [2, 2, 2, 2]);
});

test("the fixture folder's config.json gives the heads of the files it describes", () => {
  const fixture = openControlnet(join(FIXTURE_DIR, 'controlnet.safetensors'));
  assert.deepEqual(fixture.config.encoder.heads, [8, 8, 8, 8]);
  assert.equal(openCheckpoint(join(FIXTURE_DIR, 'checkpoint.safetensors')).config.clip.heads, 4);
});
