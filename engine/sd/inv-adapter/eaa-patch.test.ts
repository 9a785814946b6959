// EAAInject's patch: σ per row and side with start/end gating, refusal of unusable inputs, and the promise that
// σ = 0 or a step outside [start_at, end_at] gives the base model bitwise — per model call and for a short
// KSampler-style sampling run through prepareGuidedUnet (the path KSampler takes).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { makeImageBatch, makeMaskBatch } from '../../image/index.ts';
import { sample, sigmaFromTimestep, percentToSigma } from '../../sampling/index.ts';
import type { ModelCall } from '../../sampling/index.ts';
import { SdRuntime } from '../runtime.ts';
import { invertImage, extractFeatures } from './inv-adapter-pipeline.ts';
import { trainingFreeAdapter, loadInvAdapter, REFERENCE_ATTENTION } from './inv-adapter.ts';
import { injectEaa, eaaPatch, eaaOf, parseBlockWeights, EaaPatchError } from './eaa-patch.ts';
import type { EaaSettings } from './eaa-patch.ts';
import { prepareGuidedUnet } from '../guided-unet.ts';
import { createEpsModel } from '../eps-model.ts';
import type { Conditioning, SdModel } from '../wire-types.ts';
import { FIXTURE_CHECKPOINT, FIXTURE_DIR, goldens } from '../test-fixture.ts';
import { tempDir, noise } from '../../onnx/test-helpers.ts';

const cacheDir = tempDir();
const runtime = new SdRuntime({ cacheDir, device: 'cpu', threads: 1 });
after(() => runtime.release());
const checkpoint = runtime.checkpoint(FIXTURE_CHECKPOINT);
const model: SdModel = { checkpoint };
const eaaGolden = goldens('eaa.safetensors');
const caption: Conditioning = [{ embeds: eaaGolden('reference_encoder_hidden_states') }];
const text = goldens('unet.safetensors')('encoder_hidden_states');
const positive: Conditioning = [{ embeds: { dims: [1, 77, 32], data: text.data.slice(0, 77 * 32) } }];
const negative: Conditioning = [{ embeds: { dims: [1, 77, 32], data: text.data.slice(77 * 32) } }];
const adapter = trainingFreeAdapter(cacheDir, checkpoint, { tokens: 16, referenceSize: 64 });
const on: EaaSettings = { weight: 0.8, startAt: 0, endAt: 1, selfAttention: true, crossAttention: true, applyToUncond: true };

const bank = (async () => {
  const image = makeImageBatch(1, 64, 64);
  image.data.set(noise(image.data.length, 9).map((v) => (v + 1) / 2));
  const inversion = await invertImage(runtime, { model, vae: { checkpoint }, image, caption, steps: 4 });
  return extractFeatures(runtime, { model, inversion, caption, folder: join(cacheDir, 'banks') });
})();

const call = (timestep: number, guidance: ModelCall['guidance'], rows: number): ModelCall => ({
  sample: noise(rows * 256, timestep), dims: [rows, 4, 8, 8], guidance, timestep, sigma: sigmaFromTimestep(timestep), step: { index: 0, total: 4 },
});
const sigmas = (feeds: Record<string, { data: Float32Array }>) => [[...feeds['eaa.sigma_self'].data], [...feeds['eaa.sigma_cross'].data]];

test('σ per row and side: CFG rows, apply_to_uncond, disabled sides, start/end gating; nearest bank step fed', async () => {
  const features = await bank;
  const w = Math.fround(0.8);
  const full = eaaPatch(injectEaa(model, adapter, features, on))!;
  assert.deepEqual(full.variant, { eaa: { adapterPath: adapter.path } });
  assert.deepEqual(sigmas(full.extraFeeds(call(700, 'uncond+cond', 4), 4)), [[w, w, w, w], [w, w, w, w]]);
  const feeds = full.extraFeeds(call(700, 'cond', 1), 1);
  assert.deepEqual(feeds['eaa.down_blocks.0.attentions.0.self'].dims, [1, 64, 32]);
  assert.deepEqual(feeds['eaa.mid_block.attentions.0.cross'].dims, [1, 1, 64]);

  const condOnly = eaaPatch(injectEaa(model, adapter, features, { ...on, applyToUncond: false, crossAttention: false }))!;
  assert.deepEqual(sigmas(condOnly.extraFeeds(call(700, 'uncond+cond', 4), 4)), [[0, 0, w, w], [0, 0, 0, 0]]);
  assert.deepEqual(sigmas(condOnly.extraFeeds(call(700, 'cond', 2), 2)), [[w, w], [0, 0]]);

  // start_at 0.25 … end_at 0.5: active for σ in [σ(499.5), σ(749.25)].
  const window = eaaPatch(injectEaa(model, adapter, features, { ...on, startAt: 0.25, endAt: 0.5 }))!;
  assert.equal(percentToSigma(0.25), sigmaFromTimestep(749.25));
  for (const [t, active] of [[900, false], [749, true], [500, true], [499, false], [100, false]] as const) {
    assert.deepEqual(sigmas(window.extraFeeds(call(t, 'cond', 1), 1))[0], [active ? w : 0], `timestep ${t}`);
  }
});

test('refused: features of another model, features of another reference size, EAAInject twice, start after end', async () => {
  const features = await bank;
  assert.throws(() => injectEaa(model, adapter, { ...features, model: 'unet-sha256:other' }, on),
    (e: Error) => e instanceof EaaPatchError && /recorded with another model/.test(e.message));
  const big = trainingFreeAdapter(cacheDir, checkpoint, { tokens: 16, referenceSize: 128 });
  assert.throws(() => injectEaa(model, big, features, on), (e: Error) =>
    e instanceof EaaPatchError && e.message.includes('block down_blocks.0.attentions.0') && e.message.includes('64 reference tokens (from a 64×64 face crop)') && e.message.includes('expects 256'));
  const patched = injectEaa(model, adapter, features, on);
  assert.equal(eaaOf(model), undefined, 'the input MODEL is unchanged');
  assert.equal(patched.checkpoint, model.checkpoint, 'weights shared');
  assert.throws(() => injectEaa(patched, adapter, features, on), /already has an EAA patch/);
  assert.throws(() => injectEaa(model, adapter, features, { ...on, startAt: 0.6, endAt: 0.4 }), /start_at \(0\.6\) must not be after end_at \(0\.4\)/);
  // The fixture's random adapter (s per block of a 64-px reference) fits these features too.
  const fixture = loadInvAdapter(join(FIXTURE_DIR, 'eaa_adapter.safetensors'), checkpoint, 'fixture');
  assert.ok(eaaOf(injectEaa(model, fixture, features, on)));
});

async function epsModelFor(m: SdModel) {
  const unet = await prepareGuidedUnet(runtime, { model: m, positive, negative, latentDims: [2, 4, 8, 8] });
  return createEpsModel(unet);
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

test('σ = 0 and calls outside [start_at, end_at] give the base model\'s ε bitwise; inside they do not', async () => {
  const features = await bank;
  const base = await epsModelFor(model);
  const zero = await epsModelFor(injectEaa(model, adapter, features, { ...on, weight: 0 }));
  const late = await epsModelFor(injectEaa(model, adapter, features, { ...on, startAt: 0.6 }));
  const full = await epsModelFor(injectEaa(model, adapter, features, on));
  for (const c of [call(751, 'uncond+cond', 4), call(300, 'cond', 2)]) {
    const expected = await base(c);
    assert.ok(sameBits(await zero(c), expected), `σ = 0 at ${c.timestep}`);
    assert.ok(!sameBits(await full(c), expected), `σ = 0.8 at ${c.timestep} changes ε`);
  }
  const early = call(751, 'uncond+cond', 4); // σ(751) > percentToSigma(0.6): before start_at
  assert.ok(sameBits(await late(early), await base(early)), 'outside the window');
  const inside = call(251, 'uncond+cond', 4);
  assert.ok(!sameBits(await late(inside), await base(inside)), 'inside the window');
});

test('a short KSampler-style run (ddim_diffusers, CFG) is the base run bitwise with σ = 0 or a window after the last step', async () => {
  const features = await bank;
  const run = async (m: SdModel, sampler: 'ddim_diffusers' | 'heun') => sample({
    model: await epsModelFor(m), latent: { dims: [2, 4, 8, 8], data: new Float32Array(512) }, sampler, scheduler: 'normal', steps: 4, cfg: 7.5, seed: 42n,
  });
  const base = await run(model, 'ddim_diffusers');
  assert.ok(sameBits((await run(injectEaa(model, adapter, features, { ...on, weight: 0 }), 'ddim_diffusers')).data, base.data));
  assert.ok(sameBits((await run(injectEaa(model, adapter, features, { ...on, startAt: 0.999 }), 'ddim_diffusers')).data, base.data));
  assert.ok(!sameBits((await run(injectEaa(model, adapter, features, on), 'ddim_diffusers')).data, base.data));
  // heun: two calls per step, other timesteps than recorded (nearest step used); σ = 0 still exact.
  const heunBase = await run(model, 'heun');
  assert.ok(sameBits((await run(injectEaa(model, adapter, features, { ...on, weight: 0 }), 'heun')).data, heunBase.data));
  assert.ok(!sameBits((await run(injectEaa(model, adapter, features, on), 'heun')).data, heunBase.data));
});

test('block weights: all 0 is the base model bitwise, all 1 is the plain patch bitwise, one block on differs from both', async () => {
  const features = await bank;
  const count = 16;
  const c = call(500, 'uncond+cond', 4);
  const base = await (await epsModelFor(model))(c);
  const full = await (await epsModelFor(injectEaa(model, adapter, features, on)))(c);
  const zeros = await (await epsModelFor(injectEaa(model, adapter, features, { ...on, blockWeights: new Array(count).fill(0) })))(c);
  const ones = await (await epsModelFor(injectEaa(model, adapter, features, { ...on, blockWeights: new Array(count).fill(1) })))(c);
  const oneBlock = await (await epsModelFor(injectEaa(model, adapter, features, { ...on, blockWeights: Array.from({ length: count }, (_, i) => (i === 6 ? 1 : 0)) })))(c);
  assert.ok(sameBits(zeros, base), 'every block weight 0 = no adapter');
  assert.ok(sameBits(ones, full), 'every block weight 1 = the plain patch');
  assert.ok(!sameBits(oneBlock, base) && !sameBits(oneBlock, full), 'only the mid block acting');
  assert.throws(() => injectEaa(model, adapter, features, { ...on, blockWeights: [1, 1] }), /2 values given, this model has 16 transformer blocks/);
});

test('parseBlockWeights: empty, one value per block, groups, and clear errors', () => {
  const blocks = [
    ...[0, 1, 2, 3, 4, 5].map((i) => `down_blocks.${Math.floor(i / 2)}.attentions.${i % 2}`), 'mid_block.attentions.0',
    ...[0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => `up_blocks.${1 + Math.floor(i / 3)}.attentions.${i % 3}`),
  ];
  assert.equal(parseBlockWeights('  ', blocks), undefined);
  assert.deepEqual(parseBlockWeights(blocks.map((_, i) => String(i / 10)).join(', '), blocks), blocks.map((_, i) => i / 10));
  const grouped = parseBlockWeights('input=0.5, output = 0', blocks)!;
  assert.deepEqual(grouped, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => parseBlockWeights('1, 2, 3', blocks), /3 numbers given, this model has 16 transformer blocks/);
  assert.throws(() => parseBlockWeights('middle=-1', blocks), /the value of middle is "-1"; use a number ≥ 0/);
  assert.throws(() => parseBlockWeights('head=1', blocks), /unknown group "head"/);
  assert.throws(() => parseBlockWeights(blocks.map(() => 'x').join(','), blocks), /block 0 \(down_blocks\.0\.attentions\.0\) is "x"/);
});

test('attention mask: all ones is the unmasked patch bitwise, all zeros the base model bitwise, half of it neither', async () => {
  const features = await bank;
  const c = call(500, 'uncond+cond', 4);
  const base = await (await epsModelFor(model))(c);
  const full = await (await epsModelFor(injectEaa(model, adapter, features, on)))(c);
  const maskOf = (value: (x: number) => number) => {
    const mask = makeMaskBatch(1, 64, 64);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) mask.data[y * 64 + x] = value(x);
    return mask;
  };
  const withMask = async (mask: ReturnType<typeof maskOf>) => (await epsModelFor(injectEaa(model, adapter, features, { ...on, mask })))(c);
  const masked = eaaPatch(injectEaa(model, adapter, features, { ...on, mask: maskOf(() => 1) }))!;
  assert.deepEqual(masked.variant, { eaa: { adapterPath: adapter.path, masked: true } });
  assert.deepEqual(masked.extraFeeds(c, 4)['eaa.mask.level1'].dims, [1, 16, 1], '8×8 latent → 4×4 tokens at level 1');
  assert.ok(sameBits(await withMask(maskOf(() => 1)), full), 'mask 1 everywhere = no mask');
  assert.ok(sameBits(await withMask(maskOf(() => 0)), base), 'mask 0 everywhere = no adapter');
  const half = await withMask(maskOf((x) => (x < 32 ? 1 : 0)));
  assert.ok(!sameBits(half, full) && !sameBits(half, base), 'left half only');
});

test('training-free reference attention through KSampler\'s path: no cross feeds, σ = 0 / outside the window bitwise the base model, inside not', async () => {
  const features = await bank;
  const patch = eaaPatch(injectEaa(model, REFERENCE_ATTENTION, features, on))!;
  assert.deepEqual(patch.variant, { eaa: {} });
  const feeds = patch.extraFeeds(call(700, 'uncond+cond', 4), 4);
  assert.ok(!Object.keys(feeds).some((k) => k.endsWith('.cross')), 'no cross-side inputs');
  assert.deepEqual([...feeds['eaa.sigma_self'].data], [0.8, 0.8, 0.8, 0.8].map(Math.fround));
  const base = await epsModelFor(model);
  const zero = await epsModelFor(injectEaa(model, REFERENCE_ATTENTION, features, { ...on, weight: 0 }));
  const late = await epsModelFor(injectEaa(model, REFERENCE_ATTENTION, features, { ...on, startAt: 0.6 }));
  const full = await epsModelFor(injectEaa(model, REFERENCE_ATTENTION, features, on));
  const early = call(751, 'uncond+cond', 4);
  const expected = await base(early);
  assert.ok(sameBits(await zero(early), expected), 'σ = 0');
  assert.ok(sameBits(await late(early), expected), 'before start_at');
  assert.ok(!sameBits(await full(early), expected), 'σ = 0.8 changes ε');
  // cross_attention has no effect without an adapter file.
  const noCross = await epsModelFor(injectEaa(model, REFERENCE_ATTENTION, features, { ...on, crossAttention: false }));
  assert.ok(sameBits(await noCross(early), await full(early)), 'cross_attention off changes nothing');
});

test('timestep coverage: a sampling timestep farther than one sampler DDIM interval from every recorded one is refused unless allowed; the gap is logged', async () => {
  const features = await bank; // 4 DDIM steps
  const stepCall = (timestep: number, index: number, total: number): ModelCall => ({ ...call(timestep, 'cond', 1), step: { index, total } });
  const recorded = features.timesteps;
  const messages: string[] = [];
  const strict = eaaPatch(injectEaa(model, REFERENCE_ATTENTION, features, on), (m) => messages.push(m))!;
  // Same schedule: every timestep is a recorded one, gap 0, logged at the last step.
  recorded.forEach((t, i) => strict.extraFeeds(stepCall(t, i, recorded.length), 1));
  assert.deepEqual(messages, [`EAA: features of ${recorded.length} recorded steps for ${recorded.length} sampler steps; largest timestep gap 0.0`]);
  // 20 sampler steps (interval 50): a timestep midway between two recorded ones is refused, naming both step counts.
  const midway = (recorded[0] + recorded[1]) / 2;
  assert.throws(() => strict.extraFeeds(stepCall(midway, 3, 20), 1), (e: Error) =>
    e instanceof EaaPatchError && e.message.includes('sampler: 20 steps') && e.message.includes(`recorded with ${recorded.length} DDIM steps`) && e.message.includes('allow_timestep_mismatch'));
  // Outside start/end (σ = 0) nothing is checked; allowed, the nearest step is used and the gap logged.
  assert.ok(eaaPatch(injectEaa(model, REFERENCE_ATTENTION, features, { ...on, weight: 0 }))!.extraFeeds(stepCall(midway, 3, 20), 1));
  const logged: string[] = [];
  const lenient = eaaPatch(injectEaa(model, REFERENCE_ATTENTION, features, { ...on, allowTimestepMismatch: true }), (m) => logged.push(m))!;
  lenient.extraFeeds(stepCall(midway, 19, 20), 1);
  assert.match(logged[0], new RegExp(`features of ${recorded.length} recorded steps for 20 sampler steps; largest timestep gap ${((recorded[0] - recorded[1]) / 2).toFixed(1)}`));
});

test('the EAA is a model patch: after the model\'s other patches, and it refuses conditioning areas before any graph is built', async () => {
  const features = await bank;
  const other = { kind: 'test-only', prepare: () => ({ variant: {} }) };
  const patched = injectEaa({ ...model, patches: [other] }, adapter, features, on);
  assert.deepEqual(patched.patches?.map((p) => p.kind), ['test-only', 'eaa']);
  const area: Conditioning = [{ ...positive[0], area: { unit: 'cells', height: 4, width: 4, y: 0, x: 0 } }];
  const before = readdirSync(cacheDir).length;
  await assert.rejects(prepareGuidedUnet(runtime, { model: patched, positive: area, negative, latentDims: [1, 4, 8, 8] }),
    (e: Error) => e instanceof EaaPatchError && /cannot be combined with conditioning areas/.test(e.message));
  assert.equal(readdirSync(cacheDir).length, before, 'no graph built');
});
