// The GPU graph variant (float16 activations and weights, float32 GroupNorm statistics) checked on the CPU
// against the diffusers goldens. Tolerance, documented in docs/architecture.md "Numerics": max|a−b| ≤
// 1e-2·(1+max|ref|) — float16 keeps 11 significant bits (~5e-4 relative per rounding), and a UNet chains ~100
// rounded ops. Measured on CPU: UNet out 4.3e-3 (bound 3.1e-2), recorded features ≤ 1.5e-2 (bound 4.5e-2),
// EAA 3.5e-3, text encoder 2.4e-3, VAE decoder 4.2e-3 — 3–10× below the bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession } from '../onnx/index.ts';
import type { Feed } from '../onnx/index.ts';
import { openCheckpoint } from './checkpoint/checkpoint.ts';
import { unetModelPath } from './unet/unet.ts';
import { sdModelPath } from './graph-models.ts';
import { SdRuntime } from './runtime.ts';
import { transformerBlocks } from './unet/unet-blocks.ts';
import { FIXTURE_CHECKPOINT, FIXTURE_DIR, goldens } from './test-fixture.ts';
import type { Golden } from './test-fixture.ts';
import { tempDir } from '../onnx/test-helpers.ts';

const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
const cacheDir = tempDir();
const feed = (g: Golden): Feed => ({ dims: g.dims, data: g.data });

function fp16Error(actual: Float32Array, ref: Float32Array): { error: number; bound: number } {
  let error = 0;
  let big = 0;
  for (let i = 0; i < ref.length; i++) {
    error = Math.max(error, Math.abs(actual[i] - ref[i]));
    big = Math.max(big, Math.abs(ref[i]));
  }
  return { error, bound: 1e-2 * (1 + big) };
}

async function run(path: string, feeds: Record<string, Feed>): Promise<Record<string, { data: Float32Array }>> {
  const session = await createSession(path, { device: 'cpu', threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

test('float16 UNet: out and recorded features within the fp16 tolerance of the goldens', async () => {
  const unet = goldens('unet.safetensors');
  const out = await run(unetModelPath(cacheDir, checkpoint, { compute: 'float16', recordFeatures: true }).path, {
    sample: feed(unet('sample')), timestep: feed(unet('timestep_float')), encoder_hidden_states: feed(unet('encoder_hidden_states')),
  });
  for (const name of ['out', 'features.down_blocks.0.attentions.0.self', 'features.up_blocks.3.attentions.2.cross']) {
    const { error, bound } = fp16Error(out[name].data, unet(name).data);
    assert.ok(error > 0 && error < bound, `${name}: fp16 error ${error} vs bound ${bound}`);
  }
});

test('float16 UNet with the trained-adapter EAA: within the fp16 tolerance of the EAA golden', async () => {
  const eaa = goldens('eaa.safetensors');
  const rows = (v: number): Feed => ({ dims: [2], data: Float32Array.of(v, v) });
  const feeds: Record<string, Feed> = {
    sample: feed(eaa('sample')), timestep: { dims: eaa('timestep').dims, data: eaa('timestep').data }, encoder_hidden_states: feed(eaa('encoder_hidden_states')),
    'eaa.sigma_self': rows(0.7), 'eaa.sigma_cross': rows(0.7), 'eaa.block_weights': { dims: [16], data: new Float32Array(16).fill(1) },
  };
  for (const { name } of transformerBlocks(checkpoint.config.unet)) {
    feeds[`eaa.${name}.self`] = feed(eaa(`features.${name}.self`));
    feeds[`eaa.${name}.cross`] = feed(eaa(`features.${name}.cross`));
  }
  const out = await run(unetModelPath(cacheDir, checkpoint, { compute: 'float16', eaa: { adapterPath: `${FIXTURE_DIR}eaa_adapter.safetensors` } }).path, feeds);
  const { error, bound } = fp16Error(out.out.data, eaa('out_self_cross').data);
  assert.ok(error > 0 && error < bound, `fp16 EAA error ${error} vs bound ${bound}`);
});

test('float16 text encoder and VAE decoder within the fp16 tolerance', async () => {
  const text = goldens('text_encoder.safetensors');
  const ids = text('input_ids');
  const clip = await run(sdModelPath(cacheDir, checkpoint, { kind: 'clip-text', options: { compute: 'float16' } }).path, { input_ids: { dims: ids.dims, data: ids.int64!, type: 'int64' } });
  const c = fp16Error(clip.last_hidden_state.data, text('last_hidden_state').data);
  assert.ok(c.error < c.bound, `clip fp16 error ${c.error}`);
  const vae = goldens('vae.safetensors');
  const z = vae('decoder_input');
  const latent = Float32Array.from(z.data, (x) => x * checkpoint.config.vae.scalingFactor);
  const decoded = await run(sdModelPath(cacheDir, checkpoint, { kind: 'vae-decoder', options: { compute: 'float16' } }).path, { latent: { dims: z.dims, data: latent } });
  const v = fp16Error(decoded.image.data, vae('decoder_output').data);
  assert.ok(v.error < v.bound, `vae fp16 error ${v.error}`);
});

test('the runtime builds float32 graphs for the CPU and float16 graphs for GPU providers', () => {
  assert.equal(new SdRuntime({ cacheDir, device: 'cpu' }).compute, 'float32');
  assert.equal(new SdRuntime({ cacheDir, device: 'webgpu' }).compute, 'float16');
  assert.equal(new SdRuntime({ cacheDir, device: 'cuda' }).compute, 'float16');
});
