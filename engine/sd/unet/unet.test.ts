// Parity of the UNet graph and its variants with the sd15-tiny goldens (unet.safetensors, eaa.safetensors,
// unet_controlnet.safetensors), built through the user path: open checkpoint → graph cache → session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession } from '../../onnx/index.ts';
import type { Feed, ModelSession } from '../../onnx/index.ts';
import type { Tensor } from '../../tensor/index.ts';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import { unetModelPath } from './unet.ts';
import type { UnetVariant } from './unet.ts';
import { transformerBlocks } from './unet-blocks.ts';
import { EaaAdapterError } from '../inv-adapter/unet-eaa.ts';
import { FIXTURE_CHECKPOINT, FIXTURE_DIR, goldens, assertClose, writeInpaintingFixture } from '../test-fixture.ts';
import type { Golden } from '../test-fixture.ts';
import { tempDir, noise } from '../../onnx/test-helpers.ts';

const unetGolden = goldens('unet.safetensors');
const eaaGolden = goldens('eaa.safetensors');
const ADAPTER = `${FIXTURE_DIR}eaa_adapter.safetensors`;
const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
const cacheDir = tempDir();

const feed = (g: Golden): Feed => ({ dims: g.dims, data: g.data });

/** Runs the UNet graph for `variant` once on `feeds`. */
async function runUnet(variant: UnetVariant, feeds: Record<string, Feed>): Promise<Record<string, Tensor>> {
  const session: ModelSession = await createSession(unetModelPath(cacheDir, checkpoint, variant).path, { device: 'cpu', threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function unetFeeds(golden: (name: string) => Golden): Record<string, Feed> {
  const timestep = golden('timestep');
  return {
    sample: feed(golden('sample')),
    // Goldens store int64 timesteps; the graph takes float32 (exact for integers).
    timestep: { dims: timestep.dims, data: timestep.data },
    encoder_hidden_states: feed(golden('encoder_hidden_states')),
  };
}

function bitwiseEqual(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

test('UNet: out and all 32 recorded features match the goldens; plain and recording graphs agree bitwise', async () => {
  const feeds = { ...unetFeeds(unetGolden), timestep: feed(unetGolden('timestep_float')) };
  const recorded = await runUnet({ recordFeatures: true }, feeds);
  assert.deepEqual(recorded.out.dims, [2, 4, 8, 8]);
  assertClose(recorded.out.data, unetGolden('out').data, 'out');
  const blocks = transformerBlocks(checkpoint.config.unet);
  assert.equal(blocks.length, 16);
  const names = blocks.flatMap((b) => [`features.${b.name}.self`, `features.${b.name}.cross`]);
  assert.deepEqual(Object.keys(recorded).filter((n) => n.startsWith('features.')), names, 'canonical order');
  for (const name of names) {
    const ref = unetGolden(name);
    assert.deepEqual(recorded[name].dims, ref.dims, name);
    assertClose(recorded[name].data, ref.data, name);
  }
  const plain = await runUnet({}, feeds);
  assert.deepEqual(Object.keys(plain), ['out']);
  assert.ok(bitwiseEqual(plain.out.data, recorded.out.data), 'recording features must not change out');
});

test('UNet: non-square and odd latents (8×16, 9×7) and a 154-token text run with the right output shape', async () => {
  const session = await createSession(unetModelPath(cacheDir, checkpoint, {}).path, { device: 'cpu', threads: 1 });
  try {
    for (const [h, w] of [[8, 16], [9, 7]]) {
      const out = await session.run({
        sample: { dims: [1, 4, h, w], data: noise(4 * h * w, h) },
        timestep: { dims: [1], data: Float32Array.of(500.5) },
        encoder_hidden_states: { dims: [1, 154, 32], data: noise(154 * 32, w) },
      });
      assert.deepEqual(out.out.dims, [1, 4, h, w]);
      assert.ok(out.out.data.every(Number.isFinite), `${h}×${w}: finite output`);
    }
  } finally {
    await session.release();
  }
});

test('UNet + EAA: self+cross, self only, cross only match the goldens; σ = 0 is bitwise the plain UNet', async () => {
  const base = unetFeeds(eaaGolden);
  const reference: Record<string, Feed> = {};
  for (const { name } of transformerBlocks(checkpoint.config.unet)) {
    reference[`eaa.${name}.self`] = feed(eaaGolden(`features.${name}.self`));
    reference[`eaa.${name}.cross`] = feed(eaaGolden(`features.${name}.cross`));
  }
  const sigma = (v: number): Feed => ({ dims: [2], data: Float32Array.of(v, v) });
  const session = await createSession(unetModelPath(cacheDir, checkpoint, { eaa: { adapterPath: ADAPTER } }).path, { device: 'cpu', threads: 1 });
  const cases: Array<[string, number, number]> = [['out_self_cross', 0.7, 0.7], ['out_self_only', 0.7, 0], ['out_cross_only', 0, 0.7], ['out_sigma0', 0, 0]];
  const outs: Record<string, Float32Array> = {};
  try {
    for (const [name, self, cross] of cases) {
      const out = await session.run({ ...base, ...reference, 'eaa.sigma_self': sigma(self), 'eaa.sigma_cross': sigma(cross), 'eaa.block_weights': { dims: [16], data: new Float32Array(16).fill(1) } });
      assertClose(out.out.data, eaaGolden(name).data, name);
      outs[name] = out.out.data;
    }
    // σ per row: row 0 with the adapter, row 1 without, in one call (apply_to_uncond off / gating).
    const mixed = await session.run({ ...base, ...reference, 'eaa.sigma_self': { dims: [2], data: Float32Array.of(0.7, 0) }, 'eaa.sigma_cross': { dims: [2], data: Float32Array.of(0.7, 0) }, 'eaa.block_weights': { dims: [16], data: new Float32Array(16).fill(1) } });
    const half = mixed.out.data.length / 2;
    assertClose(mixed.out.data.subarray(0, half), eaaGolden('out_self_cross').data.subarray(0, half), 'mixed row 0');
    assertClose(mixed.out.data.subarray(half), eaaGolden('out_plain').data.subarray(half), 'mixed row 1');
  } finally {
    await session.release();
  }
  const plain = await runUnet({}, base);
  assertClose(plain.out.data, eaaGolden('out_plain').data, 'out_plain');
  assert.ok(bitwiseEqual(outs.out_sigma0, plain.out.data), 'σ = 0 must give the plain UNet output bitwise');
  assert.ok(!bitwiseEqual(outs.out_self_cross, plain.out.data));
});

test('UNet + ControlNet residual inputs match the golden', async () => {
  const golden = goldens('unet_controlnet.safetensors');
  const feeds: Record<string, Feed> = { ...unetFeeds(golden), mid_residual: feed(golden('mid_residual')) };
  for (let k = 0; k < 12; k++) feeds[`down_residual.${k}`] = feed(golden(`down_residual.${k}`));
  const out = await runUnet({ controlnet: { residuals: 'inputs' } }, feeds);
  assertClose(out.out.data, golden('out').data, 'out with control');
});

test('an adapter file that does not fit is refused with a message naming the file and key', () => {
  assert.throws(() => unetModelPath(cacheDir, checkpoint, { eaa: { adapterPath: FIXTURE_CHECKPOINT } }), (err: Error) =>
    err instanceof EaaAdapterError && err.message.includes(FIXTURE_CHECKPOINT) && err.message.includes('inv-adapter'));
});

test('inpainting UNet (9-channel conv_in): `concat` [mask, masked-image latent] follows `sample` into conv_in', async () => {
  const feeds = { ...unetFeeds(unetGolden), timestep: feed(unetGolden('timestep_float')) };
  const sample = unetGolden('sample');
  const [batch, , height, width] = sample.dims;
  const plane = height * width;
  const run9 = async (place: 'latent' | 'masked-image', sampleData: Float32Array, concatData: Float32Array) => {
    const inpainting = openCheckpoint(writeInpaintingFixture(tempDir(), place));
    assert.deepEqual([inpainting.config.unet.inChannels, inpainting.config.unet.outChannels], [9, 4]);
    const session = await createSession(unetModelPath(cacheDir, inpainting, {}).path, { device: 'cpu', threads: 1 });
    try {
      const out = await session.run({ ...feeds, sample: { dims: sample.dims, data: sampleData }, concat: { dims: [batch, 5, height, width], data: concatData } });
      return out.out;
    } finally {
      await session.release();
    }
  };
  // Weights on channels 0..3 only: the fixture UNet of `sample`, whatever the concat holds.
  const atLatent = await run9('latent', sample.data, noise(batch * 5 * plane, 3));
  assert.deepEqual(atLatent.dims, [batch, 4, height, width]);
  assertClose(atLatent.data, unetGolden('out').data, 'weights on the latent channels');
  // Weights on channels 5..8 only: the fixture UNet of the concat's latent part, whatever `sample` holds.
  const concat = noise(batch * 5 * plane, 4);
  for (let b = 0; b < batch; b++) concat.set(sample.data.subarray(b * 4 * plane, (b + 1) * 4 * plane), (b * 5 + 1) * plane);
  assertClose((await run9('masked-image', noise(sample.data.length, 5), concat)).data, unetGolden('out').data, 'weights on the masked-image channels');
});
