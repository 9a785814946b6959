// DPM-Solver (Lu et al. 2022, singlestep, ε form, t = −log σ) as k-diffusion's DPMSolver class, behind
// ComfyUI's dpm_fast and dpm_adaptive (eta 0, so no noise). Both ignore the σ list's inner values: they run
// from σ_0 to the smallest positive σ in it (not to 0: the result keeps that much noise, as in ComfyUI).

import type { KRun, KSampler } from './samplers.ts';

const sigmaOf = (t: number) => Math.exp(-t);
const tOf = (sigma: number) => -Math.log(sigma);

/** ε of the model at time t, from the denoiser: (x − D(x, σ(t)))/σ(t). */
async function eps(run: KRun, x: Float32Array, t: number, step: number): Promise<Float32Array> {
  const sigma = sigmaOf(t);
  const denoised = await run.denoise(x, sigma, step);
  return x.map((v, i) => (v - denoised[i]) / sigma);
}

type Cache = { eps: Float32Array; r1?: { r: number; value: Float32Array } };

function firstOrder(x: Float32Array, cache: Cache, t: number, next: number): Float32Array {
  const scale = sigmaOf(next) * Math.expm1(next - t);
  return x.map((v, i) => v - scale * cache.eps[i]);
}

/** ε at the intermediate time s1 = t + r1·h, shared by the second- and third-order steps of one attempt. */
async function epsR1(run: KRun, x: Float32Array, cache: Cache, t: number, h: number, r1: number, step: number): Promise<Float32Array> {
  if (cache.r1 !== undefined && cache.r1.r === r1) return cache.r1.value;
  const s1 = t + r1 * h;
  const scale = sigmaOf(s1) * Math.expm1(r1 * h);
  const u1 = x.map((v, i) => v - scale * cache.eps[i]);
  const value = await eps(run, u1, s1, step);
  cache.r1 = { r: r1, value };
  return value;
}

async function secondOrder(run: KRun, x: Float32Array, cache: Cache, t: number, next: number, r1: number, step: number): Promise<Float32Array> {
  const h = next - t;
  const e1 = await epsR1(run, x, cache, t, h, r1, step);
  const base = sigmaOf(next) * Math.expm1(h);
  const correction = (sigmaOf(next) / (2 * r1)) * Math.expm1(h);
  return x.map((v, i) => v - base * cache.eps[i] - correction * (e1[i] - cache.eps[i]));
}

async function thirdOrder(run: KRun, x: Float32Array, cache: Cache, t: number, next: number, step: number): Promise<Float32Array> {
  const [r1, r2] = [1 / 3, 2 / 3];
  const h = next - t;
  const e = cache.eps;
  const e1 = await epsR1(run, x, cache, t, h, r1, step);
  const s2 = t + r2 * h;
  const u2Base = sigmaOf(s2) * Math.expm1(r2 * h);
  const u2Correction = sigmaOf(s2) * (r2 / r1) * (Math.expm1(r2 * h) / (r2 * h) - 1);
  const u2 = x.map((v, i) => v - u2Base * e[i] - u2Correction * (e1[i] - e[i]));
  const e2 = await eps(run, u2, s2, step);
  const base = sigmaOf(next) * Math.expm1(h);
  const correction = (sigmaOf(next) / r2) * (Math.expm1(h) / h - 1);
  return x.map((v, i) => v - base * e[i] - correction * (e2[i] - e[i]));
}

/** ComfyUI's range for these two: σ_max = σ_0, σ_min = the last σ, or the one before it when that is 0. */
function range(sigmas: Float32Array): { sigmaMin: number; sigmaMax: number } | undefined {
  if (sigmas.length <= 1) return undefined;
  const last = sigmas[sigmas.length - 1];
  return { sigmaMin: last === 0 ? sigmas[sigmas.length - 2] : last, sigmaMax: sigmas[0] };
}

/** dpm_fast: DPM-Solver-fast with len(σ) − 1 model calls spread over steps of order 3 (the last one or two
 *  of lower order), uniform in t between σ_max and σ_min. */
export const dpmFast: KSampler = async (x, run) => {
  const bounds = range(run.sigmas);
  if (bounds === undefined) return x;
  const nfe = run.sigmas.length - 1;
  const tStart = tOf(bounds.sigmaMax);
  const tEnd = tOf(bounds.sigmaMin);
  const m = Math.floor(nfe / 3) + 1;
  const times = Array.from({ length: m + 1 }, (_, i) => tStart + ((tEnd - tStart) * i) / m);
  const orders = nfe % 3 === 0 ? [...new Array<number>(m - 2).fill(3), 2, 1] : [...new Array<number>(m - 1).fill(3), nfe % 3];
  for (let i = 0; i < orders.length; i++) {
    const [t, next] = [times[i], times[i + 1]];
    const cache: Cache = { eps: await eps(run, x, t, i) };
    run.report(i, x, x.map((v, k) => v - sigmaOf(t) * cache.eps[k]));
    if (orders[i] === 1) x = firstOrder(x, cache, t, next);
    else if (orders[i] === 2) x = await secondOrder(run, x, cache, t, next, 1 / 2, i);
    else x = await thirdOrder(run, x, cache, t, next, i);
  }
  return x;
};

/** k-diffusion's PIDStepSizeController with dpm_adaptive's defaults (pcoeff 0, icoeff 1, dcoeff 0: a plain
 *  integral controller), order 3, accept_safety 0.81. */
class StepSizeController {
  private readonly errors: number[] = [];
  constructor(public h: number, private readonly order: number) {}

  /** Scales h from the error; returns whether the step is accepted. */
  propose(error: number): boolean {
    const inverse = 1 / (error + 1e-8);
    if (this.errors.length === 0) this.errors.push(inverse, inverse, inverse);
    this.errors[0] = inverse;
    const raw = this.errors[0] ** (1 / this.order); // b1 = (p + i + d)/order; b2 = b3 = 0
    const factor = 1 + Math.atan(raw - 1);
    const accept = factor >= 0.81;
    if (accept) {
      this.errors[2] = this.errors[1];
      this.errors[1] = this.errors[0];
    }
    this.h *= factor;
    return accept;
  }
}

/** A bound on attempts so that a model that returns NaN (the error never falls) cannot spin forever. */
const MAX_ADAPTIVE_ATTEMPTS = 10_000;

/** dpm_adaptive: DPM-Solver-23 with adaptive steps (rtol 0.05, atol 0.0078, h_init 0.05): each attempt
 *  compares the 2nd-order (r1 = ⅓) and 3rd-order results, which share their model calls. */
export const dpmAdaptive: KSampler = async (x, run) => {
  const bounds = range(run.sigmas);
  if (bounds === undefined) return x;
  const tStart = tOf(bounds.sigmaMax);
  const tEnd = tOf(bounds.sigmaMin);
  if (!(tEnd > tStart)) return x; // one σ: k-diffusion's loop does not run (backwards needs eta 0 and no range)
  const [rtol, atol] = [0.05, 0.0078];
  const controller = new StepSizeController(0.05, 3);
  let s = tStart;
  let previousLow = x;
  for (let attempt = 0; s < tEnd - 1e-5; attempt++) {
    if (attempt >= MAX_ADAPTIVE_ATTEMPTS) {
      throw new Error(`dpm_adaptive made ${MAX_ADAPTIVE_ATTEMPTS} attempts without reaching σ_min; the model output is probably not finite`);
    }
    const t = Math.min(tEnd, s + controller.h);
    const cache: Cache = { eps: await eps(run, x, s, attempt) };
    run.report(attempt, x, x.map((v, k) => v - sigmaOf(s) * cache.eps[k]));
    const low = await secondOrder(run, x, cache, s, t, 1 / 3, attempt);
    const high = await thirdOrder(run, x, cache, s, t, attempt);
    let sum = 0;
    for (let i = 0; i < x.length; i++) {
      const delta = Math.max(atol, rtol * Math.max(Math.abs(low[i]), Math.abs(previousLow[i])));
      sum += ((low[i] - high[i]) / delta) ** 2;
    }
    const error = Math.sqrt(sum) / Math.sqrt(x.length);
    if (!Number.isFinite(error)) throw new Error(`dpm_adaptive: the model output is not finite at σ = ${sigmaOf(s)}`);
    if (controller.propose(error)) {
      previousLow = low;
      x = high;
      s = t;
    }
  }
  return x;
};
