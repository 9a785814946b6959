// Inv-Adapter weights: the aggregation matrix (adaptive average pooling / nearest), the initial adapter file of
// §6, shape checks, and the additive form with that file behaving as derived (x + to_out((1+σ)·O_s)) — which is
// why the training-free mode is reference attention instead (eaa-reference.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors, writeSafetensors, createSession } from '../../onnx/index.ts';
import type { Feed, TensorToWrite, StDType } from '../../onnx/index.ts';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import { unetModelPath } from '../unet/unet.ts';
import { transformerBlocks } from '../unet/unet-blocks.ts';
import { EaaAdapterError } from './unet-eaa.ts';
import { aggregationMatrix, referenceGridSide, trainingFreeAdapter, loadInvAdapter, InvAdapterError } from './inv-adapter.ts';
import { readWeightBytes, unetIdentity } from './inv-adapter-weights.ts';
import { FIXTURE_CHECKPOINT, FIXTURE_DIR, goldens, assertClose, writeFixtureConfigBeside } from '../test-fixture.ts';
import { tempDir, noise } from '../../onnx/test-helpers.ts';

const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
const cacheDir = tempDir();

test('aggregation: adaptive average pooling bins as PyTorch (4→2, 3→2 overlapping), nearest when growing', () => {
  const a42 = aggregationMatrix(4, 2); // [4, 16]: each output averages a 2×2 block
  assert.equal(a42.length, 4 * 16);
  const row0 = [...a42.subarray(0, 16)];
  assert.deepEqual(row0.map((v, i) => (v > 0 ? i : -1)).filter((i) => i >= 0), [0, 1, 4, 5]);
  assert.ok(row0.filter((v) => v > 0).every((v) => v === 0.25));
  // 3→2: bins [0,2) and [1,3) per axis (start ⌊i·3/2⌋, end ⌈(i+1)·3/2⌉), the middle cell shared.
  const a32 = aggregationMatrix(3, 2);
  const last = [...a32.subarray(3 * 9, 4 * 9)];
  assert.deepEqual(last.map((v, i) => (v > 0 ? i : -1)).filter((i) => i >= 0), [4, 5, 7, 8]);
  // 2→4 nearest: output (y, x) takes input (⌊y/2⌋, ⌊x/2⌋); 1→4: every output is the one token.
  const a24 = aggregationMatrix(2, 4);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) {
    const row = [...a24.subarray((y * 4 + x) * 4, (y * 4 + x + 1) * 4)];
    assert.deepEqual(row, [0, 1, 2, 3].map((i) => (i === Math.floor(y / 2) * 2 + Math.floor(x / 2) ? 1 : 0)));
  }
  assert.ok(aggregationMatrix(1, 4).every((v) => v === 1));
  assert.ok(aggregationMatrix(3, 3).every((v, i) => v === (i % 10 === 0 ? 1 : 0)), 'same size: identity');
  // Every row sums to 1 (an average).
  const a6432 = aggregationMatrix(64, 16);
  for (let r = 0; r < 256; r++) assert.ok(Math.abs(a6432.subarray(r * 4096, (r + 1) * 4096).reduce((s, v) => s + v, 0) - 1) < 1e-5);
});

test('reference grid per level: 512 px → 64, 32, 16, 8 (SD1.5 s = 4096 … 64); odd sizes round up like the UNet', () => {
  assert.deepEqual([0, 1, 2, 3].map((l) => referenceGridSide(512, l)), [64, 32, 16, 8]);
  assert.deepEqual([0, 1, 2, 3].map((l) => referenceGridSide(72, l)), [9, 5, 3, 2]);
});

test('initial adapter (§6, start of training): §5 file with the block\'s own attn1 weights, pooling matrices, zero bias; refuses bad options', () => {
  const adapter = trainingFreeAdapter(cacheDir, checkpoint, { tokens: 16, referenceSize: 64 });
  assert.equal(adapter.tokens, 16);
  assert.equal(adapter.label, 'initial adapter (untrained)');
  assert.equal(adapter.mode, 'trained', 'an adapter file: the additive form of §3');
  const file = openSafetensors(adapter.path);
  assert.equal(file.metadata.format, 'inv-adapter');
  assert.equal(file.metadata.tokens, '16');
  assert.equal(file.metadata.reference_size, '64');
  const fixtureAdapter = loadInvAdapter(join(FIXTURE_DIR, 'eaa_adapter.safetensors'), checkpoint, 'fixture');
  assert.deepEqual(adapter.referenceTokens, fixtureAdapter.referenceTokens, 'same s per block as the fixture\'s 64-px adapter');
  for (const { name } of transformerBlocks(checkpoint.config.unet)) {
    for (const side of ['self', 'cross']) {
      for (const proj of ['to_k', 'to_v']) {
        const own = readWeightBytes(checkpoint.unet.weight(`${name}.transformer_blocks.0.attn1.${proj}.weight`));
        assert.ok(Buffer.from(file.readBytes(`${name}.${side}.${proj}.weight`)).equals(Buffer.from(own)), `${name}.${side}.${proj}`);
      }
    }
    assert.ok(file.read(`${name}.cross.aggregate.bias`).every((v) => v === 0));
  }
  const mid = file.read('mid_block.attentions.0.cross.aggregate.weight');
  assert.deepEqual(file.tensors.get('mid_block.attentions.0.cross.aggregate.weight')?.shape, [16, 1], '1×1 mid grid upsampled to 4×4');
  assert.ok(mid.every((v) => v === 1));
  // The same options reuse the written file.
  assert.equal(trainingFreeAdapter(cacheDir, checkpoint, { tokens: 16, referenceSize: 64 }).path, adapter.path);
  assert.throws(() => trainingFreeAdapter(cacheDir, checkpoint, { tokens: 15, referenceSize: 64 }), (e: Error) => e instanceof InvAdapterError && /perfect square.*15/.test(e.message));
  assert.throws(() => trainingFreeAdapter(cacheDir, checkpoint, { tokens: 16, referenceSize: 60 }), (e: Error) => e instanceof InvAdapterError && /multiple of 8.*60/.test(e.message));
});

test('an adapter file with a wrong shape is refused, naming the first bad key', () => {
  const source = openSafetensors(join(FIXTURE_DIR, 'eaa_adapter.safetensors'));
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, info] of source.tensors) tensors[name] = { dtype: info.dtype as StDType, shape: info.shape, data: source.readBytes(name) };
  const bad = 'down_blocks.1.attentions.0.self.to_v.weight';
  tensors[bad] = { dtype: 'F32', shape: [16, 16], data: new Float32Array(256) };
  const path = join(cacheDir, 'bad-adapter.safetensors');
  writeSafetensors(path, tensors, source.metadata);
  assert.throws(() => loadInvAdapter(path, checkpoint, 'bad-adapter.safetensors'), (e: Error) =>
    e instanceof EaaAdapterError && e.message.includes(`'${bad}' is [16,16]`) && e.message.includes('[32,32]'));
});

/** A copy of the tiny checkpoint with every attn1.to_out.0.weight × factor (bias unchanged). */
function scaledSelfOutCheckpoint(factor: number): string {
  const dir = tempDir();
  const file = openSafetensors(FIXTURE_CHECKPOINT);
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, info] of file.tensors) {
    const scaled = /attn1\.to_out\.0\.weight$/.test(name) && name.startsWith('model.diffusion_model.');
    tensors[name] = scaled
      ? { dtype: 'F32', shape: info.shape, data: file.read(name).map((v) => Math.fround(v * factor)) }
      : { dtype: info.dtype as StDType, shape: info.shape, data: file.readBytes(name) };
  }
  writeSafetensors(join(dir, 'scaled.safetensors'), tensors, file.metadata);
  writeFixtureConfigBeside(join(dir, 'scaled.safetensors'));
  copyFileSync(join(FIXTURE_DIR, 'original_config.yaml'), join(dir, 'original_config.yaml'));
  return join(dir, 'scaled.safetensors');
}

async function runOnce(modelPath: string, feeds: Record<string, Feed>) {
  const session = await createSession(modelPath, { device: 'cpu', threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

test('additive form (adapter files) with the initial adapter: with the generation\'s own norm1 output as F_s it is the UNet with to_out scaled by (1+σ)', async () => {
  const sigma = 0.7;
  const scaled = openCheckpoint(scaledSelfOutCheckpoint(1 + sigma));
  const unet = goldens('unet.safetensors');
  const text = unet('encoder_hidden_states');
  const base: Record<string, Feed> = {
    sample: { dims: [1, 4, 8, 8], data: noise(256, 7) },
    timestep: { dims: [1], data: Float32Array.of(421) },
    encoder_hidden_states: { dims: [1, 77, 32], data: text.data.slice(0, 77 * 32) },
  };
  const modified = await runOnce(unetModelPath(cacheDir, scaled, { recordFeatures: true }).path, base);
  const adapter = trainingFreeAdapter(cacheDir, checkpoint, { tokens: 16, referenceSize: 64 });
  const feeds: Record<string, Feed> = { ...base, 'eaa.sigma_self': { dims: [1], data: Float32Array.of(sigma) }, 'eaa.sigma_cross': { dims: [1], data: Float32Array.of(0) }, 'eaa.block_weights': { dims: [16], data: new Float32Array(16).fill(1) } };
  for (const { name } of transformerBlocks(checkpoint.config.unet)) {
    feeds[`eaa.${name}.self`] = modified[`features.${name}.self`];
    feeds[`eaa.${name}.cross`] = { dims: modified[`features.${name}.cross`].dims, data: noise(modified[`features.${name}.cross`].data.length, 3) };
  }
  const patched = await runOnce(unetModelPath(cacheDir, checkpoint, { eaa: { adapterPath: adapter.path } }).path, feeds);
  assertClose(patched.out.data, modified.out.data, 'EAA self side vs (1+σ)·to_out');
  // And it is not trivially equal to the unpatched model.
  const plain = await runOnce(unetModelPath(cacheDir, checkpoint, {}).path, base);
  assert.throws(() => assertClose(plain.out.data, modified.out.data, 'plain'));
});

test('model identity follows the weights, not the file: a copy elsewhere matches, a changed to_out does not', () => {
  const dir = tempDir();
  copyFileSync(FIXTURE_CHECKPOINT, join(dir, 'copy.safetensors'));
  writeFixtureConfigBeside(join(dir, 'copy.safetensors'));
  copyFileSync(join(FIXTURE_DIR, 'original_config.yaml'), join(dir, 'original_config.yaml'));
  const copy = openCheckpoint(join(dir, 'copy.safetensors'));
  assert.notEqual(copy.fingerprint, checkpoint.fingerprint);
  assert.equal(unetIdentity(copy), unetIdentity(checkpoint));
  assert.notEqual(unetIdentity(openCheckpoint(scaledSelfOutCheckpoint(1.5))), unetIdentity(checkpoint));
});
