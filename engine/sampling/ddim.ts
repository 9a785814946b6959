// Sampler "ddim_diffusers": diffusers' DDIMScheduler (eta 0, leading spacing, steps_offset 1) driving an
// ε model in timestep / DDPM space, as StableDiffusionPipeline and the Inv-Adapter paper run it.
// Unlike ComfyUI's "ddim" (euler over σ, ending at σ = 0), it ends at ᾱ_0 and its latents are DDPM-space
// (x = √ᾱ·x0 + √(1−ᾱ)·ε), which is what DDIM inversion produces and consumes. sd15-reference.md §5.3.

import type { Tensor } from '../tensor/index.ts';
import { SamplingInputError } from './errors.ts';
import { guidedEps, type LoopOptions } from './model.ts';
import { ddimMove } from './ddim-step.ts';
import { diffusersSchedule, sigmaFromAlphaCumprod, TRAIN_STEPS } from './schedule.ts';
import { ddimTimesteps } from './schedulers.ts';

/** A timestep, or FINAL for "fully denoised" (ᾱ_0, diffusers' final_alpha_cumprod). */
const FINAL = -1;

export interface DdimDiffusersOptions extends LoopOptions {
  /** DDPM-space latent: the clean latent for txt2img / img2img, or x_T itself when noise is undefined. */
  latent: Tensor;
  steps: number;
  /** diffusers img2img strength: run the last min(⌊steps·denoise⌋, steps) of the steps-step schedule. */
  denoise: number;
  noise: Float32Array | undefined;
  /** KSamplerAdvanced's start/end over the timestep list, with FINAL playing σ = 0's part. */
  range: { startStep?: number; endStep?: number; forceFullDenoise: boolean };
}

function alphaOf(level: number): number {
  const { alphasCumprod, finalAlphaCumprod } = diffusersSchedule();
  return level === FINAL ? finalAlphaCumprod : alphasCumprod[level];
}

/** The levels the loop visits: timesteps then FINAL, trimmed like ComfyUI trims its σ list. */
export function ddimLevels(steps: number, denoise: number, range: DdimDiffusersOptions['range']): number[] {
  // 1000 steps would put the first timestep at 1000, past the table (diffusers fails there too)
  if (steps >= TRAIN_STEPS) {
    throw new SamplingInputError(`ddim_diffusers runs at most ${TRAIN_STEPS - 1} steps, got ${steps}; use fewer steps`);
  }
  if (!(denoise >= 0 && denoise <= 1)) {
    throw new SamplingInputError(`denoise must be between 0 and 1, got ${denoise}`);
  }
  const kept = Math.min(Math.floor(steps * denoise), steps);
  if (kept === 0) return [];
  let levels = [...ddimTimesteps(steps).slice(steps - kept), FINAL];
  const { startStep, endStep } = range;
  if (endStep !== undefined && endStep < levels.length - 1) {
    levels = levels.slice(0, endStep + 1);
    if (range.forceFullDenoise) levels[levels.length - 1] = FINAL;
  }
  if (startStep !== undefined) levels = startStep < levels.length - 1 ? levels.slice(startStep) : [];
  return levels;
}

/** Noise at the first level: x = √ᾱ·latent + c·noise with c = 1 when starting from the top of the
 *  schedule (diffusers txt2img: x_T = noise; ComfyUI's max_denoise rule) and √(1−ᾱ) otherwise
 *  (diffusers img2img add_noise). */
function noisedStart(latent: Float32Array, noise: Float32Array | undefined, level: number, isTop: boolean): Float32Array {
  if (noise === undefined) return latent.slice();
  const alpha = alphaOf(level);
  const signal = Math.fround(Math.sqrt(alpha));
  const spread = isTop ? 1 : Math.fround(Math.sqrt(Math.fround(1 - alpha)));
  return latent.map((v, i) => Math.fround(signal * v) + Math.fround(spread * noise[i]));
}

export async function sampleDdimDiffusers(options: DdimDiffusersOptions): Promise<Tensor> {
  const { latent, model, cfg, steps } = options;
  const levels = ddimLevels(steps, options.denoise, options.range);
  if (levels.length < 2) return { dims: [...latent.dims], data: latent.data.slice() };
  const total = levels.length - 1;
  let x = noisedStart(latent.data, options.noise, levels[0], levels[0] === ddimTimesteps(steps)[0]);
  for (let index = 0; index < total; index++) {
    options.throwIfAborted?.();
    const timestep = levels[index];
    const alphaFrom = alphaOf(timestep);
    const sigma = sigmaFromAlphaCumprod(alphaFrom);
    const step = { index, total };
    const eps = await guidedEps({ model, cfg, dims: latent.dims, step }, x, { sigma, timestep });
    const { next, predictedOriginal } = ddimMove(x, eps, alphaFrom, alphaOf(levels[index + 1]));
    options.onStep?.({ index, total, sigma, x, denoised: predictedOriginal });
    x = next;
  }
  return { dims: [...latent.dims], data: x };
}
