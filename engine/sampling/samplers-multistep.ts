// Deterministic samplers that reuse earlier derivatives d = (x − D)/σ (linear multistep) or look ahead in
// the σ list, from comfy/k_diffusion/sampling.py: lms (order 4), ipndm (order 4), deis (order 3, "tab"),
// heunpp2.

import { eulerStep, type KSampler } from './samplers.ts';

function derivative(x: Float32Array, denoised: Float32Array, sigma: number): Float32Array {
  return x.map((v, i) => (v - denoised[i]) / sigma);
}

/** x + Σ_j c_j·d_j (d_0 the newest). */
function combine(x: Float32Array, coefficients: readonly number[], ds: readonly Float32Array[]): Float32Array {
  return x.map((v, i) => {
    let sum = v;
    for (let j = 0; j < coefficients.length; j++) sum += coefficients[j] * ds[j][i];
    return sum;
  });
}

// 4-point Gauss–Legendre nodes and weights on [−1, 1]: exact for polynomials up to degree 7, so the
// Lagrange integrals below (degree ≤ 3) are exact, as scipy's quad (epsrel 1e-4) is for them.
const GAUSS_NODES = [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526];
const GAUSS_WEIGHTS = [0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538];

/** ∫_{σ_i}^{σ_{i+1}} ℓ_j(τ) dτ, ℓ_j the Lagrange basis polynomial of node σ_{i−j} over σ_i … σ_{i−order+1}
 *  (k-diffusion linear_multistep_coeff). */
export function lmsCoefficient(sigmas: ArrayLike<number>, order: number, i: number, j: number): number {
  const basis = (tau: number) => {
    let product = 1;
    for (let k = 0; k < order; k++) {
      if (k !== j) product *= (tau - sigmas[i - k]) / (sigmas[i - j] - sigmas[i - k]);
    }
    return product;
  };
  const a = sigmas[i];
  const b = sigmas[i + 1];
  const half = (b - a) / 2;
  const middle = (a + b) / 2;
  return GAUSS_NODES.reduce((sum, node, n) => sum + GAUSS_WEIGHTS[n] * basis(middle + half * node), 0) * half;
}

/** lms: Adams–Bashforth in σ with up to 4 past derivatives; the step to σ = 0 returns D. */
export const lms: KSampler = async (x, run) => {
  const { sigmas } = run;
  const order = 4;
  const ds: Float32Array[] = []; // newest first
  for (let i = 0; i < sigmas.length - 1; i++) {
    const denoised = await run.denoise(x, sigmas[i], i);
    ds.unshift(derivative(x, denoised, sigmas[i]));
    if (ds.length > order) ds.pop();
    run.report(i, x, denoised);
    if (sigmas[i + 1] === 0) {
      x = denoised;
      continue;
    }
    const current = Math.min(i + 1, order);
    const coefficients = Array.from({ length: current }, (_, j) => lmsCoefficient(sigmas, current, i, j));
    x = combine(x, coefficients, ds);
  }
  return x;
};

/** ipndm: improved PNDM (Zhang & Chen 2023), fixed Adams–Bashforth weights up to order 4 (as if the steps
 *  were equal); the step to σ = 0 returns D. */
export const ipndm: KSampler = async (x, run) => {
  const { sigmas } = run;
  const weights = [[1], [3 / 2, -1 / 2], [23 / 12, -16 / 12, 5 / 12], [55 / 24, -59 / 24, 37 / 24, -9 / 24]];
  const ds: Float32Array[] = []; // newest first, at most 4
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const denoised = await run.denoise(x, sigma, i);
    run.report(i, x, denoised);
    ds.unshift(derivative(x, denoised, sigma));
    if (ds.length > 4) ds.pop();
    if (sigmaNext === 0) {
      x = denoised;
      continue;
    }
    const dt = sigmaNext - sigma;
    x = combine(x, weights[ds.length - 1].map((w) => w * dt), ds);
  }
  return x;
};

/** The weights of ipndm_v for the newest derivative and up to three older ones, from the step h0 = σ' − σ
 *  and the earlier steps h1, h2, h3 (newest first). Equal steps give ipndm's weights up to order 3; the
 *  order-4 formula (diff-sampler's, as ComfyUI) gives 57, −65, 43, −11 (/24) there, not AB4's. */
export function ipndmVariableWeights(h: readonly number[]): number[] {
  const [h0, h1, h2, h3] = h;
  if (h.length === 1) return [1];
  const q = h0 / h1;
  const second = [(2 + q) / 2, -q / 2];
  if (h.length === 2) return second;
  const s01 = h0 + h1;
  const a = (1 - (h0 / (3 * s01)) * ((h0 * s01) / (h1 * (h1 + h2)))) / 2;
  const third = [second[0] + a, second[1] - (1 + h1 / h2) * a, (a * h1) / h2];
  if (h.length === 3) return third;
  const s012 = s01 + h2;
  const ratio = (h1 * (h1 + h2)) / (h2 * (h2 + h3));
  const b = ((1 - h0 / (3 * s01)) / 2 + ((1 - h0 / (2 * s01)) * h0) / (6 * s012)) * ((h0 * s01 * s012) / (h1 * (h1 + h2) * (h1 + h2 + h3)));
  return [
    third[0] + b,
    third[1] - (1 + h1 / h2 + ratio) * b,
    third[2] + (h1 / h2 + ratio * (1 + h2 / h3)) * b,
    -b * ratio * (h1 / h2),
  ];
}

/** ipndm_v: ipndm with weights for the actual (unequal) step sizes; the step to σ = 0 returns D. */
export const ipndmV: KSampler = async (x, run) => {
  const { sigmas } = run;
  const ds: Float32Array[] = []; // newest first, at most 4
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const denoised = await run.denoise(x, sigma, i);
    run.report(i, x, denoised);
    ds.unshift(derivative(x, denoised, sigma));
    if (ds.length > 4) ds.pop();
    if (sigmaNext === 0) {
      x = denoised;
      continue;
    }
    const steps = Array.from({ length: ds.length }, (_, k) => sigmas[i + 1 - k] - sigmas[i - k]);
    const dt = sigmaNext - sigma;
    x = combine(x, ipndmVariableWeights(steps).map((w) => w * dt), ds);
  }
  return x;
};

// DEIS "tab" (Zhang & Chen 2022) as ComfyUI's deis.py: the σ list is mapped to the time t of a VP SDE
// fitted to σ ∈ [0.002, 80] (EDM's range, hard-coded there), ε is extrapolated by a Lagrange polynomial
// in t and integrated against dσ/dt with a 10000-point sum.
const DEIS_EPSILON_S = 1e-3;
const DEIS_SIGMA_MIN = 0.002;
const DEIS_SIGMA_MAX = 80;
const DEIS_POINTS = 10000;

function deisSchedule(): { betaD: number; betaMin: number } {
  const logMax = Math.log(DEIS_SIGMA_MAX ** 2 + 1);
  const betaD = (2 * (Math.log(DEIS_SIGMA_MIN ** 2 + 1) / DEIS_EPSILON_S - logMax)) / (DEIS_EPSILON_S - 1);
  return { betaD, betaMin: logMax - 0.5 * betaD };
}

/** The DEIS coefficients of step i over the VP times t (order ≥ 2), newest first. */
export function deisCoefficients(times: readonly number[], i: number, order: number, betaD: number, betaMin: number): number[] {
  const from = times[i];
  const to = times[i + 1];
  const dtau = (to - from) / DEIS_POINTS;
  const nodes = Array.from({ length: order }, (_, k) => times[i - k]);
  const out = new Array<number>(order).fill(0);
  for (let n = 0; n < DEIS_POINTS; n++) {
    // torch.linspace(from, to, N): both ends included
    const tau = from + ((to - from) * n) / (DEIS_POINTS - 1);
    const alpha = Math.exp(-0.5 * betaD * tau * tau - betaMin * tau);
    const dLogAlpha = -betaD * tau - betaMin;
    const integrand = (-0.5 * dLogAlpha) / Math.sqrt(alpha * (1 - alpha)); // dσ/dt
    for (let j = 0; j < order; j++) {
      let poly = 1;
      for (let k = 0; k < order; k++) if (k !== j) poly *= (tau - nodes[k]) / (nodes[j] - nodes[k]);
      out[j] += integrand * poly * dtau;
    }
  }
  return out;
}

/** deis: order-3 DEIS; the first step and the step to σ = 0 are Euler steps. */
export const deis: KSampler = async (x, run) => {
  const { sigmas } = run;
  const maxOrder = 3;
  const { betaD, betaMin } = deisSchedule();
  const times = Array.from(sigmas, (s) => (Math.sqrt(betaMin ** 2 + 2 * betaD * Math.log(s * s + 1)) - betaMin) / betaD);
  const ds: Float32Array[] = []; // newest first
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const denoised = await run.denoise(x, sigma, i);
    run.report(i, x, denoised);
    ds.unshift(derivative(x, denoised, sigma));
    if (ds.length > maxOrder) ds.pop();
    const order = sigmaNext <= 0 ? 1 : Math.min(maxOrder, i + 1);
    x = order === 1 ? eulerStep(x, denoised, sigma, sigmaNext) : combine(x, deisCoefficients(times, i, order, betaD, betaMin), ds);
  }
  return x;
};

/** heunpp2: Heun with a third, look-ahead evaluation at σ_{i+2}, weighted by σ/σ_0; Heun for the step
 *  before last, Euler for the last (from sd-webui-samplers-scheduler, as ComfyUI). */
export const heunpp2: KSampler = async (x, run) => {
  const { sigmas } = run;
  const end = sigmas[sigmas.length - 1];
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const sigmaNext = sigmas[i + 1];
    const denoised = await run.denoise(x, sigma, i);
    run.report(i, x, denoised);
    const d = derivative(x, denoised, sigma);
    const dt = sigmaNext - sigma;
    if (sigmaNext === end) {
      x = combine(x, [dt], [d]);
      continue;
    }
    const x2 = combine(x, [dt], [d]);
    const d2 = derivative(x2, await run.denoise(x2, sigmaNext, i), sigmaNext);
    if (sigmas[i + 2] === end) {
      const w2 = sigmaNext / (2 * sigmas[0]);
      x = combine(x, [(1 - w2) * dt, w2 * dt], [d, d2]);
      continue;
    }
    const sigmaAfter = sigmas[i + 2];
    const x3 = combine(x2, [sigmaAfter - sigmaNext], [d2]);
    const d3 = derivative(x3, await run.denoise(x3, sigmaAfter, i), sigmaAfter);
    const w2 = sigmaNext / (3 * sigmas[0]);
    const w3 = sigmaAfter / (3 * sigmas[0]);
    x = combine(x, [(1 - w2 - w3) * dt, w2 * dt, w3 * dt], [d, d2, d3]);
  }
  return x;
};
