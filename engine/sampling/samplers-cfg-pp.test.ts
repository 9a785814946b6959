// CFG++ samplers against their update rules (ComfyUI sample_euler_ancestral_cfg_pp, sample_dpmpp_2m_cfg_pp,
// sample_dpmpp_2s_ancestral_cfg_pp; ε model, α = 1) on toy models whose denoisers are known exactly: point masses,
// and a Gaussian for the unconditional side where the sampler must use the prediction at its own midpoint, so
// every step can be recomputed here in float64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleWithSigmas, type KSamplerName } from './sample.ts';
import { computeSigmas } from './sigmas.ts';
import { gaussianNoise, NoiseStream, NOISE_STREAM_SAMPLER } from './noise.ts';
import { ancestralStep } from './samplers.ts';
import { gaussianModel } from './test-models.ts';
import type { ModelCall } from './model.ts';

const dims = [1, 4, 4, 4];
const SIZE = 64;

/** Point mass at `cond` for the conditional rows, at `uncond` for the unconditional ones; records the calls. */
function twoPointModel(cond: Float32Array, uncond: Float32Array, calls: ModelCall['guidance'][] = []) {
  return async (call: ModelCall): Promise<Float32Array> => {
    calls.push(call.guidance);
    const scale = Math.sqrt(call.sigma ** 2 + 1);
    const rows = call.sample.length / SIZE;
    return call.sample.map((v, i) => {
      const uncondRow = call.guidance === 'uncond+cond' && Math.floor(i / SIZE) < rows / 2;
      const target = uncondRow ? uncond[i % SIZE] : cond[i % SIZE];
      return (v * scale - target) / call.sigma;
    });
  };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const cond = gaussianNoise(3n, dims).map((v) => v * 0.7);
const uncond = gaussianNoise(4n, dims).map((v) => v * 0.5);

/** The update rule in float64: x' = D + σ_down·(x − D_u)/σ (+ σ_up·n), x' = D on the last step to 0. */
function reference(sampler: 'euler_cfg_pp' | 'euler_ancestral_cfg_pp', sigmas: Float32Array, x0: Float32Array, cfg: number, seed: bigint): Float64Array[] {
  const guided = cond.map((c, i) => uncond[i] + (c - uncond[i]) * cfg);
  const stream = new NoiseStream(seed, NOISE_STREAM_SAMPLER);
  let x = Float64Array.from(x0);
  const states = [x];
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const next = sigmas[i + 1];
    if (next === 0) {
      x = Float64Array.from(guided);
    } else {
      const { down, up } = sampler === 'euler_cfg_pp' ? { down: next, up: 0 } : ancestralStep(sigma, next);
      const noise = sampler === 'euler_cfg_pp' ? undefined : stream.next(SIZE);
      const current = x;
      x = current.map((v, k) => guided[k] + (down * (v - uncond[k])) / sigma + (noise ? noise[k] * up : 0));
    }
    states.push(x);
  }
  return states;
}

for (const sampler of ['euler_cfg_pp', 'euler_ancestral_cfg_pp'] as const) {
  test(`${sampler} follows the CFG++ update rule step by step and lands on the guided point`, async () => {
    const sigmas = computeSigmas('karras', 8, 1, sampler);
    const noise = gaussianNoise(11n, dims);
    for (const cfg of [1, 3.5]) {
      const seen: Float32Array[] = [];
      const result = await sampleWithSigmas({
        model: twoPointModel(cond, uncond),
        cfg,
        latent: { dims, data: new Float32Array(SIZE) },
        sampler,
        sigmas,
        noise,
        seed: 7n,
        onStep: (p) => seen.push(p.x.slice()),
      });
      const expected = reference(sampler, sigmas, seen[0], cfg, 7n);
      seen.forEach((state, i) => assert.ok(maxAbsDiff(state, expected[i]) < 1e-4, `${sampler} cfg ${cfg} step ${i}: ${maxAbsDiff(state, expected[i])}`));
      assert.ok(maxAbsDiff(result.data, expected[expected.length - 1]) < 1e-5, `${sampler} cfg ${cfg} final`);
      // the steps differ from plain Euler on the guided prediction: x moves along x − D_u, not x − D
      if (cfg !== 1) assert.ok(maxAbsDiff(seen[2], reference(sampler, sigmas, seen[0], 1, 7n)[2]) > 0.01);
    }
  });
}

test('at cfg 1 the CFG++ samplers still run the unconditional pass (ComfyUI disables the cfg-1 shortcut)', async () => {
  const calls: ModelCall['guidance'][] = [];
  const sigmas = computeSigmas('normal', 3);
  const base = { cfg: 1, latent: { dims, data: new Float32Array(SIZE) }, sigmas, noise: gaussianNoise(1n, dims), seed: 1n };
  await sampleWithSigmas({ ...base, model: twoPointModel(cond, uncond, calls), sampler: 'euler_cfg_pp' });
  assert.deepEqual(calls, ['uncond+cond', 'uncond+cond', 'uncond+cond']);
  calls.length = 0;
  await sampleWithSigmas({ ...base, model: twoPointModel(cond, uncond, calls), sampler: 'euler' });
  assert.deepEqual(calls, ['cond', 'cond', 'cond']);
});

test('with equal branches each CFG++ sampler is its plain sampler', async () => {
  const pairs: Array<[KSamplerName, KSamplerName]> = [
    ['euler_cfg_pp', 'euler'],
    ['euler_ancestral_cfg_pp', 'euler_ancestral'],
    ['dpmpp_2m_cfg_pp', 'dpmpp_2m'],
    ['dpmpp_2s_ancestral_cfg_pp', 'dpmpp_2s_ancestral'],
  ];
  for (const [plusPlus, plain] of pairs) {
    const run = (sampler: KSamplerName) =>
      sampleWithSigmas({
        model: gaussianModel(0.5),
        cfg: 4,
        latent: { dims, data: new Float32Array(SIZE) },
        sampler,
        sigmas: computeSigmas('karras', 12),
        noise: gaussianNoise(5n, dims),
        seed: 5n,
      });
    const a = await run(plusPlus);
    const b = await run(plain);
    assert.ok(maxAbsDiff(a.data, b.data) < 1e-5, `${plusPlus} vs ${plain}: ${maxAbsDiff(a.data, b.data)}`);
  }
});

test('the CFG++ unconditional prediction goes through the prediction type (v_prediction)', async () => {
  // a v model whose ideal denoiser is the point `uncond` / `cond`: v = (x/(σ²+1) − D)·√(σ²+1)/σ on the raw x
  const vModel = async (call: ModelCall): Promise<Float32Array> => {
    const root = Math.sqrt(call.sigma ** 2 + 1);
    const rows = call.sample.length / SIZE;
    return call.sample.map((v, i) => {
      const target = call.guidance === 'uncond+cond' && Math.floor(i / SIZE) < rows / 2 ? uncond[i % SIZE] : cond[i % SIZE];
      return ((v * root) / (root * root) - target) * root / call.sigma;
    });
  };
  const sigmas = computeSigmas('karras', 6);
  const seen: Float32Array[] = [];
  await sampleWithSigmas({
    model: vModel,
    cfg: 2,
    latent: { dims, data: new Float32Array(SIZE) },
    sampler: 'euler_cfg_pp',
    sigmas,
    noise: gaussianNoise(2n, dims),
    seed: 2n,
    denoiser: { prediction: 'v_prediction' },
    onStep: (p) => seen.push(p.x.slice()),
  });
  const expected = reference('euler_cfg_pp', sigmas, seen[0], 2, 2n);
  seen.forEach((state, i) => assert.ok(maxAbsDiff(state, expected[i]) < 1e-4, `step ${i}: ${maxAbsDiff(state, expected[i])}`));
});

/** Unconditional rows: data N(0, s²) (D_u = x·s²/(s² + σ²)); conditional rows: the point `cond`. */
function gaussianUncondModel(s: number) {
  return async (call: ModelCall): Promise<Float32Array> => {
    const scale = Math.sqrt(call.sigma ** 2 + 1);
    const rows = call.sample.length / SIZE;
    return call.sample.map((v, i) => {
      const x = v * scale;
      if (call.guidance === 'uncond+cond' && Math.floor(i / SIZE) < rows / 2) return (x * call.sigma) / (s * s + call.sigma ** 2);
      return (x - cond[i % SIZE]) / call.sigma;
    });
  };
}

test('dpmpp_2m_cfg_pp follows its update rule step by step (second order on D − old D_u)', async () => {
  const s = 0.5;
  const cfg = 3;
  const sigmas = computeSigmas('karras', 8);
  const seen: Float32Array[] = [];
  const result = await sampleWithSigmas({
    model: gaussianUncondModel(s), cfg, latent: { dims, data: new Float32Array(SIZE) }, sampler: 'dpmpp_2m_cfg_pp',
    sigmas, noise: gaussianNoise(3n, dims), seed: 3n, onStep: (p) => seen.push(p.x.slice()),
  });
  let x = Float64Array.from(seen[0]);
  let oldUncond: Float64Array | undefined;
  for (let i = 0; i < sigmas.length - 1; i++) {
    assert.ok(maxAbsDiff(seen[i], x) < 1e-4, `step ${i}: ${maxAbsDiff(seen[i], x)}`);
    const [sigma, next] = [sigmas[i], sigmas[i + 1]];
    const u = x.map((v) => (v * s * s) / (s * s + sigma * sigma));
    const d = u.map((v, k) => v + cfg * (cond[k] - v));
    const h = Math.log(sigma) - Math.log(next);
    const old = oldUncond;
    const coefficient = old && next > 0 ? -Math.expm1(-h) / (2 * ((Math.log(sigmas[i - 1]) - Math.log(sigma)) / h)) : 0;
    const current = x;
    x = current.map((v, k) => d[k] - Math.exp(-h) * u[k] + (old ? coefficient * (d[k] - old[k]) : 0) + Math.exp(-h) * v);
    oldUncond = u;
  }
  assert.ok(maxAbsDiff(result.data, x) < 1e-4, `final: ${maxAbsDiff(result.data, x)}`);
});

test('dpmpp_2s_ancestral_cfg_pp follows its update rule: the midpoint\'s own D_u, noise, then D − D_u added', async () => {
  const s = 0.5;
  const cfg = 2.5;
  const sigmas = computeSigmas('karras', 6);
  const seen: Float32Array[] = [];
  let calls = 0;
  const model = gaussianUncondModel(s);
  const result = await sampleWithSigmas({
    model: async (call) => { calls++; return model(call); }, cfg, latent: { dims, data: new Float32Array(SIZE) },
    sampler: 'dpmpp_2s_ancestral_cfg_pp', sigmas, noise: gaussianNoise(4n, dims), seed: 9n, onStep: (p) => seen.push(p.x.slice()),
  });
  assert.equal(calls, 2 * (sigmas.length - 1) - 1, 'two evaluations a step, one on the last (σ_down = 0)');
  const stream = new NoiseStream(9n, NOISE_STREAM_SAMPLER);
  const uncondAt = (x: Float64Array, sigma: number) => x.map((v) => (v * s * s) / (s * s + sigma * sigma));
  let x = Float64Array.from(seen[0]);
  for (let i = 0; i < sigmas.length - 1; i++) {
    assert.ok(maxAbsDiff(seen[i], x) < 1e-4, `step ${i}: ${maxAbsDiff(seen[i], x)}`);
    const [sigma, next] = [sigmas[i], sigmas[i + 1]];
    const u = uncondAt(x, sigma);
    const guidance = u.map((v, k) => cfg * (cond[k] - v));
    const { down, up } = ancestralStep(sigma, next);
    const current = x;
    if (down === 0) {
      x = u.slice();
    } else {
      const h = Math.log(sigma) - Math.log(down);
      const mid = sigma * Math.exp(-h / 2);
      const uMid = uncondAt(current.map((v, k) => Math.exp(-h / 2) * v - Math.expm1(-h / 2) * u[k]), mid);
      x = current.map((v, k) => (down / sigma) * v - Math.expm1(-h) * uMid[k]);
    }
    if (next > 0) {
      const n = stream.next(SIZE);
      x = x.map((v, k) => v + n[k] * up);
    }
    x = x.map((v, k) => v + guidance[k]);
  }
  assert.ok(maxAbsDiff(result.data, x) < 1e-4, `final: ${maxAbsDiff(result.data, x)}`);
});
