// ModelSamplingDiscrete's other σ tables: the LCM-distilled one (ModelSamplingDiscreteDistilled) and zero
// terminal SNR (rescale_zero_terminal_snr_sigmas), and sampling on them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distilledSchedule, percentToSigma, sigmaFromTimestep, sigmaSchedule, timestepFromSigma, zeroTerminalSnrSchedule } from './schedule.ts';
import { computeSigmas } from './sigmas.ts';
import { sample } from './sample.ts';
import type { ModelCall } from './model.ts';
import { pointMassModel } from './test-models.ts';

test('distilled: 50 σ of timesteps 19, 39, …, 999; timestep(σ) = 20·index + 19, σ(t) interpolates on that grid', () => {
  const base = sigmaSchedule();
  const lcm = distilledSchedule();
  assert.equal(lcm.sigmas.length, 50);
  for (const k of [0, 1, 25, 49]) {
    assert.equal(lcm.sigmas[k], base.sigmas[19 + 20 * k]);
    assert.equal(timestepFromSigma(lcm.sigmas[k], lcm), 19 + 20 * k);
    assert.ok(Math.abs(sigmaFromTimestep(19 + 20 * k, lcm) - lcm.sigmas[k]) < 1e-5 * lcm.sigmas[k]);
  }
  assert.equal(lcm.sigmaMax, base.sigmaMax);
  assert.equal(timestepFromSigma(base.sigmas[500], lcm), 499, 'σ of timestep 500 is nearest to the entry of 499');
  assert.ok(Math.abs(sigmaFromTimestep(0, lcm) - lcm.sigmaMin) < 1e-6, 'clamped below the first entry');
  assert.ok(percentToSigma(0.5, lcm) > 0 && percentToSigma(0.5, lcm) < lcm.sigmaMax);
});

test('zsnr: the last ᾱ becomes 4.8973451890853435e-08 (σ_max ≈ 4518.8), the first σ is kept', () => {
  const base = sigmaSchedule();
  const zsnr = zeroTerminalSnrSchedule();
  const alphaBar = Math.fround(4.8973451890853435e-8);
  assert.ok(Math.abs(zsnr.sigmaMax - Math.sqrt((1 - alphaBar) / alphaBar)) < 0.01, `${zsnr.sigmaMax}`);
  assert.ok(Math.abs(zsnr.sigmaMin - base.sigmaMin) < 1e-5, `${zsnr.sigmaMin} vs ${base.sigmaMin}`);
  for (let t = 1; t < 1000; t++) assert.ok(zsnr.sigmas[t] > zsnr.sigmas[t - 1], 'still increasing');
  assert.ok(zsnr.sigmas[998] > base.sigmas[998]);
  // Karras over the new range starts at the new σ_max.
  assert.ok(Math.abs(computeSigmas('karras', 5, 1, undefined, zsnr)[0] - zsnr.sigmaMax) < 0.01);
});

test('sample() on the distilled schedule: σ list, model timesteps and max-denoise noise scale follow it', async () => {
  const lcm = distilledSchedule();
  const calls: ModelCall[] = [];
  const x0 = new Float32Array(16).fill(0.5);
  const inner = pointMassModel(x0);
  const model = async (call: ModelCall) => {
    calls.push(call);
    return inner(call);
  };
  const latent = { dims: [1, 4, 2, 2], data: new Float32Array(16) };
  const noise = new Float32Array(16).fill(1);
  await sample({ model, latent, noise, sampler: 'euler', scheduler: 'simple', steps: 4, cfg: 1, seed: 1n, denoiser: { schedule: lcm } });
  const expected = computeSigmas('simple', 4, 1, 'euler', lcm);
  assert.deepEqual(calls.map((c) => c.sigma), [...expected.subarray(0, 4)]);
  assert.deepEqual(calls.map((c) => c.timestep), [999, 759, 499, 259]);
  // x = noise·√(1 + σ_max²) at the first call (max denoise), as ComfyUI's noise_scaling.
  const scale = Math.sqrt(expected[0] ** 2 + 1);
  assert.ok(Math.abs(calls[0].sample[0] - Math.fround(scale) / Math.fround(Math.sqrt(Math.fround(expected[0] ** 2 + 1)))) < 1e-5);
});
