// Checkpoint detection, config inference and refusals: the sd15-tiny fixture, a diffusers-folder
// copy of it, and broken or foreign files written from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors, writeSafetensors, createSession } from '../../onnx/index.ts';
import type { TensorToWrite, WeightSource } from '../../onnx/index.ts';
import { openCheckpoint, CheckpointError } from './checkpoint.ts';
import { buildClipTextGraph } from '../clip/clip-text.ts';
import { buildVaeDecoderGraph, buildVaeEncoderGraph } from '../vae/vae.ts';
import { sdModelPath } from '../graph-models.ts';
import { inferUnetConfig } from './config.ts';
import { FIXTURE_CHECKPOINT, FIXTURE_DIR, goldens, assertClose, writeFixtureConfigBeside } from '../test-fixture.ts';
import { tempDir } from '../../onnx/test-helpers.ts';

const fixtureConfig = JSON.parse(readFileSync(join(FIXTURE_DIR, 'config.json'), 'utf8'));

/** Writes a copy of the fixture checkpoint with tensors edited (null drops one). */
function rewriteFixture(edit: (name: string, t: TensorToWrite) => TensorToWrite | null, name = 'model.safetensors'): string {
  const src = openSafetensors(FIXTURE_CHECKPOINT);
  const tensors: Record<string, TensorToWrite> = {};
  for (const [key, info] of src.tensors) {
    const edited = edit(key, { dtype: info.dtype, shape: info.shape, data: src.readBytes(key) });
    if (edited) tensors[key] = edited;
  }
  const path = join(tempDir(), name);
  writeSafetensors(path, tensors);
  writeFixtureConfigBeside(path);
  return path;
}

test('the fixture is an LDM checkpoint with the architecture of its config.json', () => {
  const { layout, config } = openCheckpoint(FIXTURE_CHECKPOINT);
  assert.equal(layout, 'ldm');
  assert.deepEqual(config.unet.blockOutChannels, fixtureConfig.unet.block_out_channels);
  assert.deepEqual(config.unet.attentionLevels, [true, true, true, false]);
  assert.deepEqual(config.unet.heads, [8, 8, 8, 8]);
  assert.equal(config.unet.crossAttentionDim, fixtureConfig.unet.context_dim);
  assert.equal(config.unet.timeEmbedDim, fixtureConfig.unet.time_embed_dim);
  assert.equal(config.unet.layersPerBlock, 2);
  assert.deepEqual(config.vae.blockOutChannels, fixtureConfig.vae.block_out_channels);
  assert.equal(config.vae.scalingFactor, 0.18215);
  const clip = fixtureConfig.clip_text;
  assert.deepEqual(
    [config.clip.hiddenSize, config.clip.layers, config.clip.heads, config.clip.intermediateSize, config.clip.vocabSize],
    [clip.hidden_size, clip.num_hidden_layers, clip.num_attention_heads, clip.intermediate_size, clip.vocab_size],
  );
});

test('a diffusers folder copy of the fixture opens and gives the same CLIP and VAE outputs', async () => {
  const ldm = openCheckpoint(FIXTURE_CHECKPOINT);
  const src = openSafetensors(FIXTURE_CHECKPOINT);
  // Record the diffusers names the builders and config inference ask for, then write them out.
  const recordNames = (source: WeightSource, names: Set<string>): WeightSource => ({
    has: (n) => { const h = source.has(n); if (h) names.add(n); return h; },
    weight: (n) => { names.add(n); return source.weight(n); },
  });
  const used = { unet: new Set<string>(), vae: new Set<string>(), textEncoder: new Set<string>() };
  const recorded = { ...ldm, unet: recordNames(ldm.unet, used.unet), vae: recordNames(ldm.vae, used.vae), textEncoder: recordNames(ldm.textEncoder, used.textEncoder) };
  buildClipTextGraph(recorded);
  buildVaeEncoderGraph(recorded);
  buildVaeDecoderGraph(recorded);
  inferUnetConfig(recorded.unet, {}); // the UNet graph is not built here: keep what config inference reads
  const folder = tempDir();
  const write = (sub: string, file: string, names: Set<string>, source: WeightSource) => {
    mkdirSync(join(folder, sub));
    const tensors: Record<string, TensorToWrite> = {};
    for (const n of names) {
      const ref = source.weight(n);
      const key = [...src.tensors.values()].find((t) => t.offset === ref.offset)!.name;
      tensors[n] = { dtype: 'F32', shape: ref.shape, data: src.readBytes(key) };
    }
    writeSafetensors(join(folder, sub, file), tensors);
  };
  write('unet', 'diffusion_pytorch_model.safetensors', used.unet, ldm.unet);
  write('vae', 'diffusion_pytorch_model.safetensors', used.vae, ldm.vae);
  write('text_encoder', 'model.safetensors', used.textEncoder, ldm.textEncoder);
  writeFileSync(join(folder, 'text_encoder', 'config.json'), JSON.stringify({ num_attention_heads: 4 }));
  writeFileSync(join(folder, 'model_index.json'), '{}');

  const diffusers = openCheckpoint(folder);
  assert.equal(diffusers.layout, 'diffusers');
  assert.deepEqual(diffusers.config, ldm.config);
  const golden = goldens('text_encoder.safetensors');
  const session = await createSession(sdModelPath(tempDir(), diffusers, { kind: 'clip-text' }).path, { device: 'cpu', threads: 1 });
  const ids = golden('input_ids');
  const out = await session.run({ input_ids: { dims: ids.dims, data: ids.int64!, type: 'int64' } });
  assertClose(out.last_hidden_state.data, golden('last_hidden_state').data, 'diffusers-layout last_hidden_state');
  await session.release();
  const vae = goldens('vae.safetensors');
  const decoder = await createSession(sdModelPath(tempDir(), diffusers, { kind: 'vae-decoder' }).path, { device: 'cpu', threads: 1 });
  const z = vae('decoder_input');
  const image = await decoder.run({ latent: { dims: z.dims, data: z.data.map((x) => x * 0.18215) } });
  assertClose(image.image.data, vae('decoder_output').data, 'diffusers-layout decoder_output');
  await decoder.release();
});

test('a missing file is named', () => {
  assert.throws(() => openCheckpoint('/nonexistent/models/sd15.safetensors'), (err: Error) =>
    err instanceof CheckpointError && err.message.includes('/nonexistent/models/sd15.safetensors') && /does not exist/.test(err.message));
});

test('SDXL, SD2 and ControlNet files are refused saying what they are', () => {
  const fake = (keys: string[]) => {
    const path = join(tempDir(), 'fake.safetensors');
    writeSafetensors(path, Object.fromEntries(keys.map((k) => [k, { dtype: 'F16' as const, shape: [1], data: new Uint16Array(1) }])));
    return path;
  };
  assert.throws(() => openCheckpoint(fake(['conditioner.embedders.0.transformer.text_model.final_layer_norm.weight', 'model.diffusion_model.label_emb.0.0.weight'])),
    /is an SDXL checkpoint.*Stable Diffusion 1\.5 checkpoints only/);
  assert.throws(() => openCheckpoint(fake(['cond_stage_model.model.token_embedding.weight', 'model.diffusion_model.out.2.weight'])), /Stable Diffusion 2\.x/);
  assert.throws(() => openCheckpoint(fake(['control_model.zero_convs.0.0.weight'])), /is a ControlNet.*models\/controlnet/);
  assert.throws(() => openCheckpoint(fake(['foo.weight'])), /has no UNet tensors \(model\.diffusion_model\.\*\); it holds e\.g\. foo\.weight/);
});

test('inpainting models (9-channel conv_in) open; other input widths and v-prediction models are refused', () => {
  const widen = (channels: number) => rewriteFixture((name, t) => name === 'model.diffusion_model.input_blocks.0.0.weight'
    ? { dtype: 'F32', shape: [32, channels, 3, 3], data: new Float32Array(32 * channels * 9) } : t);
  const inpainting = openCheckpoint(widen(9)).config.unet;
  assert.deepEqual([inpainting.inChannels, inpainting.outChannels], [9, 4]);
  assert.throws(() => openCheckpoint(widen(8)), /has a UNet with 8 input channels \(SD1\.5 has 4, its inpainting models 9\)/);
  const v = rewriteFixture((_, t) => t, 'v-model.safetensors');
  const yaml = v.replace(/\.safetensors$/, '.yaml');
  writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('\n  params:\n', '\n  params:\n    parameterization: "v"\n'));
  assert.throws(() => openCheckpoint(v), /is a v-prediction model/);
});

test('a missing key and a wrong dtype fail the graph build with the key named', () => {
  const missing = openCheckpoint(rewriteFixture((name, t) => (name === 'first_stage_model.decoder.conv_out.weight' ? null : t)));
  assert.throws(() => buildVaeDecoderGraph(missing), (err: Error) =>
    err instanceof CheckpointError && err.message.includes("has no tensor 'first_stage_model.decoder.conv_out.weight'") && err.message.includes("VAE weight 'decoder.conv_out.weight'"));
  const wrongType = openCheckpoint(rewriteFixture((name, t) => (name === 'cond_stage_model.transformer.text_model.final_layer_norm.weight'
    ? { dtype: 'I32', shape: t.shape, data: new Int32Array(32) } : t)));
  assert.throws(() => buildClipTextGraph(wrongType), /weight 'text_model\.final_layer_norm\.weight' has dtype int32; a floating type \(F32, F16 or BF16\) is needed/);
});

test('a mixed fp16/fp32 checkpoint (fp16 text encoder) is cast in-graph', async () => {
  const { f32ToF16 } = await import('../../onnx/half.ts');
  const path = rewriteFixture((name, t) => {
    if (!name.startsWith('cond_stage_model.') || t.dtype !== 'F32') return t;
    const f = new Float32Array((t.data as Uint8Array).slice().buffer);
    return { dtype: 'F16', shape: t.shape, data: Uint16Array.from(f, f32ToF16) };
  });
  const checkpoint = openCheckpoint(path);
  const session = await createSession(sdModelPath(tempDir(), checkpoint, { kind: 'clip-text' }).path, { device: 'cpu', threads: 1 });
  const golden = goldens('text_encoder.safetensors');
  const ids = golden('input_ids');
  const out = await session.run({ input_ids: { dims: ids.dims, data: ids.int64!, type: 'int64' } });
  await session.release();
  // The goldens use the fp32 weights; rounding them to fp16 moves the output by ~1e-3.
  const ref = golden('last_hidden_state').data;
  let diff = 0;
  for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(out.last_hidden_state.data[i] - ref[i]));
  assert.ok(diff > 0 && diff < 2e-2, `max diff ${diff}`);
});
