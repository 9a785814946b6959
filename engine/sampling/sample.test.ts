// sample(): KSampler / KSamplerAdvanced semantics around the samplers: guidance batching, initial noise,
// denoise and start/end steps, progress, abort and input errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sample, sampleWithSigmas, SAMPLER_NAMES, type SampleOptions } from './sample.ts';
import { computeSigmas } from './sigmas.ts';
import { gaussianNoise } from './noise.ts';
import { timestepFromSigma, sigmaSchedule } from './schedule.ts';
import type { ModelCall } from './model.ts';
import { pointMassModel } from './test-models.ts';

const dims = [2, 4, 2, 2];
const SIZE = 32;

function recorder(inner: (call: ModelCall) => Promise<Float32Array>) {
  const calls: ModelCall[] = [];
  const model = async (call: ModelCall) => {
    calls.push({ ...call, sample: call.sample.slice() });
    return inner(call);
  };
  return { calls, model };
}

function baseOptions(model: SampleOptions['model'], overrides: Partial<SampleOptions> = {}): SampleOptions {
  return { model, latent: { dims, data: new Float32Array(SIZE) }, sampler: 'euler', scheduler: 'normal', steps: 6, cfg: 1, seed: 1n, ...overrides };
}

test('cfg 1 makes one conditional call per step; other cfg values batch [uncond, cond] with the same latents', async () => {
  const x0 = new Float32Array(SIZE).fill(0.25);
  const single = recorder(pointMassModel(x0));
  await sample(baseOptions(single.model));
  assert.equal(single.calls.length, 6);
  assert.ok(single.calls.every((c) => c.guidance === 'cond' && c.dims[0] === 2 && c.sample.length === SIZE));

  const guided = recorder(pointMassModel(x0));
  await sample(baseOptions(guided.model, { cfg: 7.5 }));
  assert.equal(guided.calls.length, 6);
  for (const call of guided.calls) {
    assert.equal(call.guidance, 'uncond+cond');
    assert.deepEqual(call.dims, [4, 4, 2, 2]);
    assert.deepEqual(call.sample.subarray(0, SIZE), call.sample.subarray(SIZE));
  }
});

test('guidance combines the denoised predictions: D = D_u + cfg·(D_c − D_u)', async () => {
  // uncond rows see data point 1, cond rows data point 2: one Euler step to σ = 0 lands on D exactly.
  const model = async (call: ModelCall) => {
    const scale = Math.sqrt(call.sigma ** 2 + 1);
    return call.sample.map((v, i) => (v * scale - (i < SIZE ? 1 : 2)) / call.sigma);
  };
  const result = await sampleWithSigmas({
    model,
    cfg: 3,
    latent: { dims, data: new Float32Array(SIZE) },
    sampler: 'euler',
    sigmas: Float32Array.from([2, 0]),
    noise: gaussianNoise(3n, dims),
    seed: 3n,
  });
  result.data.forEach((v) => assert.ok(Math.abs(v - (1 + 3 * (2 - 1))) < 1e-5, `${v}`));
});

test('the model gets x/√(σ²+1), ComfyUI integer timesteps and the step index; heun calls twice per step', async () => {
  const { calls, model } = recorder(pointMassModel(new Float32Array(SIZE)));
  const sigmas = computeSigmas('karras', 5);
  const latent = { dims, data: new Float32Array(SIZE).fill(0.5) };
  await sampleWithSigmas({ model, cfg: 1, latent, sampler: 'heun', sigmas, noise: undefined, seed: 0n });
  assert.deepEqual(calls.map((c) => c.step.index), [0, 0, 1, 1, 2, 2, 3, 3, 4]);
  assert.ok(calls.every((c) => c.step.total === 5 && Number.isInteger(c.timestep) && c.timestep === timestepFromSigma(c.sigma)));
  const first = calls[0];
  assert.equal(first.sigma, sigmas[0]);
  first.sample.forEach((v) => assert.ok(Math.abs(v - 0.5 / Math.sqrt(sigmas[0] ** 2 + 1)) < 1e-7));
});

test('initial noise: σ_0·noise, or √(1+σ_0²)·noise when σ_0 = σ_max; add_noise disable starts from the latent', async () => {
  const noise = gaussianNoise(42n, dims);
  const latent = Float32Array.from({ length: SIZE }, (_, i) => i / SIZE);
  const firstInput = async (overrides: Partial<SampleOptions>) => {
    const { calls, model } = recorder(pointMassModel(new Float32Array(SIZE)));
    await sample(baseOptions(model, { seed: 42n, latent: { dims, data: latent }, ...overrides }));
    const call = calls[0];
    return call.sample.map((v) => v * Math.sqrt(call.sigma ** 2 + 1)); // undo c_in: the sampler's x
  };
  const full = await firstInput({});
  const { sigmaMax } = sigmaSchedule();
  full.forEach((v, i) => assert.ok(Math.abs(v - (latent[i] + noise[i] * Math.sqrt(1 + sigmaMax ** 2))) < 1e-4));
  const partial = await firstInput({ denoise: 0.5 });
  const sigma0 = computeSigmas('normal', 6, 0.5)[0];
  partial.forEach((v, i) => assert.ok(Math.abs(v - (latent[i] + noise[i] * sigma0)) < 1e-5));
  const given = Float32Array.from({ length: SIZE }, (_, i) => (i % 3) - 1);
  const injected = await firstInput({ noise: given });
  injected.forEach((v, i) => assert.ok(Math.abs(v - (latent[i] + given[i] * Math.sqrt(1 + sigmaMax ** 2))) < 1e-4));
  const plain = await firstInput({ addNoise: false, startStep: 2 });
  plain.forEach((v, i) => assert.ok(Math.abs(v - latent[i]) < 1e-6));
});

test('end_at_step with leftover noise stops at that σ; without it the last σ is forced to 0', async () => {
  const x0 = new Float32Array(SIZE).fill(0.75);
  const run = (returnWithLeftoverNoise: boolean) =>
    sample(baseOptions(pointMassModel(x0), { endStep: 3, returnWithLeftoverNoise, seed: 9n }));
  const clean = await run(false);
  clean.data.forEach((v) => assert.ok(Math.abs(v - 0.75) < 1e-5));
  const noisy = await run(true);
  const sigma3 = computeSigmas('normal', 6)[3];
  const noise = gaussianNoise(9n, dims);
  // point mass + Euler: x − x0 shrinks in proportion to σ, from the start x = 0 + noise·√(1 + σ_max²)
  const { sigmaMax } = sigmaSchedule();
  const start = noise.map((n) => n * Math.sqrt(1 + sigmaMax ** 2));
  noisy.data.forEach((v, i) => assert.ok(Math.abs(v - (0.75 + ((start[i] - 0.75) * sigma3) / sigmaMax)) < 1e-4, `${i}`));
});

test('nothing to do returns the latent unchanged: denoise 0, start past the end', async () => {
  const latent = { dims, data: Float32Array.from({ length: SIZE }, (_, i) => i) };
  const { calls, model } = recorder(pointMassModel(new Float32Array(SIZE)));
  assert.deepEqual((await sample(baseOptions(model, { latent, denoise: 0 }))).data, latent.data);
  assert.deepEqual((await sample(baseOptions(model, { latent, startStep: 6 }))).data, latent.data);
  assert.equal(calls.length, 0);
});

test('progress is reported once per step with x and denoised; an abort callback stops the loop', async () => {
  const x0 = new Float32Array(SIZE).fill(-0.5);
  const seen: Array<[number, number]> = [];
  await sample(baseOptions(pointMassModel(x0), { sampler: 'dpm_2', onStep: (p) => {
    seen.push([p.index, p.total]);
    p.denoised.forEach((v) => assert.ok(Math.abs(v + 0.5) < 1e-5));
  } }));
  assert.deepEqual(seen, [[0, 6], [1, 6], [2, 6], [3, 6], [4, 6], [5, 6]]);

  const { calls, model } = recorder(pointMassModel(x0));
  let checks = 0;
  const stop = new Error('interrupted');
  await assert.rejects(
    sample(baseOptions(model, { throwIfAborted: () => {
      if (++checks === 4) throw stop;
    } })),
    stop,
  );
  assert.equal(calls.length, 3);
});

test('every advertised sampler runs through sample()', async () => {
  const x0 = new Float32Array(SIZE).fill(0.3);
  for (const sampler of SAMPLER_NAMES) {
    const result = await sample(baseOptions(pointMassModel(x0), { sampler, steps: 4 }));
    assert.equal(result.data.length, SIZE, sampler);
    // uni_pc ends at σ = 0.001 (ComfyUI's stand-in for 0), a thousandth of the noise short of the point;
    // dpm_fast and dpm_adaptive end at σ_min (samplers-extra.test.ts checks where exactly)
    const tolerance = sampler.startsWith('uni_pc') ? 0.006 : 1e-5;
    if (sampler !== 'ddim_diffusers' && !sampler.startsWith('dpm_fast') && sampler !== 'dpm_adaptive') {
      result.data.forEach((v) => assert.ok(Math.abs(v - 0.3) < tolerance, sampler));
    }
  }
});

test('bad options are user errors that name the value', async () => {
  const model = pointMassModel(new Float32Array(SIZE));
  await assert.rejects(sample(baseOptions(model, { sampler: 'res_multistep' as never })), /unknown sampler "res_multistep"; choose one of euler/);
  await assert.rejects(sample(baseOptions(model, { scheduler: 'foo' })), /unknown scheduler "foo"/);
  await assert.rejects(sample(baseOptions(model, { steps: 0 })), /steps must be an integer/);
  await assert.rejects(sample(baseOptions(model, { cfg: Number.NaN })), /cfg must be a finite number, got NaN/);
  await assert.rejects(sample(baseOptions(model, { startStep: -1 })), /start step must be a whole number ≥ 0, got -1/);
  await assert.rejects(sample(baseOptions(model, { seed: -3n })), /seed -3 is outside/);
  await assert.rejects(sample(baseOptions(model, { latent: { dims: [4, 2, 2], data: new Float32Array(16) } })), /4 dims/);
  const bad = { model, cfg: 1, latent: { dims, data: new Float32Array(SIZE) }, sampler: 'euler' as const, noise: undefined, seed: 0n };
  await assert.rejects(sampleWithSigmas({ ...bad, sigmas: Float32Array.from([1, 0, 0]) }), /sigma 1 of the schedule is 0; every sigma must be positive/);
  await assert.rejects(sampleWithSigmas({ ...bad, sigmas: Float32Array.from([Number.NaN, 0]) }), /sigma 0 of the schedule is NaN/);
  await assert.rejects(sample(baseOptions(model, { addNoise: false, seed: 2n ** 64n })), /seed 18446744073709551616 is outside/);
  const wrongSize = async () => new Float32Array(3);
  await assert.rejects(sample(baseOptions(wrongSize)), /returned 3 values for a sample of 32/);
});
