// ComfyUI's schedulers (σ lists for the k-diffusion samplers, each ending in 0) and diffusers' DDIM /
// DDIM-inverse timestep lists. sd15-reference.md §5.3, §5.4, §5.8; ComfyUI 0.3.64 comfy/samplers.py.

import { sigmaSchedule, sigmaFromTimestep, timestepFromSigma, TRAIN_STEPS, type SigmaSchedule } from './schedule.ts';
import { betaPpf } from './beta-distribution.ts';

/** In ComfyUI's KSampler.SCHEDULERS order (comfyui-api.md §7.2). */
export const SCHEDULER_NAMES = [
  'simple',
  'sgm_uniform',
  'karras',
  'exponential',
  'ddim_uniform',
  'beta',
  'normal',
  'linear_quadratic',
  'kl_optimal',
] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

const f32 = Math.fround;

/** The σ list (steps + 1 values, or more for ddim_uniform's quirk) for `steps` steps of the model's schedule
 *  (SD1.5's by default; ModelSamplingDiscrete lcm / zsnr change it). */
export function schedulerSigmas(name: SchedulerName, steps: number, schedule: SigmaSchedule = sigmaSchedule()): Float32Array {
  const { sigmaMin, sigmaMax } = schedule;
  switch (name) {
    case 'normal':
      return normalSigmas(steps, false, schedule);
    case 'sgm_uniform':
      return normalSigmas(steps, true, schedule);
    case 'karras':
      return karrasSigmas(steps, sigmaMin, sigmaMax);
    case 'exponential':
      return exponentialSigmas(steps, sigmaMin, sigmaMax);
    case 'simple':
      return simpleSigmas(steps, schedule);
    case 'ddim_uniform':
      return ddimUniformSigmas(steps, schedule);
    case 'beta':
      return betaSigmas(steps, schedule);
    case 'linear_quadratic':
      return linearQuadraticSigmas(steps, sigmaMax);
    case 'kl_optimal':
      return klOptimalSigmas(steps, sigmaMin, sigmaMax);
  }
}

/** torch.linspace(start, end, count) in float32, each value rounded once (the scalar kernel). */
function linspaceF32(start: number, end: number, count: number): number[] {
  if (count === 1) return [f32(start)];
  const step = f32((end - start) / (count - 1));
  const halfway = Math.floor(count / 2);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.push(i < halfway ? f32(start + step * i) : f32(end - step * (count - i - 1)));
  }
  return out;
}

function withZero(values: number[]): Float32Array {
  return Float32Array.from([...values, 0]);
}

/** normal: timesteps evenly spaced from timestep(σ_max) to timestep(σ_min); sgm_uniform: steps + 1 of
 *  them without the last. (ComfyUI's "σ(end) ≈ 0" branch never applies to SD1.5: σ(0) = 0.029.) */
function normalSigmas(steps: number, sgm: boolean, schedule: SigmaSchedule): Float32Array {
  const { sigmaMin, sigmaMax } = schedule;
  const start = timestepFromSigma(sigmaMax, schedule);
  const end = timestepFromSigma(sigmaMin, schedule);
  const timesteps = sgm ? linspaceF32(start, end, steps + 1).slice(0, -1) : linspaceF32(start, end, steps);
  return withZero(timesteps.map((t) => sigmaFromTimestep(t, schedule)));
}

/** Karras et al. (2022), ρ = 7, over the model's full σ range. */
export function karrasSigmas(steps: number, sigmaMin: number, sigmaMax: number): Float32Array {
  const rho = 7;
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  const ramp = linspaceF32(0, 1, steps);
  return withZero(ramp.map((r) => (maxInv + r * (minInv - maxInv)) ** rho));
}

function exponentialSigmas(steps: number, sigmaMin: number, sigmaMax: number): Float32Array {
  return withZero(linspaceF32(Math.log(sigmaMax), Math.log(sigmaMin), steps).map(Math.exp));
}

/** simple: every (1000/steps)-th table σ from the top. */
function simpleSigmas(steps: number, schedule: SigmaSchedule): Float32Array {
  const { sigmas } = schedule;
  const stride = sigmas.length / steps;
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(sigmas[sigmas.length - 1 - Math.floor(i * stride)]);
  return withZero(out);
}

/** ddim_uniform: table σ at 1, 1 + s, 1 + 2s, … (s = 1000 // steps) reversed; when 1000 % steps ≠ 0 this
 *  yields more steps than asked (30 → 31), as ComfyUI does. */
function ddimUniformSigmas(steps: number, schedule: SigmaSchedule): Float32Array {
  const { sigmas } = schedule;
  const stride = Math.max(Math.floor(sigmas.length / steps), 1);
  const out: number[] = [];
  for (let t = 1; t < sigmas.length; t += stride) out.push(sigmas[t]);
  return withZero(out.reverse());
}

/** beta (arXiv 2407.12173): timesteps at the Beta(0.6, 0.6) quantiles of 1 − i·(1/steps) (numpy's
 *  linspace arithmetic), rounded to the nearest integer (ties to even, as numpy.rint); repeated timesteps
 *  are dropped. The quantile is exact to ~1e-15, so only a value within that of k + ½ could round
 *  differently from scipy. */
function betaSigmas(steps: number, schedule: SigmaSchedule): Float32Array {
  const { sigmas } = schedule;
  const last = sigmas.length - 1;
  const step = 1 / steps;
  const out: number[] = [];
  let previous = -1;
  for (let i = 0; i < steps; i++) {
    const t = roundHalfEven(betaPpf(1 - i * step, 0.6, 0.6) * last);
    if (t !== previous) out.push(sigmas[t]);
    previous = t;
  }
  return withZero(out);
}

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** linear_quadratic (Mochi): linear up to a threshold of 0.025 for the first half, then quadratic; scaled
 *  by σ_max. Computed in float64 like the Python lists, then float32 × σ_max. */
function linearQuadraticSigmas(steps: number, sigmaMax: number): Float32Array {
  const threshold = 0.025;
  let schedule: number[];
  if (steps === 1) {
    schedule = [1, 0];
  } else {
    const linearSteps = Math.floor(steps / 2);
    const quadraticSteps = steps - linearSteps;
    const stepDiff = linearSteps - threshold * steps;
    const quadraticCoef = stepDiff / (linearSteps * quadraticSteps ** 2);
    const linearCoef = threshold / linearSteps - (2 * stepDiff) / quadraticSteps ** 2;
    const constant = quadraticCoef * linearSteps ** 2;
    const rising: number[] = [];
    for (let i = 0; i < linearSteps; i++) rising.push((i * threshold) / linearSteps);
    for (let i = linearSteps; i < steps; i++) rising.push(quadraticCoef * i ** 2 + linearCoef * i + constant);
    schedule = [...rising, 1].map((x) => 1 - x);
  }
  return Float32Array.from(schedule.map((x) => f32(x) * sigmaMax));
}

/** kl_optimal (AYS paper / A1111 #15608): σ_i = tan((1 − i/(n−1))·atan σ_max + i/(n−1)·atan σ_min). */
function klOptimalSigmas(steps: number, sigmaMin: number, sigmaMax: number): Float32Array {
  const out = new Float32Array(steps + 1);
  for (let i = 0; i < steps; i++) {
    const w = f32(i / (steps - 1)); // 0/0 for steps = 1 gives NaN, as torch does
    out[i] = Math.tan(w * Math.atan(sigmaMin) + (1 - w) * Math.atan(sigmaMax));
  }
  return out;
}

// ---- diffusers timestep lists ("leading" spacing, steps_offset 1) ----

/** DDIMScheduler.set_timesteps: k·(1000 // n) + 1 for k = n−1 … 0 (50 steps: 981, 961, …, 1). */
export function ddimTimesteps(steps: number): number[] {
  return ddimInverseTimesteps(steps).reverse();
}

/** DDIMInverseScheduler.set_timesteps: ascending k·(1000 // n) + 1 for k = 0 … n−1. */
export function ddimInverseTimesteps(steps: number): number[] {
  const ratio = Math.floor(TRAIN_STEPS / steps);
  return Array.from({ length: steps }, (_, k) => k * ratio + 1);
}
