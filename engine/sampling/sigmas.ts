// ComfyUI KSampler's σ list: scheduler + steps + denoise (set_steps), the discard-penultimate rule of
// dpm_2, dpm_2_ancestral, uni_pc and uni_pc_bh2, and KSamplerAdvanced's start/end slicing (sd15-reference.md §5.9; comfy/samplers.py KSampler).

import { SamplingInputError } from './errors.ts';
import { schedulerSigmas, SCHEDULER_NAMES, type SchedulerName } from './schedulers.ts';
import type { SigmaSchedule } from './schedule.ts';

/** Bound on steps / denoise, so that a tiny denoise cannot make a schedule of millions of steps. */
const MAX_FULL_STEPS = 100_000;

/** Samplers whose schedule is built for steps + 1 with the penultimate σ dropped. */
const DISCARD_PENULTIMATE = new Set(['dpm_2', 'dpm_2_ancestral', 'uni_pc', 'uni_pc_bh2']);

export function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > 10000) {
    throw new SamplingInputError(`steps must be an integer from 1 to 10000, got ${steps}`);
  }
}

export function checkScheduler(name: string): asserts name is SchedulerName {
  if (!(SCHEDULER_NAMES as readonly string[]).includes(name)) {
    throw new SamplingInputError(`unknown scheduler "${name}"; choose one of ${SCHEDULER_NAMES.join(', ')}`);
  }
}

function calculateSigmas(scheduler: SchedulerName, steps: number, sampler: string | undefined, schedule: SigmaSchedule | undefined): Float32Array {
  if (scheduler === 'kl_optimal' && steps === 1) {
    throw new SamplingInputError('the kl_optimal scheduler needs at least 2 steps (it divides by steps − 1); use more steps or another scheduler');
  }
  if (sampler === undefined || !DISCARD_PENULTIMATE.has(sampler)) return schedulerSigmas(scheduler, steps, schedule);
  const sigmas = schedulerSigmas(scheduler, steps + 1, schedule);
  return Float32Array.from([...sigmas.subarray(0, -2), sigmas[sigmas.length - 1]]);
}

/** The σ list ComfyUI's KSampler uses: for denoise < 0.9999 the schedule of int(steps/denoise) steps,
 *  keeping its last steps + 1 values; denoise ≤ 0 gives an empty list (nothing to do). */
export function computeSigmas(scheduler: string, steps: number, denoise = 1, sampler?: string, schedule?: SigmaSchedule): Float32Array {
  checkScheduler(scheduler);
  checkSteps(steps);
  if (!(denoise >= 0 && denoise <= 1)) {
    throw new SamplingInputError(`denoise must be between 0 and 1, got ${denoise}`);
  }
  if (denoise > 0.9999) return calculateSigmas(scheduler, steps, sampler, schedule);
  if (denoise <= 0) return new Float32Array(0);
  const fullSteps = Math.floor(steps / denoise);
  if (fullSteps > MAX_FULL_STEPS) {
    throw new SamplingInputError(
      `denoise ${denoise} with ${steps} steps needs a ${fullSteps}-step schedule (steps / denoise); keep it under ${MAX_FULL_STEPS} with a larger denoise or fewer steps`,
    );
  }
  const all = calculateSigmas(scheduler, fullSteps, sampler, schedule);
  return all.slice(Math.max(all.length - (steps + 1), 0));
}

/** KSamplerAdvanced: keep σ[0 … endStep] (forcing the last to 0 unless leftover noise is wanted), then
 *  drop the first startStep. Undefined means "no slicing"; an empty result means "return the latent". */
export function sliceSigmas(
  sigmas: Float32Array,
  range: { startStep?: number; endStep?: number; forceFullDenoise: boolean },
): Float32Array {
  let out = sigmas;
  const { startStep, endStep } = range;
  if (endStep !== undefined && endStep < out.length - 1) {
    out = out.slice(0, endStep + 1);
    if (range.forceFullDenoise) out[out.length - 1] = 0;
  }
  if (startStep !== undefined) {
    out = startStep < out.length - 1 ? out.slice(startStep) : new Float32Array(0);
  }
  return out;
}
