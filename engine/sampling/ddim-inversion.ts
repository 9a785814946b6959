// DDIM inversion as diffusers' DDIMInverseScheduler runs it (leading spacing, steps_offset 1,
// set_alpha_to_one false): clean latent → x_T, keeping every intermediate latent. sd15-reference.md §5.4.

import type { Tensor } from '../tensor/index.ts';
import { SamplingInputError } from './errors.ts';
import { guidedEps, type EpsModel, type StepProgress } from './model.ts';
import { ddimMove } from './ddim-step.ts';
import { diffusersSchedule, sigmaFromAlphaCumprod, TRAIN_STEPS } from './schedule.ts';
import { ddimInverseTimesteps } from './schedulers.ts';
import { checkSteps } from './sigmas.ts';

export interface InversionOptions {
  model: EpsModel;
  /** DDPM-space clean latent (VAE mean × 0.18215), [B, 4, H/8, W/8]. */
  latent: Tensor;
  steps: number;
  /** Guidance scale; 1 (the Inv-Adapter setting) makes one conditional-only call per step. */
  cfg: number;
  onStep?: (progress: StepProgress) => void;
  throwIfAborted?: () => void;
}

export interface InversionResult {
  /** Ascending timesteps, one per step (1, 101, …, 901 for 10 steps). */
  timesteps: number[];
  /** steps + 1 latents: [0] = the input, [i + 1] = the latent at timesteps[i]. */
  latents: Tensor[];
}

/** Step i queries the model at the *target* timestep t = timesteps[i] while the sample sits at
 *  s = min(t − 1000 // steps, 999) (ᾱ_0 when s < 0): the usual inversion approximation. */
export async function invertDdim(options: InversionOptions): Promise<InversionResult> {
  const { latent, model, cfg, steps } = options;
  checkSteps(steps);
  if (steps >= TRAIN_STEPS) {
    throw new SamplingInputError(`DDIM inversion runs at most ${TRAIN_STEPS - 1} steps (its last timestep must stay below ${TRAIN_STEPS}), got ${steps}`);
  }
  if (!Number.isFinite(cfg)) throw new SamplingInputError(`cfg must be a finite number, got ${cfg}`);
  const { alphasCumprod, finalAlphaCumprod } = diffusersSchedule();
  const timesteps = ddimInverseTimesteps(steps);
  const ratio = Math.floor(TRAIN_STEPS / steps);
  const latents: Tensor[] = [{ dims: [...latent.dims], data: latent.data.slice() }];
  let x: Float32Array = latent.data.slice();
  for (let index = 0; index < steps; index++) {
    options.throwIfAborted?.();
    const timestep = timesteps[index];
    const from = Math.min(timestep - ratio, TRAIN_STEPS - 1);
    const alphaFrom = from >= 0 ? alphasCumprod[from] : finalAlphaCumprod;
    const step = { index, total: steps };
    const sigma = sigmaFromAlphaCumprod(alphasCumprod[timestep]);
    const eps = await guidedEps({ model, cfg, dims: latent.dims, step }, x, { sigma, timestep });
    const { next, predictedOriginal } = ddimMove(x, eps, alphaFrom, alphasCumprod[timestep]);
    options.onStep?.({ index, total: steps, sigma, x, denoised: predictedOriginal });
    x = next;
    latents.push({ dims: [...latent.dims], data: x });
  }
  return { timesteps, latents };
}
