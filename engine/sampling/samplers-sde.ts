// DPM-Solver++ SDE samplers whose noise is the increment of one Brownian path (sample.ts gives them a
// BrownianTree over the schedule's positive σ range, ComfyUI's BrownianTreeNoiseSampler), ε-model branches
// of comfy/k_diffusion/sampling.py (α = 1, λ = −log σ) with eta 1, s_noise 1.

import { ancestralStep, type KSampler } from './samplers.ts';

/** dpmpp_sde: DPM-Solver++ stochastic, two stages per step (r = ½): an ancestral half step to
 *  σ_s = √(σ·σ'), a model call there, then the full ancestral step with D mixed from both calls. */
export const dpmppSde: KSampler = async (x, run) => {
  const { sigmas } = run;
  const r = 0.5;
  const mix = 1 / (2 * r);
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const denoised = await run.denoise(x, sigma, i);
    run.report(i, x, denoised);
    if (sigmaNext === 0) {
      x = denoised;
      continue;
    }
    const h = Math.log(sigma) - Math.log(sigmaNext);
    const sigmaMid = Math.exp(-(-Math.log(sigma) + r * h));
    // stage 1: deterministic part to σ_down of (σ → σ_mid), then its σ_up of noise
    const first = ancestralStep(sigma, sigmaMid);
    const firstRatio = first.down / sigma; // e^{−h'} with h' = λ(σ_down) − λ(σ)
    const firstGain = Math.expm1(Math.log(first.down) - Math.log(sigma));
    const firstNoise = run.noise(sigma, sigmaMid);
    const mid = x.map((v, k) => firstRatio * v - firstGain * denoised[k] + firstNoise[k] * first.up);
    const denoisedMid = await run.denoise(mid, sigmaMid, i);
    // stage 2: the full step with D' = (1 − 1/(2r))·D + 1/(2r)·D_mid
    const second = ancestralStep(sigma, sigmaNext);
    const ratio = second.down / sigma;
    const gain = Math.expm1(Math.log(second.down) - Math.log(sigma));
    const noise = run.noise(sigma, sigmaNext);
    x = x.map((v, k) => ratio * v - gain * ((1 - mix) * denoised[k] + mix * denoisedMid[k]) + noise[k] * second.up);
  }
  return x;
};

/** dpmpp_3m_sde: DPM-Solver++(3M) SDE; first and second steps use the 1st/2nd-order forms while the history
 *  of denoised values fills. */
export const dpmpp3mSde: KSampler = async (x, run) => {
  const { sigmas } = run;
  let older: Float32Array | undefined; // D two steps back
  let previous: Float32Array | undefined; // D one step back
  let hPrevious: number | undefined;
  let hOlder: number | undefined;
  let h: number | undefined;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const denoised = await run.denoise(x, sigma, i);
    run.report(i, x, denoised);
    if (sigmaNext === 0) {
      x = denoised;
    } else {
      h = Math.log(sigma) - Math.log(sigmaNext);
      const hEta = 2 * h;
      const decay = (sigmaNext / sigma) * Math.exp(-h);
      const gain = -Math.expm1(-hEta);
      const phi2 = Math.expm1(-hEta) / hEta + 1;
      const phi3 = phi2 / hEta - 0.5;
      const next = x.map((v, k) => decay * v + gain * denoised[k]);
      if (hOlder !== undefined && older !== undefined && previous !== undefined && hPrevious !== undefined) {
        const r0 = hPrevious / h;
        const r1 = hOlder / h;
        for (let k = 0; k < next.length; k++) {
          const d10 = (denoised[k] - previous[k]) / r0;
          const d11 = (previous[k] - older[k]) / r1;
          const d1 = d10 + ((d10 - d11) * r0) / (r0 + r1);
          const d2 = (d10 - d11) / (r0 + r1);
          next[k] += phi2 * d1 - phi3 * d2;
        }
      } else if (hPrevious !== undefined && previous !== undefined) {
        const r = hPrevious / h;
        for (let k = 0; k < next.length; k++) next[k] += (phi2 * (denoised[k] - previous[k])) / r;
      }
      const noise = run.noise(sigma, sigmaNext);
      const noiseScale = sigmaNext * Math.sqrt(-Math.expm1(-2 * h));
      for (let k = 0; k < next.length; k++) next[k] += noise[k] * noiseScale;
      x = next;
    }
    // ComfyUI shifts the history every step, even the final denoising one (h then keeps its old value)
    older = previous;
    previous = denoised;
    hOlder = hPrevious;
    hPrevious = h;
  }
  return x;
};
