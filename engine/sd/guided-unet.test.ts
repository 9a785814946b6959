// Which rows of a sampler call get which ControlNet at what strength (planControl), with ComfyUI's start/end
// gating by σ and control_apply_to_uncond; and prepareGuidedUnet + createEpsModel end to end on the goldens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeImageBatch } from '../image/index.ts';
import type { ImageBatch } from '../image/index.ts';
import { sigmaFromTimestep, percentToSigma } from '../sampling/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { openCheckpoint } from './checkpoint/checkpoint.ts';
import { openControlnet } from './controlnet/controlnet-checkpoint.ts';
import { planControl, prepareGuidedUnet } from './guided-unet.ts';
import { createEpsModel } from './eps-model.ts';
import { SdRuntime } from './runtime.ts';
import type { Conditioning, ControlLink, SdControlNet } from './wire-types.ts';
import { FIXTURE_CHECKPOINT, FIXTURE_DIR, goldens, assertClose } from './test-fixture.ts';
import { tempDir } from '../onnx/test-helpers.ts';

const controlNet: SdControlNet = { controlnet: openControlnet(`${FIXTURE_DIR}controlnet.safetensors`) };
const embeds: Tensor = { dims: [1, 77, 32], data: new Float32Array(77 * 32) };

function link(options: Partial<ControlLink> = {}): ControlLink {
  return { controlNet, hint: makeImageBatch(1, 16, 16), strength: 0.8, startPercent: 0, endPercent: 1, ...options };
}
const cond = (control?: ControlLink, controlApplyToUncond = false): Conditioning => [{ embeds, control, controlApplyToUncond }];
const strengths = (feeds: Record<string, { data: Float32Array }>, i: number) => [...feeds[`controlnet.${i}.strength`].data];
const cfg = (sigma: number) => ({ guidance: 'uncond+cond' as const, sigma });

test('percentToSigma follows ComfyUI: 0 → 999999999.9, 1 → 0, else σ(999·(1 − p))', () => {
  assert.equal(percentToSigma(0), 999999999.9);
  assert.equal(percentToSigma(1), 0);
  assert.equal(percentToSigma(0.5), sigmaFromTimestep(499.5));
  assert.ok(percentToSigma(0.25) > percentToSigma(0.75));
});

test('no control: the plain UNet (no variant, no feeds)', () => {
  const plan = planControl(cond(), cond(), [1, 4, 2, 2]);
  assert.equal(plan.variant, undefined);
  assert.deepEqual(plan.feeds(cfg(1), 2), {});
});

test('ControlNetApplyAdvanced (one link on both): every row of a CFG call, hint resized to 8× the latent', () => {
  const shared = link();
  const plan = planControl(cond(shared), cond(shared), [2, 4, 3, 5]);
  assert.deepEqual(plan.variant, { residuals: 'fused', nets: [{ path: controlNet.controlnet.path, net: controlNet.controlnet, sharedHint: true }] });
  const feeds = plan.feeds(cfg(3), 4);
  assert.deepEqual(feeds['controlnet.0.hint'].dims, [1, 3, 24, 40], 'one hint image: one shared row');
  assert.deepEqual(strengths(feeds, 0), [0.8, 0.8, 0.8, 0.8].map(Math.fround));
  assert.deepEqual(strengths(plan.feeds({ guidance: 'cond', sigma: 3 }, 2), 0), [0.8, 0.8].map(Math.fround));
});

test('positive-only control: negative rows get 0 unless applied with control_apply_to_uncond (old ControlNetApply)', () => {
  const only = planControl(cond(link()), cond(), [1, 4, 2, 2]);
  assert.deepEqual(strengths(only.feeds(cfg(3), 2), 0), [0, Math.fround(0.8)]);
  const old = planControl(cond(link(), true), cond(), [1, 4, 2, 2]);
  assert.deepEqual(strengths(old.feeds(cfg(3), 2), 0), [Math.fround(0.8), Math.fround(0.8)]);
  // A negative with its own control keeps only its own (ComfyUI apply_empty_x_to_equal_area).
  const own = link({ strength: 0.3 });
  const both = planControl(cond(link(), true), cond(own), [1, 4, 2, 2]);
  const feeds = both.feeds(cfg(3), 2);
  assert.deepEqual(strengths(feeds, 0), [0, Math.fround(0.8)]);
  assert.deepEqual(strengths(feeds, 1), [Math.fround(0.3), 0]);
});

test('start/end percent gate by σ: active only for σ(end) ≤ σ ≤ σ(start); chains keep each link\'s own range', () => {
  const first = link({ startPercent: 0.25, endPercent: 0.75, strength: 1 });
  const second = link({ previous: first, strength: 0.5 });
  const plan = planControl(cond(second), cond(second), [1, 4, 2, 2]);
  assert.equal(plan.variant?.residuals === 'fused' && plan.variant.nets.length, 2);
  const high = percentToSigma(0.25);
  const low = percentToSigma(0.75);
  for (const [sigma, active] of [[high * 1.01, false], [high, true], [(high + low) / 2, true], [low, true], [low * 0.99, false]] as const) {
    const feeds = plan.feeds(cfg(sigma), 2);
    assert.deepEqual(strengths(feeds, 0), active ? [1, 1] : [0, 0], `σ ${sigma}`);
    assert.deepEqual(strengths(feeds, 1), [0.5, 0.5], `σ ${sigma}: the second link has the full range`);
  }
});

test('hint rows follow ComfyUI broadcast_image_to: row r of each half takes hint item (r mod batch) mod N', () => {
  const hint: ImageBatch = makeImageBatch(2, 8, 8);
  hint.data.fill(0.25, 0, 8 * 8 * 3);
  hint.data.fill(0.75, 8 * 8 * 3);
  const plan = planControl(cond(link({ hint })), cond(link({ hint })), [2, 4, 1, 1]);
  assert.equal(plan.variant?.residuals === 'fused' && plan.variant.nets[0].sharedHint, false);
  const rowValues = (feeds: Record<string, { data: Float32Array }>, rows: number) =>
    Array.from({ length: rows }, (_, r) => feeds['controlnet.0.hint'].data[r * 3 * 64]);
  assert.deepEqual(rowValues(plan.feeds(cfg(1), 4), 4), [0.25, 0.75, 0.25, 0.75]);
  assert.deepEqual(rowValues(plan.feeds({ guidance: 'cond', sigma: 1 }, 2), 2), [0.25, 0.75]);
});

test('area calls: each chunk gets its own entry\'s chain, hints are resized to the crop (ComfyUI per-call upscale)', () => {
  const areaLink = link({ strength: 0.6 });
  const positive: Conditioning = [{ embeds }, { embeds, control: areaLink, area: { unit: 'cells', height: 3, width: 5, y: 0, x: 0 } }];
  const plan = planControl(positive, cond(), [1, 4, 8, 8]);
  const chunks = [{ branch: 'cond' as const, entry: 1 }, { branch: 'uncond' as const, entry: 0 }, { branch: 'cond' as const, entry: 0 }];
  const feeds = plan.feeds({ guidance: 'uncond+cond', sigma: 1, chunks, dims: [3, 4, 3, 5] }, 3);
  assert.deepEqual(feeds['controlnet.0.hint'].dims, [1, 3, 24, 40]);
  assert.deepEqual(strengths(feeds, 0), [Math.fround(0.6), 0, 0]);
  assert.deepEqual(plan.feeds({ guidance: 'cond', sigma: 1 }, 1)['controlnet.0.hint'].dims, [1, 3, 64, 64], 'full-latent calls: 8× the latent');
});

test('prepareGuidedUnet + createEpsModel: the controlled row matches the golden, the uncontrolled one the plain UNet', async () => {
  const golden = goldens('unet_controlnet.safetensors');
  const runtime = new SdRuntime({ cacheDir: tempDir(), device: 'cpu', threads: 1 });
  try {
    const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
    const text = golden('encoder_hidden_states').data.slice(0, 77 * 32); // row 0
    const hintNchw = golden('hint').data;
    const hint = makeImageBatch(1, 64, 64);
    for (let p = 0; p < 64 * 64; p++) for (let c = 0; c < 3; c++) hint.data[p * 3 + c] = hintNchw[c * 64 * 64 + p];
    const textCond = (control?: ControlLink): Conditioning => [{ embeds: { dims: [1, 77, 32], data: text }, control }];
    const sample = golden('sample').data.slice(0, 4 * 64); // row 0 at timestep 981
    const call = { sample: new Float32Array([...sample, ...sample]), dims: [2, 4, 8, 8], guidance: 'uncond+cond' as const, timestep: 981, sigma: sigmaFromTimestep(981), step: { index: 0, total: 1 } };
    const rowsOf = (eps: Float32Array) => [eps.subarray(0, 256), eps.subarray(256)];

    const guided = await prepareGuidedUnet(runtime, { model: { checkpoint }, positive: textCond(link({ hint, strength: 1 })), negative: textCond(), latentDims: [1, 4, 8, 8] });
    const [uncond, controlled] = rowsOf(await createEpsModel(guided)(call));
    assertClose(controlled, golden('out').data.subarray(0, 256), 'positive row with ControlNet');
    assertClose(uncond, golden('out_without_control').data.subarray(0, 256), 'negative row without');

    const late = await prepareGuidedUnet(runtime, { model: { checkpoint }, positive: textCond(link({ hint, strength: 1, startPercent: 0.5 })), negative: textCond(), latentDims: [1, 4, 8, 8] });
    const [, gatedOff] = rowsOf(await createEpsModel(late)(call));
    assertClose(gatedOff, golden('out_without_control').data.subarray(0, 256), 'σ above the start: no control');
  } finally {
    await runtime.release();
  }
});
