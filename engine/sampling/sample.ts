// The sampling loop behind KSampler / KSamplerAdvanced / SamplerCustom: schedule, initial noise, guided
// model calls, progress and abort. ComfyUI 0.3.64 comfy/samplers.py + comfy/sample.py semantics.

import type { Tensor } from '../tensor/index.ts';
import { SamplingInputError } from './errors.ts';
import { guidedPredictions, isDefaultDenoiser, type LoopOptions } from './model.ts';
import { NoiseStream, NOISE_STREAM_SAMPLER, gaussianNoise, checkSeed } from './noise.ts';
import { BrownianTree } from './brownian.ts';
import { euler, eulerAncestral, heun, dpm2, dpmpp2m, dpmpp2mSde, lcm, type KSampler, type KRun } from './samplers.ts';
import { sigmaSchedule, timestepFromSigma, type SigmaSchedule } from './schedule.ts';
import { computeSigmas, sliceSigmas, checkSteps, checkScheduler } from './sigmas.ts';
import { sampleDdimDiffusers } from './ddim.ts';
import { dpm2Ancestral, dpmpp2sAncestral, ddpm } from './samplers-ancestral.ts';
import { dpmppSde, dpmpp3mSde } from './samplers-sde.ts';
import { lms, ipndm, ipndmV, deis, heunpp2 } from './samplers-multistep.ts';
import { uniPcBh1, uniPcBh2 } from './samplers-unipc.ts';
import { dpmFast, dpmAdaptive } from './samplers-dpm-solver.ts';
import { eulerCfgPp, eulerAncestralCfgPp, dpmpp2mCfgPp, dpmpp2sAncestralCfgPp } from './samplers-cfg-pp.ts';

/** The k-diffusion samplers, by ComfyUI name ("ddim" is ComfyUI's: the euler function; the "_gpu" names
 *  differ in ComfyUI only in where torch draws the Brownian tree, so they are the same sampler here). */
const K_SAMPLERS = {
  euler,
  euler_cfg_pp: eulerCfgPp,
  euler_ancestral: eulerAncestral,
  euler_ancestral_cfg_pp: eulerAncestralCfgPp,
  heun,
  heunpp2,
  dpm_2: dpm2,
  dpm_2_ancestral: dpm2Ancestral,
  lms,
  dpm_fast: dpmFast,
  dpm_adaptive: dpmAdaptive,
  dpmpp_2s_ancestral: dpmpp2sAncestral,
  dpmpp_2s_ancestral_cfg_pp: dpmpp2sAncestralCfgPp,
  dpmpp_sde: dpmppSde,
  dpmpp_sde_gpu: dpmppSde,
  dpmpp_2m: dpmpp2m,
  dpmpp_2m_cfg_pp: dpmpp2mCfgPp,
  dpmpp_2m_sde: dpmpp2mSde,
  dpmpp_2m_sde_gpu: dpmpp2mSde,
  dpmpp_3m_sde: dpmpp3mSde,
  dpmpp_3m_sde_gpu: dpmpp3mSde,
  ddpm,
  lcm,
  ipndm,
  ipndm_v: ipndmV,
  deis,
  ddim: euler,
  uni_pc: uniPcBh1,
  uni_pc_bh2: uniPcBh2,
} satisfies Record<string, KSampler>;
export type KSamplerName = keyof typeof K_SAMPLERS;

/** Every sampler `sample` runs, in ComfyUI's list order, plus diffusers' DDIM (see ddim.ts). */
export const SAMPLER_NAMES = [
  'euler',
  'euler_cfg_pp',
  'euler_ancestral',
  'euler_ancestral_cfg_pp',
  'heun',
  'heunpp2',
  'dpm_2',
  'dpm_2_ancestral',
  'lms',
  'dpm_fast',
  'dpm_adaptive',
  'dpmpp_2s_ancestral',
  'dpmpp_2s_ancestral_cfg_pp',
  'dpmpp_sde',
  'dpmpp_sde_gpu',
  'dpmpp_2m',
  'dpmpp_2m_cfg_pp',
  'dpmpp_2m_sde',
  'dpmpp_2m_sde_gpu',
  'dpmpp_3m_sde',
  'dpmpp_3m_sde_gpu',
  'ddpm',
  'lcm',
  'ipndm',
  'ipndm_v',
  'deis',
  'ddim',
  'uni_pc',
  'uni_pc_bh2',
  'ddim_diffusers',
] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

/** The samplers that run over an explicit σ list (KSamplerSelect's choices): all but ddim_diffusers. */
export const K_SAMPLER_NAMES: readonly KSamplerName[] = SAMPLER_NAMES.filter((name): name is KSamplerName => name in K_SAMPLERS);

export interface SampleOptions extends LoopOptions {
  /** Latent in model space (already × 0.18215), [B, 4, H/8, W/8]. */
  latent: Tensor;
  sampler: SamplerName;
  scheduler: string;
  steps: number;
  /** 0 … 2^64 − 1; the initial noise and the sampler's own noise both derive from it. */
  seed: bigint;
  /** Standard-normal initial noise to use instead of gaussianNoise(seed, latent.dims), e.g. torchRandn(seed,
   *  dims) for ComfyUI's exact noise, or noise read from a parity fixture. Same length as the latent. */
  noise?: Float32Array;
  /** KSampler's denoise (img2img strength), default 1. */
  denoise?: number;
  /** KSamplerAdvanced: add_noise (default true), start_at_step, end_at_step, return_with_leftover_noise. */
  addNoise?: boolean;
  startStep?: number;
  endStep?: number;
  returnWithLeftoverNoise?: boolean;
}

export interface SigmaSampleOptions extends LoopOptions {
  latent: Tensor;
  sampler: KSamplerName;
  sigmas: Float32Array;
  /** Standard-normal initial noise (scaled by σ_0 here); undefined starts from the latent as is. */
  noise: Float32Array | undefined;
  /** Seed of the sampler's per-step noise (ancestral, SDE, lcm). */
  seed: bigint;
}

function checkLatent(latent: Tensor): void {
  if (latent.dims.length !== 4) {
    throw new SamplingInputError(`the latent must have 4 dims [batch, channels, height, width], got [${latent.dims.join(', ')}]`);
  }
}

function checkCfg(cfg: number): void {
  if (!Number.isFinite(cfg)) throw new SamplingInputError(`cfg must be a finite number, got ${cfg}`);
}

/** Every σ a step starts from must be a positive number; the last may be 0. */
function checkSigmas(sigmas: Float32Array): void {
  sigmas.forEach((sigma, i) => {
    const isLast = i === sigmas.length - 1;
    if (!(Number.isFinite(sigma) && (sigma > 0 || (isLast && sigma === 0)))) {
      throw new SamplingInputError(`sigma ${i} of the schedule is ${sigma}; every sigma must be positive (only the last may be 0)`);
    }
  });
}

function checkStepIndex(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
    throw new SamplingInputError(`${name} must be a whole number ≥ 0, got ${value}`);
  }
}

/** ComfyUI noise_scaling for ε models: x = latent + noise·σ_0, or noise·√(1 + σ_0²) when σ_0 is the
 *  schedule's maximum ("max_denoise", rel 1e-5). */
function initialX(latent: Float32Array, noise: Float32Array | undefined, sigma0: number, schedule: SigmaSchedule): Float32Array {
  if (noise === undefined) return latent.slice();
  const { sigmaMax } = schedule;
  const isMax = Math.abs(sigma0 - sigmaMax) <= 1e-5 * Math.max(sigma0, sigmaMax) || sigma0 > sigmaMax;
  const scale = Math.fround(isMax ? Math.sqrt(1 + sigma0 * sigma0) : sigma0);
  return latent.map((v, i) => Math.fround(noise[i] * scale) + v);
}

/** Samplers whose noise is ComfyUI's BrownianTreeNoiseSampler. */
const BROWNIAN_SAMPLERS: ReadonlySet<KSamplerName> = new Set<KSamplerName>([
  'dpmpp_sde',
  'dpmpp_sde_gpu',
  'dpmpp_2m_sde',
  'dpmpp_2m_sde_gpu',
  'dpmpp_3m_sde',
  'dpmpp_3m_sde_gpu',
]);

/** The sampler's own noise: a Brownian tree over the list's positive σ range for the DPM-Solver++ SDE
 *  samplers (ComfyUI's BrownianTreeNoiseSampler), otherwise successive draws from stream 1 (ComfyUI's
 *  default_noise_sampler). */
function samplerNoise(sampler: KSamplerName, seed: bigint, size: number, sigmas: Float32Array): KRun['noise'] {
  if (BROWNIAN_SAMPLERS.has(sampler)) {
    const positive = [...sigmas].filter((s) => s > 0);
    let tree: BrownianTree | undefined;
    return (sigma, sigmaNext) => {
      tree ??= new BrownianTree(seed, size, { sigmaMin: Math.min(...positive), sigmaMax: Math.max(...positive) });
      return tree.increment(sigma, sigmaNext);
    };
  }
  const stream = new NoiseStream(seed, NOISE_STREAM_SAMPLER);
  return () => stream.next(size);
}

/** SamplerCustom-style: run a k-diffusion sampler over an explicit σ list. */
export async function sampleWithSigmas(options: SigmaSampleOptions): Promise<Tensor> {
  const { latent, sigmas, model, cfg } = options;
  checkLatent(latent);
  checkCfg(cfg);
  checkSeed(options.seed);
  checkSigmas(sigmas);
  if (!(options.sampler in K_SAMPLERS)) {
    throw new SamplingInputError(`unknown k-diffusion sampler "${options.sampler}"; choose one of ${Object.keys(K_SAMPLERS).join(', ')}`);
  }
  if (sigmas.length === 0) return { dims: [...latent.dims], data: latent.data.slice() }; // ComfyUI: nothing to do
  const total = sigmas.length - 1;
  const schedule = options.denoiser?.schedule ?? sigmaSchedule();
  const x = initialX(latent.data, options.noise, sigmas[0], schedule);
  if (total === 0) return { dims: [...latent.dims], data: x }; // one σ: noised, no step (as ComfyUI)
  const mask = options.noiseMask;
  if (mask !== undefined && mask.length !== latent.data.length) {
    throw new SamplingInputError(`the noise mask has ${mask.length} values, the latent ${latent.data.length}`);
  }
  const predict = async (current: Float32Array, sigma: number, index: number, keepUncond: boolean) => {
    options.throwIfAborted?.();
    const step = { index, total };
    const call = { sigma, timestep: timestepFromSigma(sigma, schedule) };
    const guided = { model, cfg, dims: latent.dims, step, denoiser: options.denoiser, keepUncond };
    if (mask === undefined) return guidedPredictions(guided, current, call);
    // KSamplerX0Inpaint: kept cells are the input latent noised to σ (noise 0 without add_noise), and
    // the prediction there is the input latent itself. The unconditional prediction is the model's, unblended
    // (ComfyUI's post-CFG hook sees it inside the inpainting wrapper).
    const noise = options.noise;
    const input = current.map((v, i) => v * mask[i] + (latent.data[i] + (noise === undefined ? 0 : noise[i] * sigma)) * (1 - mask[i]));
    const out = await guidedPredictions(guided, input, call);
    return { denoised: out.denoised.map((v, i) => v * mask[i] + latent.data[i] * (1 - mask[i])), uncond: out.uncond };
  };
  const result = await K_SAMPLERS[options.sampler](x, {
    sigmas,
    denoise: async (current, sigma, index) => (await predict(current, sigma, index, false)).denoised,
    denoiseWithUncond: async (current, sigma, index) => {
      const { denoised, uncond } = await predict(current, sigma, index, true);
      if (uncond === undefined) throw new Error('the guider returned no unconditional prediction for a CFG++ sampler');
      return { denoised, uncond };
    },
    noise: samplerNoise(options.sampler, options.seed, latent.data.length, sigmas),
    report: (index, current, denoised) => options.onStep?.({ index, total, sigma: sigmas[index], x: current, denoised }),
  });
  return { dims: [...latent.dims], data: result };
}

/** KSampler / KSamplerAdvanced: schedule from scheduler + steps + denoise, sliced by start/end steps,
 *  initial noise from `seed` (stream 0), then the sampler. Returns the model-space latent. */
export async function sample(options: SampleOptions): Promise<Tensor> {
  const { latent, sampler, steps } = options;
  checkLatent(latent);
  checkSteps(steps);
  checkScheduler(options.scheduler); // ddim_diffusers has its own timesteps but the name must still be valid
  checkCfg(options.cfg);
  checkSeed(options.seed);
  checkStepIndex('start step', options.startStep);
  checkStepIndex('end step', options.endStep);
  if (!(SAMPLER_NAMES as readonly string[]).includes(sampler)) {
    throw new SamplingInputError(`unknown sampler "${sampler}"; choose one of ${SAMPLER_NAMES.join(', ')}`);
  }
  const addNoise = options.addNoise ?? true;
  if (options.noise !== undefined && options.noise.length !== latent.data.length) {
    throw new Error(`initial noise has ${options.noise.length} values, the latent ${latent.data.length}`);
  }
  const noise = addNoise ? (options.noise ?? gaussianNoise(options.seed, latent.dims)) : undefined;
  const range = {
    startStep: options.startStep,
    endStep: options.endStep,
    forceFullDenoise: !(options.returnWithLeftoverNoise ?? false),
  };
  if (sampler === 'ddim_diffusers') {
    if (options.noiseMask !== undefined) throw new SamplingInputError('ddim_diffusers does not support a noise mask (inpainting); choose another sampler');
    if (!isDefaultDenoiser(options.denoiser)) throw new SamplingInputError('ddim_diffusers supports only ε-prediction models with plain CFG and one full-image conditioning per side (no areas, masks, timestep ranges, ModelSamplingDiscrete or RescaleCFG); choose another sampler');
    return sampleDdimDiffusers({ ...options, steps, denoise: options.denoise ?? 1, noise, range });
  }
  const sigmas = sliceSigmas(computeSigmas(options.scheduler, steps, options.denoise ?? 1, sampler, options.denoiser?.schedule), range);
  return sampleWithSigmas({ ...options, sampler, sigmas, noise });
}
