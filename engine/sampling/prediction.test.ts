// Prediction types (ComfyUI EPS, V_PREDICTION, X0 calculate_denoised) and RescaleCFG's sampler_cfg_function.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { denoisedFrom, plainCfg, rescaledCfg } from './prediction.ts';
import { sampleWithSigmas } from './sample.ts';
import type { ModelCall } from './model.ts';

const dims = [1, 4, 2, 2];
const target = Float32Array.from({ length: 16 }, (_, i) => Math.cos(i) * 0.7);

/** v of the data point `target` (k-diffusion VDenoiser: D = x/(σ²+1) − v·σ/√(σ²+1)), from the scaled input. */
const vModel = async (call: ModelCall) => {
  const root = Math.sqrt(call.sigma ** 2 + 1);
  return call.sample.map((v, i) => ((v * root) / (call.sigma ** 2 + 1) - target[i % 16]) * root / call.sigma);
};

test('v_prediction: D = x/(σ²+1) − v·σ/√(σ²+1); one Euler step with a v model of a point lands on the point', async () => {
  const d = denoisedFrom('v_prediction', Float32Array.from([2]), Float32Array.from([0.5]), 3);
  assert.ok(Math.abs(d[0] - (2 / 10 - (0.5 * 3) / Math.sqrt(10))) < 1e-6);
  const latent = { dims, data: new Float32Array(16) };
  const run = (prediction?: 'v_prediction') => sampleWithSigmas({
    model: vModel, cfg: 1, latent, sampler: 'euler', sigmas: Float32Array.from([5, 0]), noise: new Float32Array(16).fill(1), seed: 1n,
    denoiser: prediction ? { prediction } : undefined,
  });
  const v = await run('v_prediction');
  v.data.forEach((value, i) => assert.ok(Math.abs(value - target[i]) < 1e-5, `${value} vs ${target[i]}`));
  const asEps = await run();
  assert.ok(asEps.data.some((value, i) => Math.abs(value - target[i]) > 0.1), 'read as ε the same output is wrong');
});

test('x0: the output is the prediction; eps: x − σ·ε', () => {
  const x = Float32Array.from([1, 2]);
  const out = Float32Array.from([0.25, -1]);
  assert.deepEqual([...denoisedFrom('x0', x, out, 4)], [0.25, -1]);
  assert.deepEqual([...denoisedFrom('eps', x, out, 4)], [0, 6]);
});

function std(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
}

test('RescaleCFG: multiplier 0 is plain CFG; 1 gives the guided v the std of the conditional v per item', () => {
  const n = 32;
  const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3);
  const cond = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.7));
  const uncond = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) * 0.5);
  const sigma = 2.5;
  const args = { x, cond, uncond, cfg: 7, sigma, items: 2 };
  const plain = plainCfg(cond, uncond, 7);
  rescaledCfg(args, 0).forEach((v, i) => assert.ok(Math.abs(v - plain[i]) < 1e-5, `${v} vs ${plain[i]}`));
  const toV = (d: ArrayLike<number>, from: number, to: number) =>
    Array.from({ length: to - from }, (_, k) => ((x[from + k] / (sigma ** 2 + 1) - d[from + k]) * Math.sqrt(sigma ** 2 + 1)) / sigma);
  const full = rescaledCfg(args, 1);
  for (const [from, to] of [[0, 16], [16, 32]]) {
    assert.ok(Math.abs(std(toV(full, from, to)) - std(toV(cond, from, to))) < 1e-4, `item ${from / 16}`);
  }
  // The default 0.7 mixes the two linearly.
  const mixed = rescaledCfg(args, 0.7);
  mixed.forEach((v, i) => assert.ok(Math.abs(v - (0.7 * full[i] + 0.3 * plain[i])) < 1e-4));
  // cfg 1 skips the unconditional pass (ComfyUI then passes zeros): the result is the conditional prediction.
  rescaledCfg({ ...args, cfg: 1, uncond: undefined }, 0.7).forEach((v, i) => assert.ok(Math.abs(v - cond[i]) < 1e-4));
});

test('lcm: c_out·(x − σ·ε) + c_skip·x with σ_data 0.5 and timestep × 10', () => {
  for (const timestep of [19, 259, 999]) {
    const scaled = timestep * 10;
    const skip = 0.25 / (scaled ** 2 + 0.25);
    const out = scaled / Math.sqrt(scaled ** 2 + 0.25);
    const d = denoisedFrom('lcm', Float32Array.from([1.5]), Float32Array.from([0.4]), 2, timestep);
    assert.ok(Math.abs(d[0] - (out * (1.5 - 0.8) + skip * 1.5)) < 1e-6, `t ${timestep}`);
  }
});
