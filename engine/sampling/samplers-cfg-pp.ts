// CFG++ samplers (Chung et al. 2024, "CFG++: manifold-constrained classifier free guidance"), ComfyUI's
// sample_euler_ancestral_cfg_pp / sample_euler_cfg_pp / sample_dpmpp_2m_cfg_pp / sample_dpmpp_2s_ancestral_cfg_pp for
// discrete (ε, v, x0, lcm) models: the step lands on the guided prediction but re-noises along the unconditional
// one, e.g. x' = D_cfg + σ_down·(x − D_uncond)/σ. The half-log-SNR α of ComfyUI's euler version is exactly 1 for
// these models (σ·e^{−log σ}), so it is left out. The unconditional prediction comes from the guider
// (KRun.denoiseWithUncond: ComfyUI's post-CFG hook, with the cfg-1 shortcut off so it is real at cfg 1 too).

import { ancestralStep, type KRun, type KSampler } from './samplers.ts';

const f32 = Math.fround;

function withUncond(run: KRun): NonNullable<KRun['denoiseWithUncond']> {
  if (!run.denoiseWithUncond) throw new Error('a CFG++ sampler needs the guider to hand back the unconditional prediction');
  return run.denoiseWithUncond;
}

/** One CFG++ step; `eta` 1 is the ancestral sampler (σ_down/σ_up split, fresh noise), 0 plain Euler. */
function cfgPpSampler(eta: 0 | 1): KSampler {
  return async (x, run) => {
    const denoise = withUncond(run);
    const { sigmas } = run;
    for (let i = 0; i < sigmas.length - 1; i++) {
      const sigma = sigmas[i];
      const sigmaNext = sigmas[i + 1];
      const { denoised, uncond } = await denoise(x, sigma, i);
      run.report(i, x, denoised);
      if (sigmaNext === 0) {
        x = denoised;
        continue;
      }
      const { down, up } = eta === 0 ? { down: sigmaNext, up: 0 } : ancestralStep(sigma, sigmaNext);
      const next = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) next[k] = denoised[k] + f32(f32(f32(x[k] - uncond[k]) / sigma) * down);
      if (eta > 0) {
        const noise = run.noise(sigma, sigmaNext);
        for (let k = 0; k < next.length; k++) next[k] += f32(noise[k] * up);
      }
      x = next;
    }
    return x;
  };
}

/** euler_cfg_pp: deterministic; with equal branches it is euler. */
export const eulerCfgPp: KSampler = cfgPpSampler(0);

/** euler_ancestral_cfg_pp: eta 1, s_noise 1, noise from the default sampler stream like euler_ancestral. */
export const eulerAncestralCfgPp: KSampler = cfgPpSampler(1);

/** dpmpp_2m_cfg_pp (ComfyUI sample_dpmpp_2m_cfg_pp): DPM-Solver++(2M) whose exponential-integrator step
 *  carries x along the unconditional prediction and lands on the guided one; the second-order correction uses
 *  the guided prediction against the previous unconditional one. λ = −log σ, h = λ' − λ. */
export const dpmpp2mCfgPp: KSampler = async (x, run) => {
  const denoise = withUncond(run);
  const { sigmas } = run;
  let oldUncond: Float32Array | undefined;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const { denoised, uncond } = await denoise(x, sigma, i);
    run.report(i, x, denoised);
    const h = Math.log(sigma) - Math.log(sigmaNext); // ∞ for σ' = 0: the step lands on D
    const decay = Math.exp(-h);
    const previous = oldUncond;
    const correction = previous === undefined || sigmaNext === 0 ? 0 : -Math.expm1(-h) / (2 * ((Math.log(sigmas[i - 1]) - Math.log(sigma)) / h));
    const current = x;
    x = current.map((v, k) => denoised[k] - decay * uncond[k] + (previous ? correction * (denoised[k] - previous[k]) : 0) + decay * v);
    oldUncond = uncond;
  }
  return x;
};

/** dpmpp_2s_ancestral_cfg_pp (ComfyUI sample_dpmpp_2s_ancestral_cfg_pp, ε-type models): DPM-Solver++(2S) down to
 *  σ_down on the unconditional predictions — the midpoint's own, from a second evaluation — then noise of size
 *  σ_up, then the first evaluation's guidance vector D − D_u is added. */
export const dpmpp2sAncestralCfgPp: KSampler = async (x, run) => {
  const denoise = withUncond(run);
  const { sigmas } = run;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const { denoised, uncond } = await denoise(x, sigma, i);
    const guidance = denoised.map((v, k) => v - uncond[k]);
    const { down, up } = ancestralStep(sigma, sigmaNext);
    run.report(i, x, denoised);
    const current = x;
    if (down === 0) {
      x = current.map((v, k) => v + ((v - uncond[k]) / sigma) * (down - sigma));
    } else {
      const h = Math.log(sigma) - Math.log(down);
      const sigmaMid = sigma * Math.exp(-h / 2);
      const mid = current.map((v, k) => (sigmaMid / sigma) * v - Math.expm1(-h / 2) * uncond[k]);
      const uncondMid = (await denoise(mid, sigmaMid, i)).uncond;
      x = current.map((v, k) => (down / sigma) * v - Math.expm1(-h) * uncondMid[k]);
    }
    if (sigmaNext > 0) {
      const noise = run.noise(sigma, sigmaNext);
      for (let k = 0; k < x.length; k++) x[k] += noise[k] * up;
    }
    for (let k = 0; k < x.length; k++) x[k] += guidance[k];
  }
  return x;
};
