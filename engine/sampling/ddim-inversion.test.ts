import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invertDdim } from './ddim-inversion.ts';
import { sample } from './sample.ts';
import { gaussianNoise } from './noise.ts';
import { gaussianDdpmModel } from './test-models.ts';
import { relativeError } from './test-fixtures.ts';

/** Invert a latent, then denoise it back with ddim_diffusers; both follow the same ODE. */
async function roundTripError(steps: number): Promise<number> {
  const dims = [1, 4, 8, 8];
  const start = gaussianNoise(8n, dims).map((v) => v * 0.5);
  const model = gaussianDdpmModel(0.5);
  const inversion = await invertDdim({ model, latent: { dims, data: start }, steps, cfg: 1 });
  const noisy = inversion.latents[steps];
  const back = await sample({ model, latent: noisy, sampler: 'ddim_diffusers', scheduler: 'ddim_uniform', steps, cfg: 1, seed: 0n, addNoise: false });
  return relativeError(back.data, start);
}

// Measured (data N(0, 0.25)): 10 steps 2.0e-1, 50 steps 3.7e-2, 200 steps 9.0e-3: the inversion
// approximation (ε taken at the target timestep) is first order, so the error must fall with the steps.
test('DDIM inversion then DDIM denoising reconstructs the start on an analytic model', async () => {
  const coarse = await roundTripError(10);
  const fine = await roundTripError(50);
  assert.ok(fine < 0.05, `50 steps: ${fine}`);
  assert.ok(coarse / fine > 4, `10 steps ${coarse}, 50 steps ${fine}`);
});

test('inversion reaches the noise level of its last timestep', async () => {
  const dims = [1, 4, 16, 16];
  const start = gaussianNoise(4n, dims).map((v) => v * 0.5);
  const result = await invertDdim({ model: gaussianDdpmModel(0.5), latent: { dims, data: start }, steps: 25, cfg: 1 });
  assert.equal(result.timesteps[24], 961);
  // Var(x_t) = ᾱ·s² + 1 − ᾱ ≈ 0.99 at t = 961 for data of variance 0.25
  const last = result.latents[25].data;
  const variance = last.reduce((sum, v) => sum + v * v, 0) / last.length;
  assert.ok(Math.abs(variance - 0.99) < 0.1, `variance ${variance}`);
});

test('inversion validates steps and reports progress per step', async () => {
  const dims = [1, 4, 2, 2];
  const latent = { dims, data: new Float32Array(16) };
  const model = gaussianDdpmModel(0.5);
  await assert.rejects(invertDdim({ model, latent, steps: 0, cfg: 1 }), /steps must be an integer/);
  await assert.rejects(invertDdim({ model, latent, steps: 1000, cfg: 1 }), /at most 999 steps/);
  const seen: number[] = [];
  await invertDdim({ model, latent, steps: 5, cfg: 1, onStep: (p) => seen.push(p.index * 10 + p.total) });
  assert.deepEqual(seen, [5, 15, 25, 35, 45]);
});
