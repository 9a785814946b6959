// VAE files (VAELoader): the fixture checkpoint's VAE extracted as vae-ft-mse-style LDM keys (.safetensors
// and torch .pt), in the diffusers layout, and perturbed; other kinds of file are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSafetensors, writeSafetensors, createSession } from '../../onnx/index.ts';
import type { TensorToWrite, WeightSource } from '../../onnx/index.ts';
import { tempDir } from '../../onnx/test-helpers.ts';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import type { VaeModel } from '../checkpoint/checkpoint.ts';
import { openVaeFile, VaeFileError } from './vae-file.ts';
import { buildVaeDecoderGraph, buildVaeEncoderGraph } from './vae.ts';
import { sdModelPath } from '../graph-models.ts';
import { FIXTURE_CHECKPOINT, goldens, assertClose } from '../test-fixture.ts';
import { writeTorchCheckpoint } from '../checkpoint/test-torch-file.ts';

const PREFIX = 'first_stage_model.';

/** The fixture's VAE tensors without the checkpoint prefix, as standalone VAE files store them. */
function extractedVae(edit: (name: string, t: TensorToWrite) => TensorToWrite = (_n, t) => t): Record<string, TensorToWrite> {
  const src = openSafetensors(FIXTURE_CHECKPOINT);
  const out: Record<string, TensorToWrite> = {};
  for (const [key, info] of src.tensors) {
    if (!key.startsWith(PREFIX)) continue;
    const name = key.slice(PREFIX.length);
    out[name] = edit(name, { dtype: info.dtype, shape: info.shape, data: src.readBytes(key) });
  }
  return out;
}

async function decode(vae: VaeModel): Promise<Float32Array> {
  const z = goldens('vae.safetensors')('decoder_input');
  const session = await createSession(sdModelPath(tempDir(), vae, { kind: 'vae-decoder' }).path, { device: 'cpu', threads: 1 });
  const out = await session.run({ latent: { dims: z.dims, data: z.data.map((x) => x * 0.18215) } });
  await session.release();
  return out.image.data;
}

test('a VAE extracted from the fixture (LDM keys, .safetensors and torch .pt) decodes exactly as the checkpoint\'s VAE', async () => {
  const dir = tempDir();
  const tensors = extractedVae();
  assert.ok('decoder.up.0.block.0.conv1.weight' in tensors && 'post_quant_conv.weight' in tensors);
  writeSafetensors(join(dir, 'extracted.safetensors'), tensors);
  writeTorchCheckpoint(join(dir, 'extracted.pt'), tensors, 'state_dict');
  const reference = await decode(openCheckpoint(FIXTURE_CHECKPOINT));
  assertClose(reference, goldens('vae.safetensors')('decoder_output').data, 'checkpoint decoder');
  for (const file of ['extracted.safetensors', 'extracted.pt']) {
    const vae = openVaeFile(join(dir, file));
    assert.deepEqual(vae.config.vae, openCheckpoint(FIXTURE_CHECKPOINT).config.vae);
    assert.deepEqual([...await decode(vae)], [...reference], file);
  }
});

test('a diffusers-layout VAE file gives the same output; a perturbed VAE gives a different one', async () => {
  const dir = tempDir();
  const ldm = openCheckpoint(FIXTURE_CHECKPOINT);
  const src = openSafetensors(FIXTURE_CHECKPOINT);
  // The diffusers names the VAE graphs read, written under those names (attention as Linear [C,C]).
  const names = new Set<string>();
  const recording: WeightSource = { has: (n) => ldm.vae.has(n), weight: (n) => { names.add(n); return ldm.vae.weight(n); } };
  buildVaeEncoderGraph({ ...ldm, vae: recording });
  buildVaeDecoderGraph({ ...ldm, vae: recording });
  const tensors: Record<string, TensorToWrite> = {};
  for (const n of names) {
    const ref = ldm.vae.weight(n);
    const key = [...src.tensors.values()].find((t) => t.offset === ref.offset)!.name;
    tensors[n] = { dtype: 'F32', shape: ref.shape, data: src.readBytes(key) };
  }
  assert.ok('decoder.up_blocks.0.resnets.0.conv1.weight' in tensors);
  writeSafetensors(join(dir, 'diffusion_pytorch_model.safetensors'), tensors);
  const reference = await decode(ldm);
  assert.deepEqual([...await decode(openVaeFile(join(dir, 'diffusion_pytorch_model.safetensors')))], [...reference]);

  const perturbed = extractedVae((name, t) => {
    if (name !== 'decoder.conv_out.bias') return t;
    const bias = new Float32Array(t.data.slice().buffer);
    return { ...t, data: bias.map((x, i) => x + 0.05 * (i + 1)) };
  });
  writeSafetensors(join(dir, 'perturbed.safetensors'), perturbed);
  const other = await decode(openVaeFile(join(dir, 'perturbed.safetensors')));
  let diff = 0;
  for (let i = 0; i < other.length; i++) diff = Math.max(diff, Math.abs(other[i] - reference[i]));
  assert.ok(diff > 0.04, `perturbed VAE output differs by ${diff}`);
});

test('files that are not SD1.5 VAEs are refused saying what they are', () => {
  const dir = tempDir();
  const f32 = (shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  const refused = (name: string, tensors: Record<string, TensorToWrite>, pattern: RegExp) => {
    const path = join(dir, name);
    writeSafetensors(path, tensors);
    assert.throws(() => openVaeFile(path), (e: Error) => e instanceof VaeFileError && e.message.includes(path) && pattern.test(e.message), name);
  };
  refused('lora.safetensors', { 'lora_unet_down_blocks_0.lora_up.weight': f32([2, 2]) }, /is a LoRA/);
  refused('taesd_decoder.safetensors', { '1.weight': f32([2]), '3.conv.0.weight': f32([2]) }, /TAESD/);
  refused('unet.safetensors', { 'model.diffusion_model.input_blocks.0.0.weight': f32([2]) }, /UNet/);
  refused('other.safetensors', { 'foo.weight': f32([2]) }, /no VAE tensors.*foo\.weight/);
  // A 16-channel VAE (SD3 / Flux): the layout of an SD one with wider latents.
  const wide = extractedVae((name, t) => (name === 'post_quant_conv.weight' ? f32([16, 16, 1, 1]) : t));
  refused('flux-ae.safetensors', wide, /16 latent channels/);
});
