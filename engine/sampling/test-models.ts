// Test-only analytic ε models whose ideal denoisers are known exactly (k-diffusion convention: the model
// sees x/√(σ² + 1) and σ). Rows beyond one latent (CFG batches) repeat the same data distribution.

import type { ModelCall } from './model.ts';

/** Data = the single point x0: D(x, σ) = x0, so ε = (x − x0)/σ. */
export function pointMassModel(x0: Float32Array) {
  return async (call: ModelCall): Promise<Float32Array> => {
    const scale = Math.sqrt(call.sigma ** 2 + 1);
    return call.sample.map((v, i) => (v * scale - x0[i % x0.length]) / call.sigma);
  };
}

/** Data ~ N(0, s²) per element: D(x, σ) = x·s²/(s² + σ²), so ε = x·σ/(s² + σ²). */
export function gaussianModel(s: number) {
  return async (call: ModelCall): Promise<Float32Array> => {
    const scale = Math.sqrt(call.sigma ** 2 + 1);
    return call.sample.map((v) => (v * scale * call.sigma) / (s * s + call.sigma ** 2));
  };
}

/** DDPM-space version of gaussianModel for DDIM and inversion (the model sees x_t = √ᾱ·x0 + √(1−ᾱ)·n
 *  unscaled; ᾱ = 1/(1 + σ²)): ε = E[n | x_t] = √(1−ᾱ)·x_t/(ᾱ·s² + 1 − ᾱ). */
export function gaussianDdpmModel(s: number) {
  return async (call: ModelCall): Promise<Float32Array> => {
    const alpha = 1 / (1 + call.sigma ** 2);
    return call.sample.map((v) => (Math.sqrt(1 - alpha) * v) / (alpha * s * s + 1 - alpha));
  };
}
