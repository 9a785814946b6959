// ComfyUI's k-diffusion samplers (comfy/k_diffusion/sampling.py, defaults: s_churn 0, eta 1, s_noise 1)
// over a descending σ list, in "VE" space x = x0 + σ·n. Update rules: sd15-reference.md §5.7.

/** What a sampler gets besides the starting x. */
export interface KRun {
  /** Descending σ list; the last entry is usually 0. */
  sigmas: Float32Array;
  /** The (guided) denoiser D(x, σ); `step` is the sampler step the evaluation belongs to. */
  denoise(x: Float32Array, sigma: number, step: number): Promise<Float32Array>;
  /** D(x, σ) and the unconditional branch's own denoised value, the unconditional pass run even at cfg 1
   *  (the CFG++ samplers; given by sampleWithSigmas). */
  denoiseWithUncond?(x: Float32Array, sigma: number, step: number): Promise<{ denoised: Float32Array; uncond: Float32Array }>;
  /** Standard-normal noise of x's size for the step σ → σ' (ancestral, SDE and lcm noise). */
  noise(sigma: number, sigmaNext: number): Float32Array;
  /** Called once per step after its first evaluation, with the step's x and denoised x0. */
  report(step: number, x: Float32Array, denoised: Float32Array): void;
}

export type KSampler = (x: Float32Array, run: KRun) => Promise<Float32Array>;

const f32 = Math.fround;

/** x + (x − D)/σ·(σ' − σ): one Euler step of the probability-flow ODE dx/dσ = (x − D)/σ. */
export function eulerStep(x: Float32Array, denoised: Float32Array, sigma: number, sigmaNext: number): Float32Array {
  const out = new Float32Array(x.length);
  const dt = f32(sigmaNext - sigma);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + f32(f32(f32(x[i] - denoised[i]) / sigma) * dt);
  return out;
}

function derivative(x: Float32Array, denoised: Float32Array, sigma: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] - denoised[i]) / sigma;
  return out;
}

/** euler (also ComfyUI's "ddim", which maps to the same function). */
export const euler: KSampler = async (x, run) => {
  const { sigmas } = run;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const denoised = await run.denoise(x, sigmas[i], i);
    run.report(i, x, denoised);
    x = eulerStep(x, denoised, sigmas[i], sigmas[i + 1]);
  }
  return x;
};

/** σ_up / σ_down split of an ancestral step (k-diffusion get_ancestral_step, eta 1). */
export function ancestralStep(sigma: number, sigmaNext: number): { down: number; up: number } {
  const up = Math.min(sigmaNext, Math.sqrt((sigmaNext ** 2 * (sigma ** 2 - sigmaNext ** 2)) / sigma ** 2));
  return { down: Math.sqrt(sigmaNext ** 2 - up ** 2), up };
}

export const eulerAncestral: KSampler = async (x, run) => {
  const { sigmas } = run;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const denoised = await run.denoise(x, sigmas[i], i);
    run.report(i, x, denoised);
    const { down, up } = ancestralStep(sigmas[i], sigmas[i + 1]);
    if (down === 0) {
      x = denoised;
      continue;
    }
    x = eulerStep(x, denoised, sigmas[i], down);
    const noise = run.noise(sigmas[i], sigmas[i + 1]);
    for (let k = 0; k < x.length; k++) x[k] += f32(noise[k] * up);
  }
  return x;
};

/** heun: Euler predictor, trapezoidal corrector; the last step (to σ = 0) is plain Euler. */
export const heun: KSampler = async (x, run) => {
  const { sigmas } = run;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const denoised = await run.denoise(x, sigma, i);
    run.report(i, x, denoised);
    const predicted = eulerStep(x, denoised, sigma, sigmaNext);
    if (sigmaNext === 0) {
      x = predicted;
      continue;
    }
    const d = derivative(x, denoised, sigma);
    const d2 = derivative(predicted, await run.denoise(predicted, sigmaNext, i), sigmaNext);
    const dt = sigmaNext - sigma;
    x = x.map((v, k) => v + f32(f32(d[k] + d2[k]) / 2) * dt);
  }
  return x;
};

/** dpm_2 (DPM-Solver-2 midpoint in log σ). Its schedule is built for steps + 1 with the penultimate σ
 *  dropped (computeSigmas does that for this sampler). */
export const dpm2: KSampler = async (x, run) => {
  const { sigmas } = run;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const denoised = await run.denoise(x, sigma, i);
    run.report(i, x, denoised);
    if (sigmaNext === 0) {
      x = eulerStep(x, denoised, sigma, sigmaNext);
      continue;
    }
    const sigmaMid = f32(Math.exp((Math.log(sigma) + Math.log(sigmaNext)) / 2));
    const midpoint = eulerStep(x, denoised, sigma, sigmaMid);
    const d2 = derivative(midpoint, await run.denoise(midpoint, sigmaMid, i), sigmaMid);
    const dt = sigmaNext - sigma;
    x = x.map((v, k) => v + d2[k] * dt);
  }
  return x;
};

/** dpmpp_2m: DPM-Solver++(2M), second order from the second step on; first and last steps first order. */
export const dpmpp2m: KSampler = async (x, run) => {
  const { sigmas } = run;
  let previous: Float32Array | undefined;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const denoised = await run.denoise(x, sigma, i);
    run.report(i, x, denoised);
    if (sigmaNext === 0) {
      x = denoised; // the first-order update with σ' = 0 is exactly D
    } else {
      const h = Math.log(sigma) - Math.log(sigmaNext); // t = −log σ
      const ratio = sigmaNext / sigma;
      const gain = -Math.expm1(-h);
      let target = denoised;
      if (previous !== undefined) {
        const r = (Math.log(sigmas[i - 1]) - Math.log(sigma)) / h;
        const old = previous;
        target = denoised.map((v, k) => (1 + 1 / (2 * r)) * v - (1 / (2 * r)) * old[k]);
      }
      x = x.map((v, k) => ratio * v + gain * target[k]);
    }
    previous = denoised;
  }
  return x;
};

/** dpmpp_2m_sde (midpoint, eta 1): λ = −log σ, h = λ' − λ; its noise is the normalised increment of a
 *  Brownian path over [σ_min, σ_max] (sample.ts gives it a BrownianTree, as ComfyUI does). */
export const dpmpp2mSde: KSampler = async (x, run) => {
  const { sigmas } = run;
  let previous: Float32Array | undefined;
  let hLast = 0;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const denoised = await run.denoise(x, sigma, i);
    run.report(i, x, denoised);
    if (sigmaNext === 0) {
      x = denoised;
      previous = denoised;
      continue;
    }
    const h = Math.log(sigma) - Math.log(sigmaNext);
    const decay = (sigmaNext / sigma) * Math.exp(-h); // (σ'/σ)·e^{−hη}, η = 1
    const gain = -Math.expm1(-2 * h); // α'(1 − e^{−h(η+1)}), α' = 1 for ε models
    const correction = previous === undefined ? 0 : (0.5 * gain * h) / hLast; // ½·gain·(1/r), r = h_last/h
    const old = previous;
    const noise = run.noise(sigma, sigmaNext);
    const noiseScale = sigmaNext * Math.sqrt(-Math.expm1(-2 * h));
    x = x.map((v, k) => {
      let next = decay * v + gain * denoised[k];
      if (old !== undefined) next += correction * (denoised[k] - old[k]);
      return next + noise[k] * noiseScale;
    });
    previous = denoised;
    hLast = h;
  }
  return x;
};

/** lcm: x ← D, then re-noised to the next σ (x = D + σ'·n). Meant for LCM-distilled models. */
export const lcm: KSampler = async (x, run) => {
  const { sigmas } = run;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const denoised = await run.denoise(x, sigmas[i], i);
    run.report(i, x, denoised);
    x = denoised;
    if (sigmas[i + 1] > 0) {
      const sigmaNext = sigmas[i + 1];
      const noise = run.noise(sigmas[i], sigmaNext);
      x = x.map((v, k) => f32(noise[k] * sigmaNext) + v);
    }
  }
  return x;
};
