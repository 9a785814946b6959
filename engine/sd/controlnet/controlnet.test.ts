// The ControlNet fused into the UNet graph (variant `controlnet: { residuals: 'fused' }`) against the sd15-tiny
// goldens (unet_controlnet.safetensors), and its properties: strength 0 is bitwise the plain UNet, strengths per
// row, chained nets add up, and it composes with the EAA variant. Built through the graph cache as users get it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession } from '../../onnx/index.ts';
import type { Feed } from '../../onnx/index.ts';
import type { Tensor } from '../../tensor/index.ts';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import { unetModelPath, buildUnetGraph } from '../unet/unet.ts';
import { ControlnetError } from './controlnet-checkpoint.ts';
import type { UnetVariant } from '../unet/unet.ts';
import { transformerBlocks } from '../unet/unet-blocks.ts';
import { FIXTURE_CHECKPOINT, FIXTURE_DIR, goldens, assertClose } from '../test-fixture.ts';
import type { Golden } from '../test-fixture.ts';
import { tempDir, noise } from '../../onnx/test-helpers.ts';

const golden = goldens('unet_controlnet.safetensors');
const eaaGolden = goldens('eaa.safetensors');
const CONTROLNET = `${FIXTURE_DIR}controlnet.safetensors`;
const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
const cacheDir = tempDir();
const feed = (g: Golden): Feed => ({ dims: g.dims, data: g.data });
const rows = (...v: number[]): Feed => ({ dims: [v.length], data: Float32Array.from(v) });

async function runUnet(variant: UnetVariant, feeds: Record<string, Feed>): Promise<Record<string, Tensor>> {
  const session = await createSession(unetModelPath(cacheDir, checkpoint, variant).path, { device: 'cpu', threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** The golden's sample / timestep / text, and its [1,3,64,64] hint repeated to `count` rows. */
function baseFeeds(g: (name: string) => Golden = golden): Record<string, Feed> {
  return { sample: feed(g('sample')), timestep: { dims: [2], data: g('timestep').data }, encoder_hidden_states: feed(g('encoder_hidden_states')) };
}
function hintFeed(hint: Float32Array, count = 2): Feed {
  const data = new Float32Array(hint.length * count);
  for (let r = 0; r < count; r++) data.set(hint, r * hint.length);
  return { dims: [count, 3, 64, 64], data };
}
const fused = (paths: string[], outputResiduals = false): UnetVariant => ({
  controlnet: { residuals: 'fused', nets: paths.map((path) => ({ path })), outputResiduals },
});

function bitwiseEqual(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

test('fused ControlNet: the 12 down residuals, the mid residual and out match the goldens (1e-4·(1+max|ref|))', async () => {
  const out = await runUnet(fused([CONTROLNET], true), {
    ...baseFeeds(), 'controlnet.0.hint': hintFeed(golden('hint').data), 'controlnet.0.strength': rows(1, 1),
  });
  for (let k = 0; k < 12; k++) {
    assert.deepEqual(out[`controlnet.0.down_residual.${k}`].dims, golden(`down_residual.${k}`).dims);
    assertClose(out[`controlnet.0.down_residual.${k}`].data, golden(`down_residual.${k}`).data, `down_residual.${k}`);
  }
  assertClose(out['controlnet.0.mid_residual'].data, golden('mid_residual').data, 'mid_residual');
  assertClose(out.out.data, golden('out').data, 'out');
  const plain = await runUnet({}, baseFeeds());
  assertClose(plain.out.data, golden('out_without_control').data, 'out_without_control');
});

test('fused ControlNet: strength 0 is bitwise the plain UNet; strengths are per row and scale the residuals', async () => {
  const hint = hintFeed(golden('hint').data);
  const plain = (await runUnet({}, baseFeeds())).out.data;
  const session = await createSession(unetModelPath(cacheDir, checkpoint, fused([CONTROLNET], true)).path, { device: 'cpu', threads: 1 });
  try {
    const run = (s0: number, s1: number) => session.run({ ...baseFeeds(), 'controlnet.0.hint': hint, 'controlnet.0.strength': rows(s0, s1) });
    const off = await run(0, 0);
    assert.ok(bitwiseEqual(off.out.data, plain), 'strength 0 must give the plain UNet output bitwise');
    const mixed = await run(1, 0);
    const half = plain.length / 2;
    assertClose(mixed.out.data.subarray(0, half), golden('out').data.subarray(0, half), 'row 0 with control');
    assert.ok(bitwiseEqual(mixed.out.data.subarray(half), plain.subarray(half)), 'row 1 without control is the plain output');
    const scaled = await run(0.5, 2);
    const r = golden('down_residual.4').data;
    const n = r.length / 2;
    assertClose(scaled['controlnet.0.down_residual.4'].data.subarray(0, n), r.subarray(0, n).map((v) => v * 0.5), 'row 0 × 0.5');
    assertClose(scaled['controlnet.0.down_residual.4'].data.subarray(n), r.subarray(n).map((v) => v * 2), 'row 1 × 2');
  } finally {
    await session.release();
  }
});

test('a shared [1,3,…] hint gives the same output as the hint repeated per row', async () => {
  const hint = golden('hint');
  const shared: UnetVariant = { controlnet: { residuals: 'fused', nets: [{ path: CONTROLNET, sharedHint: true }] } };
  const one = await runUnet(shared, { ...baseFeeds(), 'controlnet.0.hint': feed(hint), 'controlnet.0.strength': rows(1, 0.5) });
  const perRow = await runUnet(fused([CONTROLNET]), { ...baseFeeds(), 'controlnet.0.hint': hintFeed(hint.data), 'controlnet.0.strength': rows(1, 0.5) });
  assertClose(one.out.data, perRow.out.data, 'shared vs per-row hint');
  const half = one.out.data.length / 2;
  assertClose(one.out.data.subarray(0, half), golden('out').data.subarray(0, half), 'row 0 at strength 1');
});

test('two chained ControlNets: residuals add up (fused graph = UNet fed the sum of both residual sets)', async () => {
  const hintA = hintFeed(golden('hint').data);
  const hintB = hintFeed(noise(3 * 64 * 64, 7).map((v) => (v + 1) / 2));
  const two = await runUnet(fused([CONTROLNET, CONTROLNET], true), {
    ...baseFeeds(), 'controlnet.0.hint': hintA, 'controlnet.0.strength': rows(1, 0.7), 'controlnet.1.hint': hintB, 'controlnet.1.strength': rows(0.5, 1),
  });
  const sums: Record<string, Feed> = {};
  const sum = (a: Tensor, b: Tensor): Feed => ({ dims: a.dims, data: a.data.map((v, i) => v + b.data[i]) });
  for (let k = 0; k < 12; k++) sums[`down_residual.${k}`] = sum(two[`controlnet.0.down_residual.${k}`], two[`controlnet.1.down_residual.${k}`]);
  sums.mid_residual = sum(two['controlnet.0.mid_residual'], two['controlnet.1.mid_residual']);
  const viaInputs = await runUnet({ controlnet: { residuals: 'inputs' } }, { ...baseFeeds(), ...sums });
  assertClose(two.out.data, viaInputs.out.data, 'fused two-net out vs UNet + summed residuals');
  // The second net changes the result (its hint differs), and each net's residuals are its own.
  const one = await runUnet(fused([CONTROLNET]), { ...baseFeeds(), 'controlnet.0.hint': hintA, 'controlnet.0.strength': rows(1, 0.7) });
  assert.ok(!bitwiseEqual(one.out.data, two.out.data));
  assert.ok(!bitwiseEqual(two['controlnet.0.down_residual.0'].data, two['controlnet.1.down_residual.0'].data));
});

test('ControlNet + EAA in one graph: strength 0 equals the EAA-only graph bitwise; σ 0 equals the ControlNet-only graph', async () => {
  const adapter = { adapterPath: `${FIXTURE_DIR}eaa_adapter.safetensors` };
  const reference: Record<string, Feed> = {};
  for (const { name } of transformerBlocks(checkpoint.config.unet)) {
    reference[`eaa.${name}.self`] = feed(eaaGolden(`features.${name}.self`));
    reference[`eaa.${name}.cross`] = feed(eaaGolden(`features.${name}.cross`));
  }
  const sigma = { 'eaa.sigma_self': rows(0.7, 0.7), 'eaa.sigma_cross': rows(0.7, 0.7), 'eaa.block_weights': { dims: [16], data: new Float32Array(16).fill(1) } };
  const control = { 'controlnet.0.hint': hintFeed(golden('hint').data) };
  const both = { eaa: adapter, ...fused([CONTROLNET]) };
  const base = baseFeeds(eaaGolden);
  const eaaOnly = await runUnet({ eaa: adapter }, { ...base, ...reference, ...sigma });
  assertClose(eaaOnly.out.data, eaaGolden('out_self_cross').data, 'EAA-only graph vs golden');
  const strength0 = await runUnet(both, { ...base, ...reference, ...sigma, ...control, 'controlnet.0.strength': rows(0, 0) });
  assert.ok(bitwiseEqual(strength0.out.data, eaaOnly.out.data), 'ControlNet strength 0 must leave the EAA output bitwise');
  const sigma0 = await runUnet(both, { ...base, ...reference, 'eaa.sigma_self': rows(0, 0), 'eaa.sigma_cross': rows(0, 0), 'eaa.block_weights': { dims: [16], data: new Float32Array(16).fill(1) }, ...control, 'controlnet.0.strength': rows(1, 1) });
  const controlOnly = await runUnet(fused([CONTROLNET]), { ...base, ...control, 'controlnet.0.strength': rows(1, 1) });
  assert.ok(bitwiseEqual(sigma0.out.data, controlOnly.out.data), 'EAA σ 0 must leave the ControlNet output bitwise');
  const on = await runUnet(both, { ...base, ...reference, ...sigma, ...control, 'controlnet.0.strength': rows(1, 1) });
  assert.ok(!bitwiseEqual(on.out.data, eaaOnly.out.data) && !bitwiseEqual(on.out.data, controlOnly.out.data));
});

test('fused ControlNet on non-square and odd latents (8×16, 9×7): hint 8× the latent, output shape follows', async () => {
  const session = await createSession(unetModelPath(cacheDir, checkpoint, fused([CONTROLNET])).path, { device: 'cpu', threads: 1 });
  try {
    for (const [h, w] of [[8, 16], [9, 7]]) {
      const out = await session.run({
        sample: { dims: [1, 4, h, w], data: noise(4 * h * w, 3) },
        timestep: rows(321),
        encoder_hidden_states: { dims: [1, 77, 32], data: noise(77 * 32, 4) },
        'controlnet.0.hint': { dims: [1, 3, 8 * h, 8 * w], data: noise(3 * 64 * h * w, 5).map((v) => (v + 1) / 2) },
        'controlnet.0.strength': rows(1),
      });
      assert.deepEqual(out.out.dims, [1, 4, h, w]);
      assert.ok(out.out.data.every(Number.isFinite), `${h}×${w}: finite`);
    }
  } finally {
    await session.release();
  }
});

test('fused ControlNet in a float16 graph: out within fp16 rounding of the golden', async () => {
  const variant: UnetVariant = { compute: 'float16', controlnet: { residuals: 'fused', nets: [{ path: CONTROLNET, sharedHint: true }] } };
  const out = await runUnet(variant, { ...baseFeeds(), 'controlnet.0.hint': feed(golden('hint')), 'controlnet.0.strength': rows(1, 1) });
  const ref = golden('out').data;
  const scale = Math.max(...ref.map(Math.abs));
  const error = Math.max(...out.out.data.map((v, i) => Math.abs(v - ref[i])));
  // float16 activations: ~1e-3 relative per op; measured 1.3e-3 of max|ref| on CPU.
  assert.ok(error < 1e-2 * (1 + scale), `fp16 error ${error}`);
});

test('the ControlNet files are part of the graph cache key; the variant options too', () => {
  const a = unetModelPath(cacheDir, checkpoint, fused([CONTROLNET])).path;
  const b = unetModelPath(cacheDir, checkpoint, fused([CONTROLNET, CONTROLNET])).path;
  const c = unetModelPath(cacheDir, checkpoint, fused([CONTROLNET], true)).path;
  assert.equal(new Set([a, b, c, unetModelPath(cacheDir, checkpoint, {}).path]).size, 4);
  assert.equal(unetModelPath(cacheDir, checkpoint, fused([CONTROLNET])).path, a);
});

test('a ControlNet that does not fit the checkpoint\'s UNet is refused naming the file and the mismatch', () => {
  const other = { unet: checkpoint.unet, config: { ...checkpoint.config, unet: { ...checkpoint.config.unet, crossAttentionDim: 48 } } };
  assert.throws(() => buildUnetGraph(other, fused([CONTROLNET])), (e: Error) =>
    e instanceof ControlnetError && e.message.includes(CONTROLNET) && /text width 32 vs the UNet's 48/.test(e.message));
  assert.throws(() => buildUnetGraph(checkpoint, { controlnet: { residuals: 'fused', nets: [] } }), /at least one net/);
});
