// The random-checkpoint generator: its tiny output has exactly the fixture checkpoint's keys, shapes and
// architecture, and an fp16 file runs through the UNet graph (fp16 weights cast to float32 in-graph).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSafetensors, createSession } from '../engine/onnx/index.ts';
import { openCheckpoint } from '../engine/sd/checkpoint/checkpoint.ts';
import { unetModelPath } from '../engine/sd/unet/unet.ts';
import { FIXTURE_CHECKPOINT } from '../engine/sd/test-fixture.ts';
import { tempDir, noise } from '../engine/onnx/test-helpers.ts';
import { generateCheckpoint, ldmParams, SIZES } from './generate-random-checkpoint.ts';

test('tiny random checkpoint: same keys and shapes as the fixture checkpoint, same inferred config', () => {
  const out = join(tempDir(), 'tiny.safetensors');
  generateCheckpoint({ size: 'tiny', dtype: 'fp32', out, seed: 3 });
  const generated = openSafetensors(out);
  const fixture = openSafetensors(FIXTURE_CHECKPOINT);
  const shapes = (f: typeof fixture) => new Map([...f.tensors].map(([k, t]) => [k, `${t.dtype}[${t.shape.join(',')}]`]));
  assert.deepEqual(shapes(generated), shapes(fixture));
  const alphas = generated.read('alphas_cumprod');
  const reference = fixture.read('alphas_cumprod');
  assert.ok(Math.abs(alphas[999] - reference[999]) < 1e-7 && Math.abs(alphas[0] - reference[0]) < 1e-7);
  assert.deepEqual(openCheckpoint(out).config, openCheckpoint(FIXTURE_CHECKPOINT).config);
});

test('full SD1.5 key set: 859,520,964 UNet + 83,653,863 VAE + 123,060,480 CLIP parameters (sd15-reference.md §1.1)', () => {
  const params = ldmParams(SIZES.full);
  const count = (prefix: string) => params.filter((p) => p.name.startsWith(prefix)).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(count('model.diffusion_model.'), 859_520_964);
  assert.equal(count('first_stage_model.'), 83_653_863);
  assert.equal(count('cond_stage_model.'), 123_060_480);
});

test('an fp16 random checkpoint runs through the UNet graph', async () => {
  const dir = tempDir();
  const out = join(dir, 'tiny16.safetensors');
  generateCheckpoint({ size: 'tiny', dtype: 'fp16', out, seed: 4 });
  const checkpoint = openCheckpoint(out);
  const session = await createSession(unetModelPath(dir, checkpoint).path, { device: 'cpu', threads: 1 });
  try {
    const result = await session.run({
      sample: { dims: [2, 4, 8, 8], data: noise(512, 1) },
      timestep: { dims: [2], data: Float32Array.of(999, 1) },
      encoder_hidden_states: { dims: [2, 77, 32], data: noise(2 * 77 * 32, 2) },
    });
    assert.deepEqual(result.out.dims, [2, 4, 8, 8]);
    assert.ok(result.out.data.every(Number.isFinite));
  } finally {
    await session.release();
  }
});

test("a generated tiny ControlNet has the fixture ControlNet's architecture and fits the tiny UNet", async () => {
  const { generateControlnet } = await import('./generate-random-checkpoint.ts');
  const { openControlnet } = await import('../engine/sd/controlnet/controlnet-checkpoint.ts');
  const out = join(tempDir(), 'net.safetensors');
  generateControlnet({ size: 'tiny', dtype: 'fp16', out, seed: 5 });
  const generated = openControlnet(out);
  const fixture = openControlnet(new URL('../test/fixtures/sd15-tiny/controlnet.safetensors', import.meta.url).pathname);
  assert.equal(generated.layout, 'diffusers');
  assert.deepEqual({ ...generated.config, encoder: { ...generated.config.encoder, heads: undefined } }, { ...fixture.config, encoder: { ...fixture.config.encoder, heads: undefined } });
});
