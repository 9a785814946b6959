// Samplers that add fresh noise each step from ComfyUI's default noise sampler (stream 1 here, see
// sample.ts samplerNoise), ε-model branches of comfy/k_diffusion/sampling.py with eta 1, s_noise 1.
// Noise is drawn exactly when ComfyUI draws it, so the stream stays aligned step by step.

import { ancestralStep, eulerStep, type KSampler } from './samplers.ts';

function addScaled(x: Float32Array, noise: Float32Array, scale: number): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] += noise[i] * scale;
  return x;
}

/** dpm_2_ancestral: a DPM-Solver-2 midpoint step down to σ_down, then noise of size σ_up. */
export const dpm2Ancestral: KSampler = async (x, run) => {
  const { sigmas } = run;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const denoised = await run.denoise(x, sigma, i);
    const { down, up } = ancestralStep(sigma, sigmas[i + 1]);
    run.report(i, x, denoised);
    if (down === 0) {
      x = eulerStep(x, denoised, sigma, 0);
      continue;
    }
    const sigmaMid = Math.exp((Math.log(sigma) + Math.log(down)) / 2);
    const midpoint = x.map((v, k) => v + ((v - denoised[k]) / sigma) * (sigmaMid - sigma));
    const denoisedMid = await run.denoise(midpoint, sigmaMid, i);
    const current = x;
    x = current.map((v, k) => v + ((midpoint[k] - denoisedMid[k]) / sigmaMid) * (down - sigma));
    addScaled(x, run.noise(sigma, sigmas[i + 1]), up);
  }
  return x;
};

/** dpmpp_2s_ancestral: DPM-Solver++(2S) (midpoint in λ = −log σ) down to σ_down, then noise of size σ_up. */
export const dpmpp2sAncestral: KSampler = async (x, run) => {
  const { sigmas } = run;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const denoised = await run.denoise(x, sigma, i);
    const { down, up } = ancestralStep(sigma, sigmaNext);
    run.report(i, x, denoised);
    if (down === 0) {
      x = eulerStep(x, denoised, sigma, 0);
    } else {
      const h = Math.log(sigma) - Math.log(down);
      const sigmaMid = sigma * Math.exp(-h / 2);
      const halfGain = Math.expm1(-h / 2);
      const mid = x.map((v, k) => (sigmaMid / sigma) * v - halfGain * denoised[k]);
      const denoisedMid = await run.denoise(mid, sigmaMid, i);
      const gain = Math.expm1(-h);
      const ratio = down / sigma;
      x = x.map((v, k) => ratio * v - gain * denoisedMid[k]);
    }
    if (sigmaNext > 0) addScaled(x, run.noise(sigma, sigmaNext), up);
  }
  return x;
};

/** ddpm: DDPM's ancestral step (Ho et al. 2020, posterior mean + posterior σ) between the ᾱ of σ and σ',
 *  in DDPM space x/√(1 + σ²), as ComfyUI's generic_step_sampler + DDPMSampler_step. */
export const ddpm: KSampler = async (x, run) => {
  const { sigmas } = run;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const denoised = await run.denoise(x, sigma, i);
    run.report(i, x, denoised);
    const alphaBar = 1 / (sigma * sigma + 1);
    const alphaBarNext = 1 / (sigmaNext * sigmaNext + 1);
    const alpha = alphaBar / alphaBarNext;
    const inputScale = 1 / Math.sqrt(1 + sigma * sigma);
    const meanScale = Math.sqrt(1 / alpha);
    const epsScale = (1 - alpha) / Math.sqrt(1 - alphaBar);
    const current = x;
    const next = current.map((v, k) => meanScale * (v * inputScale - epsScale * ((v - denoised[k]) / sigma)));
    if (sigmaNext > 0) {
      addScaled(next, run.noise(sigma, sigmaNext), Math.sqrt(((1 - alpha) * (1 - alphaBarNext)) / (1 - alphaBar)));
      const outputScale = Math.sqrt(1 + sigmaNext * sigmaNext);
      for (let k = 0; k < next.length; k++) next[k] *= outputScale;
    }
    x = next;
  }
  return x;
};
