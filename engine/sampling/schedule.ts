// The SD1.5 noise schedule (scaled_linear betas 0.00085..0.012, 1000 steps) in the two precisions the
// references use: diffusers (float32 tables) and ComfyUI's ModelSamplingDiscrete (float64, then float32 σ).
// sd15-reference.md §5.1 and §5.6; checked against test/fixtures/sd15-tiny/scheduler.json.

export const TRAIN_STEPS = 1000;
const BETA_START = 0.00085;
const BETA_END = 0.012;
const f32 = Math.fround;

/** diffusers' float32 tables (what the DDIM / DDIM-inverse samplers use). */
export interface DiffusersSchedule {
  betas: Float32Array;
  /** ᾱ_t = Π_{i≤t}(1 − β_i), float32 values accumulated in float64 as torch's CPU cumprod does. */
  alphasCumprod: Float32Array;
  /** ᾱ_0: used where the previous timestep is negative (set_alpha_to_one false). */
  finalAlphaCumprod: number;
}

/** ComfyUI's k-diffusion view: σ_t table and its logs, both float32 values. */
export interface SigmaSchedule {
  sigmas: Float32Array;
  logSigmas: Float32Array;
  sigmaMin: number;
  sigmaMax: number;
  /** Distilled schedules (ComfyUI ModelSamplingDiscreteDistilled, LCM): table entry k is timestep
   *  k·stride + stride − 1. Absent: 1, entry t is timestep t. */
  stride?: number;
}

let diffusersCache: DiffusersSchedule | undefined;
let sigmaCache: SigmaSchedule | undefined;

/** torch.linspace(√β_start, √β_end, 1000, float32) as torch 1.13's x86 AVX2 kernel computes it: blocks of
 *  8 lanes; each block's first value is start + step·idx rounded once (fused), the other lanes add step·k.
 *  This reproduces the fixture's betas bit for bit; a plain per-element formula differs in ~200 of 1000. */
function torchLinspaceF32(start: number, end: number, count: number): Float32Array {
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (count - 1));
  const halfway = Math.floor(count / 2);
  const out = new Float32Array(count);
  for (let block = 0; block < count; block += 8) {
    const base = block < halfway ? f32(s + step * block) : f32(e - step * (count - block - 1));
    out[block] = base;
    for (let k = 1; k < 8 && block + k < count; k++) out[block + k] = f32(base + f32(step * k));
  }
  return out;
}

export function diffusersSchedule(): DiffusersSchedule {
  if (diffusersCache) return diffusersCache;
  const roots = torchLinspaceF32(Math.sqrt(BETA_START), Math.sqrt(BETA_END), TRAIN_STEPS);
  const betas = roots.map((r) => f32(r * r));
  const alphasCumprod = new Float32Array(TRAIN_STEPS);
  let product = 1; // torch's CPU cumprod accumulates float32 inputs in double
  for (let t = 0; t < TRAIN_STEPS; t++) {
    product *= f32(1 - betas[t]);
    alphasCumprod[t] = product;
  }
  diffusersCache = { betas, alphasCumprod, finalAlphaCumprod: alphasCumprod[0] };
  return diffusersCache;
}

/** ComfyUI: betas and cumprod in float64, σ = √((1 − ᾱ)/ᾱ) in float64, stored as float32; log σ taken
 *  in float64 before the cast. */
export function sigmaSchedule(): SigmaSchedule {
  if (sigmaCache) return sigmaCache;
  const start = Math.sqrt(BETA_START);
  const end = Math.sqrt(BETA_END);
  const step = (end - start) / (TRAIN_STEPS - 1);
  const sigmas = new Float32Array(TRAIN_STEPS);
  const logSigmas = new Float32Array(TRAIN_STEPS);
  let product = 1;
  for (let t = 0; t < TRAIN_STEPS; t++) {
    const root = t < TRAIN_STEPS / 2 ? start + step * t : end - step * (TRAIN_STEPS - 1 - t);
    product *= 1 - root * root;
    const sigma = Math.sqrt((1 - product) / product);
    sigmas[t] = sigma;
    logSigmas[t] = Math.log(sigma);
  }
  sigmaCache = { sigmas, logSigmas, sigmaMin: sigmas[0], sigmaMax: sigmas[TRAIN_STEPS - 1] };
  return sigmaCache;
}

/** ComfyUI `timestep(σ)`: the table index whose log σ is nearest (an integer, not interpolated); for a
 *  distilled table index·stride + stride − 1. */
export function timestepFromSigma(sigma: number, schedule: SigmaSchedule = sigmaSchedule()): number {
  const { logSigmas } = schedule;
  const stride = schedule.stride ?? 1;
  const logSigma = f32(Math.log(sigma));
  let best = 0;
  let bestDistance = Infinity;
  for (let t = 0; t < logSigmas.length; t++) {
    const distance = Math.abs(f32(logSigma - logSigmas[t]));
    if (distance < bestDistance) {
      bestDistance = distance;
      best = t;
    }
  }
  return best * stride + stride - 1;
}

/** ComfyUI `sigma(t)`: log-linear interpolation between the neighbouring table entries, float32 steps. */
export function sigmaFromTimestep(timestep: number, schedule: SigmaSchedule = sigmaSchedule()): number {
  const { logSigmas } = schedule;
  const stride = schedule.stride ?? 1;
  const position = stride === 1 ? f32(timestep) : f32(f32(timestep - (stride - 1)) / stride);
  const t = Math.min(Math.max(position, 0), logSigmas.length - 1);
  const low = Math.floor(t);
  const high = Math.ceil(t);
  const w = f32(t - low);
  const logSigma = f32(f32(f32(1 - w) * logSigmas[low]) + f32(w * logSigmas[high]));
  return f32(Math.exp(logSigma));
}

/** σ of a diffusers timestep, from its float32 ᾱ: √((1 − ᾱ)/ᾱ) (reported to models and previews). */
export function sigmaFromAlphaCumprod(alphaCumprod: number): number {
  return Math.sqrt((1 - alphaCumprod) / alphaCumprod);
}

/** ComfyUI ModelSamplingDiscrete.percent_to_sigma: 0 → "infinite" σ, 1 → 0, else σ(999·(1 − percent)). */
export function percentToSigma(percent: number, schedule: SigmaSchedule = sigmaSchedule()): number {
  if (percent <= 0) return 999999999.9;
  if (percent >= 1) return 0;
  return sigmaFromTimestep((1 - percent) * 999, schedule);
}

/** A schedule from a float32 σ table (ComfyUI set_sigmas: log taken of the float32 values). */
function fromTable(sigmas: Float32Array, stride?: number): SigmaSchedule {
  const logSigmas = sigmas.map((v) => Math.log(v));
  return { sigmas, logSigmas, sigmaMin: sigmas[0], sigmaMax: sigmas[sigmas.length - 1], ...(stride ? { stride } : {}) };
}

/** ComfyUI ModelSamplingDiscreteDistilled (ModelSamplingDiscrete "lcm"): the 50 σ of timesteps 19, 39, …, 999. */
export function distilledSchedule(base: SigmaSchedule = sigmaSchedule(), originalTimesteps = 50): SigmaSchedule {
  const stride = Math.floor(base.sigmas.length / originalTimesteps);
  const sigmas = new Float32Array(originalTimesteps);
  for (let x = 0; x < originalTimesteps; x++) sigmas[originalTimesteps - 1 - x] = base.sigmas[base.sigmas.length - 1 - x * stride];
  return fromTable(sigmas, stride);
}

/** ComfyUI rescale_zero_terminal_snr_sigmas (ModelSamplingDiscrete zsnr, Lin et al. 2023): √ᾱ shifted so the
 *  last is 0 and scaled so the first keeps its value; the last ᾱ is then set to 4.8973451890853435e-08 so σ_max
 *  stays finite (≈ 4518.8). float32 arithmetic as torch. */
export function zeroTerminalSnrSchedule(base: SigmaSchedule = sigmaSchedule()): SigmaSchedule {
  const roots = base.sigmas.map((s) => Math.sqrt(f32(1 / f32(f32(s * s) + 1))));
  const first = roots[0];
  const last = roots[roots.length - 1];
  const scale = f32(first / f32(first - last));
  const sigmas = roots.map((r, i) => {
    const alphaBar = i === roots.length - 1 ? f32(4.8973451890853435e-8) : f32(f32(f32(r - last) * scale) ** 2);
    return Math.sqrt(f32(f32(1 - alphaBar) / alphaBar));
  });
  return { ...fromTable(sigmas), ...(base.stride ? { stride: base.stride } : {}) };
}
