// Model merging parity: a merged model's UNet / text encoder equal the networks of a checkpoint whose weights were
// merged by hand (a·W1 + b·W2), for ModelMergeSimple, ModelMergeSubtract, a merge of a merge, and CLIPMergeSimple.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSafetensors, writeSafetensors, createSession } from '../../onnx/index.ts';
import type { TensorToWrite, Feed } from '../../onnx/index.ts';
import { tempDir, noise } from '../../onnx/test-helpers.ts';
import { openCheckpoint } from './checkpoint.ts';
import type { Checkpoint } from './checkpoint.ts';
import { mergeNetwork, ModelMergeError } from './model-merge.ts';
import { openLora, loraCheckpoint } from '../lora/lora.ts';
import { unetModelPath } from '../unet/unet.ts';
import { sdModelPath } from '../graph-models.ts';
import { FIXTURE_CHECKPOINT, goldens, assertClose, writeFixtureConfigBeside } from '../test-fixture.ts';

const src = openSafetensors(FIXTURE_CHECKPOINT);
const cacheDir = tempDir();

/** A copy of the fixture whose float tensors are f(key, values); returns the opened checkpoint. */
function rewritten(f: (key: string, w: Float32Array) => Float32Array): Checkpoint {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [key, info] of src.tensors) {
    tensors[key] = info.dtype === 'F32' ? { dtype: 'F32', shape: info.shape, data: f(key, src.read(key)) } : { dtype: info.dtype, shape: info.shape, data: src.readBytes(key) };
  }
  const path = join(tempDir(), 'model.safetensors');
  writeSafetensors(path, tensors);
  writeFixtureConfigBeside(path);
  return openCheckpoint(path);
}

const base = openCheckpoint(FIXTURE_CHECKPOINT);
const other = rewritten((key, w) => { const n = noise(w.length, key.length); return w.map((x, i) => x + 0.05 * n[i]); });
const otherSrc = openSafetensors(other.path);
const byHand = (prefix: string, a: number, b: number) => rewritten((key, w) => {
  if (!key.startsWith(prefix)) return w;
  const w2 = otherSrc.read(key);
  return w.map((x, i) => a * x + b * w2[i]);
});

const unetGolden = goldens('unet.safetensors');
async function runUnet(checkpoint: Checkpoint): Promise<Float32Array> {
  const session = await createSession(unetModelPath(cacheDir, checkpoint, {}).path, { device: 'cpu', threads: 1 });
  const feeds: Record<string, Feed> = Object.fromEntries(['sample', 'timestep', 'encoder_hidden_states'].map((k) => [k, { dims: unetGolden(k).dims, data: unetGolden(k).data }]));
  const out = await session.run(feeds);
  await session.release();
  return out[Object.keys(out)[0]].data;
}
async function runClip(checkpoint: Checkpoint): Promise<Float32Array> {
  const ids = goldens('text_encoder.safetensors')('input_ids');
  const session = await createSession(sdModelPath(cacheDir, checkpoint, { kind: 'clip-text' }).path, { device: 'cpu', threads: 1 });
  const out = await session.run({ input_ids: { dims: ids.dims, data: ids.int64!, type: 'int64' } });
  await session.release();
  return out.last_hidden_state.data;
}

test('merged UNets (simple, subtract, a merge of a merge) equal hand-merged weights', async () => {
  const simple = await runUnet(mergeNetwork(base, other, 'unet', 0.3, 0.7));
  assertClose(simple, await runUnet(byHand('model.diffusion_model.', 0.3, 0.7)), 'ModelMergeSimple 0.3');
  const plain = await runUnet(base);
  assert.ok(plain.some((x, i) => Math.abs(x - simple[i]) > 1e-3), 'the merge changes the output');
  assertClose(await runUnet(mergeNetwork(base, other, 'unet', 0.7, -0.7)), await runUnet(byHand('model.diffusion_model.', 0.7, -0.7)), 'ModelMergeSubtract 0.7');
  const nested = mergeNetwork(mergeNetwork(base, other, 'unet', 0.5, 0.5), other, 'unet', 0.5, 0.5);
  assertClose(await runUnet(nested), await runUnet(byHand('model.diffusion_model.', 0.25, 0.75)), 'merge of a merge');
});

test('CLIPMergeSimple merges the text encoder; LoRAs go after merges, not before', async () => {
  assertClose(await runClip(mergeNetwork(base, other, 'textEncoder', 0.4, 0.6)), await runClip(byHand('cond_stage_model.', 0.4, 0.6)), 'CLIPMergeSimple 0.4');
  const q = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q';
  const path = join(tempDir(), 'lora.safetensors');
  writeSafetensors(path, { [`${q}.lora_down.weight`]: { dtype: 'F32', shape: [4, 32], data: noise(128, 1) }, [`${q}.lora_up.weight`]: { dtype: 'F32', shape: [32, 4], data: noise(128, 2) } });
  const lora = openLora(path, base);
  const withLora = loraCheckpoint({ base, unet: [{ lora, strength: 1 }], textEncoder: [] });
  assert.throws(() => mergeNetwork(withLora, other, 'unet', 0.5, 0.5), (e: Error) => e instanceof ModelMergeError && /apply LoRAs after merging/.test(e.message));
  const merged = mergeNetwork(base, other, 'unet', 0.5, 0.5);
  const mergedThenLora = loraCheckpoint({ base: merged, unet: [{ lora: openLora(path, merged), strength: 1 }], textEncoder: [] });
  assert.ok(unetModelPath(cacheDir, mergedThenLora, {}).path !== unetModelPath(cacheDir, merged, {}).path);
});
