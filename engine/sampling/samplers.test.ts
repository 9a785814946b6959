// Each sampler on data whose ideal denoiser is exact: a single point (every sampler must land on it)
// and a Gaussian N(0, s²) (the probability-flow ODE has the closed form x(σ) ∝ √(s² + σ²)).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleWithSigmas, type KSamplerName } from './sample.ts';
import { computeSigmas } from './sigmas.ts';
import { gaussianNoise } from './noise.ts';
import { pointMassModel, gaussianModel } from './test-models.ts';

const K_NAMES: KSamplerName[] = ['euler', 'euler_ancestral', 'heun', 'dpm_2', 'dpmpp_2m', 'dpmpp_2m_sde', 'lcm', 'ddim'];

function maxAbsDiff(a: Float32Array, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

test('every sampler lands on the data point when the data is a single point', async () => {
  const dims = [1, 4, 4, 4];
  const x0 = gaussianNoise(3n, dims).map((v) => v * 0.7);
  for (const sampler of K_NAMES) {
    const sigmas = computeSigmas('karras', 10, 1, sampler);
    const result = await sampleWithSigmas({
      model: pointMassModel(x0),
      cfg: 1,
      latent: { dims, data: new Float32Array(64) },
      sampler,
      sigmas,
      noise: gaussianNoise(11n, dims),
      seed: 11n,
    });
    assert.ok(maxAbsDiff(result.data, x0) < 1e-5, `${sampler}: ${maxAbsDiff(result.data, x0)}`);
  }
});

/** Relative error against the exact Gaussian ODE solution, at σ_min (the state before the final step,
 *  whose size is fixed by σ_min whatever the step count) and at the end (σ = 0). */
async function gaussianOdeErrors(sampler: KSamplerName, steps: number): Promise<{ atSigmaMin: number; final: number }> {
  const s = 0.5;
  const dims = [1, 4, 4, 4];
  const sigmas = computeSigmas('karras', steps, 1, sampler);
  const states: Float32Array[] = [];
  const result = await sampleWithSigmas({
    model: gaussianModel(s),
    cfg: 1,
    latent: { dims, data: new Float32Array(64) },
    sampler,
    sigmas,
    noise: gaussianNoise(21n, dims),
    seed: 21n,
    onStep: (p) => states.push(p.x.slice()),
  });
  const exactAt = (sigma: number) => states[0].map((v) => (v * Math.sqrt(s * s + sigma ** 2)) / Math.sqrt(s * s + sigmas[0] ** 2));
  const relative = (actual: Float32Array, exact: Float32Array) => maxAbsDiff(actual, exact) / Math.max(...exact.map(Math.abs));
  const last = sigmas.length - 2;
  return { atSigmaMin: relative(states[last], exactAt(sigmas[last])), final: relative(result.data, exactAt(0)) };
}

// Measured at σ_min (karras, 10 → 40 steps): euler 1.7e-1 → 4.2e-2 (first order: ÷4), heun 7.0e-2 → 3.4e-3,
// dpm_2 3.1e-2 → 1.8e-3, dpmpp_2m 5.3e-2 → 3.3e-3 (second order: ÷16). The final Euler-type step from
// σ_min = 0.029 to 0 adds a fixed ~1.7e-3.
test('deterministic samplers converge to the exact Gaussian ODE solution at their order', async () => {
  const expectations: Array<[KSamplerName, number, number]> = [
    ['euler', 0.2, 3],
    ['ddim', 0.2, 3],
    ['heun', 0.1, 10],
    ['dpm_2', 0.05, 10],
    ['dpmpp_2m', 0.07, 10],
  ];
  for (const [sampler, bound10, minRatio] of expectations) {
    const coarse = await gaussianOdeErrors(sampler, 10);
    const fine = await gaussianOdeErrors(sampler, 40);
    assert.ok(coarse.atSigmaMin < bound10, `${sampler} 10 steps: ${coarse.atSigmaMin}`);
    assert.ok(coarse.atSigmaMin / fine.atSigmaMin > minRatio, `${sampler}: 10 steps ${coarse.atSigmaMin}, 40 steps ${fine.atSigmaMin}`);
    if (minRatio > 3) assert.ok(fine.final < 6e-3, `${sampler} 40 steps final: ${fine.final}`);
  }
});

// The stochastic samplers must draw from the data distribution: sample variance → s² = 0.25 as steps grow.
// Measured (karras): euler_ancestral 30 steps 0.195, 300 steps 0.243 (16384 values, standard error of the
// variance ~1%); dpmpp_2m_sde 30 steps 0.267, 100 steps 0.259 (4096 values, ~2%; its Brownian tree draws
// up to 24 tensors a step, so this case is kept small).
test('ancestral and SDE samplers produce samples with the data variance', async () => {
  const cases = [
    { sampler: 'euler_ancestral', dims: [1, 4, 64, 64], steps: 300, bound: 0.06 },
    { sampler: 'dpmpp_2m_sde', dims: [1, 4, 32, 32], steps: 100, bound: 0.08 },
  ] as const;
  for (const { sampler, dims, steps, bound } of cases) {
    const size = dims.reduce((n: number, d: number) => n * d, 1);
    const result = await sampleWithSigmas({
      model: gaussianModel(0.5),
      cfg: 1,
      latent: { dims, data: new Float32Array(size) },
      sampler,
      sigmas: computeSigmas('karras', steps),
      noise: gaussianNoise(5n, dims),
      seed: 5n,
    });
    const variance = result.data.reduce((sum, v) => sum + v * v, 0) / size;
    assert.ok(Math.abs(variance / 0.25 - 1) < bound, `${sampler}: variance ${variance}`);
  }
});

test('stochastic samplers are reproducible for a seed and change with it', async () => {
  const dims = [1, 4, 4, 4];
  const run = (seed: bigint) =>
    sampleWithSigmas({
      model: gaussianModel(0.5),
      cfg: 1,
      latent: { dims, data: new Float32Array(64) },
      sampler: 'euler_ancestral',
      sigmas: computeSigmas('normal', 8),
      noise: gaussianNoise(1n, dims),
      seed,
    });
  assert.deepEqual((await run(9n)).data, (await run(9n)).data);
  assert.notDeepEqual((await run(9n)).data, (await run(10n)).data);
  const sde = (seed: bigint) =>
    sampleWithSigmas({
      model: gaussianModel(0.5),
      cfg: 1,
      latent: { dims, data: new Float32Array(64) },
      sampler: 'dpmpp_2m_sde',
      sigmas: computeSigmas('karras', 8),
      noise: gaussianNoise(1n, dims),
      seed,
    });
  assert.deepEqual((await sde(9n)).data, (await sde(9n)).data);
  assert.notDeepEqual((await sde(9n)).data, (await sde(10n)).data);
});
