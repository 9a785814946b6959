// The samplers added after the first eight, checked three ways on data N(0, s²), whose ideal denoiser
// D(x, σ) = x·s²/(s² + σ²) acts on each element alone:
//  1. against a scalar reference written here from the published update rules in a different form
//     (UniPC in VP space with φ functions in closed form and Cramer's rule, DDPM's posterior mean from x0,
//     LMS weights by exact polynomial integration, DEIS weights integrated over σ instead of t), fed the
//     same noise;
//  2. deterministic ones converge to the exact ODE solution x(σ) ∝ √(s² + σ²) at their order;
//  3. stochastic ones, through sampleWithSigmas and its seeded noise, produce the data variance s².
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KRun, KSampler } from './samplers.ts';
import { dpm2Ancestral, dpmpp2sAncestral, ddpm } from './samplers-ancestral.ts';
import { dpmppSde, dpmpp3mSde } from './samplers-sde.ts';
import { lms, ipndm, ipndmV, deis, heunpp2, lmsCoefficient, ipndmVariableWeights } from './samplers-multistep.ts';
import { uniPcBh1, uniPcBh2 } from './samplers-unipc.ts';
import { dpmFast, dpmAdaptive } from './samplers-dpm-solver.ts';
import { sampleWithSigmas, type KSamplerName } from './sample.ts';
import { computeSigmas } from './sigmas.ts';
import { gaussianNoise, NoiseStream } from './noise.ts';
import { BrownianTree } from './brownian.ts';
import { gaussianModel, pointMassModel } from './test-models.ts';

const S = 0.5;
const denoiseScalar = (x: number, sigma: number) => (x * S * S) / (S * S + sigma * sigma);
type NoiseFn = (sigma: number, sigmaNext: number) => Float32Array;

/** Noise per (σ, σ') pair, drawn once: the sampler and the reference see the same values. */
function sharedNoise(size: number): NoiseFn {
  const drawn = new Map<string, Float32Array>();
  const stream = new NoiseStream(77n, 5);
  return (sigma, sigmaNext) => {
    const key = `${sigma}→${sigmaNext}`;
    if (!drawn.has(key)) drawn.set(key, stream.next(size));
    return drawn.get(key)!;
  };
}

async function runDirect(sampler: KSampler, sigmas: Float32Array, x: Float32Array, noise: NoiseFn): Promise<{ out: Float32Array; calls: number }> {
  let calls = 0;
  const run: KRun = {
    sigmas,
    denoise: async (current, sigma) => {
      calls++;
      return current.map((v) => denoiseScalar(v, sigma));
    },
    noise,
    report: () => {},
  };
  return { out: await sampler(x.slice(), run), calls };
}

type Reference = (x: number, sigmas: number[], noise: (sigma: number, sigmaNext: number) => number) => number;

/** k-diffusion get_ancestral_step, eta 1. */
function ancestral(from: number, to: number): [down: number, up: number] {
  const up = Math.min(to, Math.sqrt((to * to * (from * from - to * to)) / (from * from)));
  return [Math.sqrt(to * to - up * up), up];
}

// --- UniPC, in ComfyUI's VP formulation ---------------------------------------------------------------

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
/** φ_k(z) = (e^z − Σ_{j<k} z^j/j!)/z^k. */
function phi(k: number, z: number): number {
  let partial = 0;
  for (let j = 0; j < k; j++) partial += z ** j / factorial(j);
  return (Math.exp(z) - partial) / z ** k;
}
const det2 = (m: number[][]) => m[0][0] * m[1][1] - m[0][1] * m[1][0];
const det3 = (m: number[][]) =>
  m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
/** Cramer's rule for 1×1 … 3×3. */
function cramer(m: number[][], b: number[]): number[] {
  const det = (a: number[][]) => (a.length === 1 ? a[0][0] : a.length === 2 ? det2(a) : det3(a));
  const d = det(m);
  return b.map((_, col) => det(m.map((row, r) => row.map((v, c) => (c === col ? b[r] : v)))) / d);
}

function uniPcReference(variant: 'bh1' | 'bh2'): Reference {
  return (x, sigmaList) => {
    const ts = sigmaList.slice();
    if (ts[ts.length - 1] === 0) ts[ts.length - 1] = 0.001;
    const alpha = (s: number) => 1 / Math.sqrt(s * s + 1);
    const std = (s: number) => s / Math.sqrt(s * s + 1);
    const lambda = (s: number) => Math.log(alpha(s)) - Math.log(std(s));
    // data prediction from the ε the VP model sees
    const model = (xv: number, s: number) => {
      const input = xv / alpha(s);
      const eps = (input - denoiseScalar(input, s)) / s;
      return (xv - std(s) * eps) / alpha(s);
    };
    const update = (xv: number, ms: number[], tl: number[], t: number, order: number, useCorrector: boolean): [number, number | undefined] => {
      const tPrev = tl[tl.length - 1];
      const m0 = ms[ms.length - 1];
      const h = lambda(t) - lambda(tPrev);
      const rks: number[] = [];
      const d1s: number[] = [];
      for (let i = 1; i < order; i++) {
        const rk = (lambda(tl[tl.length - 1 - i]) - lambda(tPrev)) / h;
        rks.push(rk);
        d1s.push((ms[ms.length - 1 - i] - m0) / rk);
      }
      rks.push(1);
      const hh = -h;
      const bh = variant === 'bh1' ? hh : Math.expm1(hh);
      const R = Array.from({ length: order }, (_, i) => rks.map((r) => r ** i));
      const b = Array.from({ length: order }, (_, i) => (factorial(i + 1) * hh * phi(i + 2, hh)) / bh);
      const base = (std(t) / std(tPrev)) * xv - alpha(t) * Math.expm1(hh) * m0;
      let xt = base;
      if (d1s.length > 0) {
        const rhoP = order === 2 ? [0.5] : cramer(R.slice(0, -1).map((row) => row.slice(0, -1)), b.slice(0, -1));
        xt = base - alpha(t) * bh * rhoP.reduce((sum, rho, k) => sum + rho * d1s[k], 0);
      }
      if (!useCorrector) return [xt, undefined];
      const rhoC = order === 1 ? [0.5] : cramer(R, b);
      const mt = model(xt, t);
      const residual = d1s.reduce((sum, d, k) => sum + rhoC[k] * d, 0) + rhoC[rhoC.length - 1] * (mt - m0);
      return [base - alpha(t) * bh * residual, mt];
    };
    const steps = ts.length - 1;
    const order = Math.min(3, steps - 1);
    let xv = x * alpha(ts[0]);
    let ms: number[] = [];
    let tl: number[] = [];
    for (let index = 0; index < steps; index++) {
      if (index === 0) {
        ms = [model(xv, ts[0])];
        tl = [ts[0]];
      } else if (index < order) {
        const [next, m] = update(xv, ms, tl, ts[index], index, true);
        xv = next;
        ms.push(m!);
        tl.push(ts[index]);
      } else {
        for (let step = index; step <= (index === steps - 1 ? steps : index); step++) {
          const [next, m] = update(xv, ms, tl, ts[step], Math.min(order, steps + 1 - step), step !== steps);
          xv = next;
          for (let i = 0; i < order - 1; i++) {
            tl[i] = tl[i + 1];
            ms[i] = ms[i + 1];
          }
          tl[tl.length - 1] = ts[step];
          if (step < steps) ms[ms.length - 1] = m!;
        }
      }
    }
    return xv / alpha(ts[steps]);
  };
}

// --- the others ---------------------------------------------------------------------------------------

const dpmppSdeReference: Reference = (x, sigmas, noise) => {
  for (let i = 0; i < sigmas.length - 1; i++) {
    const [s, t] = [sigmas[i], sigmas[i + 1]];
    const d = denoiseScalar(x, s);
    if (t === 0) {
      x = d;
      continue;
    }
    const [lamS, lamT] = [-Math.log(s), -Math.log(t)];
    const lamMid = lamS + 0.5 * (lamT - lamS);
    const mid = Math.exp(-lamMid);
    let [down, up] = ancestral(s, mid);
    let hh = -Math.log(down) - lamS;
    const x2 = Math.exp(-hh) * x - Math.expm1(-hh) * d + noise(s, mid) * up;
    const d2 = denoiseScalar(x2, mid);
    [down, up] = ancestral(s, t);
    hh = -Math.log(down) - lamS;
    x = Math.exp(-hh) * x - Math.expm1(-hh) * d2 + noise(s, t) * up; // r = ½: the mix (1 − 1/2r)·D + 1/2r·D₂ is D₂
  }
  return x;
};

const dpmpp3mSdeReference: Reference = (x, sigmas, noise) => {
  const ds: number[] = [];
  const hs: number[] = [];
  for (let i = 0; i < sigmas.length - 1; i++) {
    const [s, t] = [sigmas[i], sigmas[i + 1]];
    const d = denoiseScalar(x, s);
    if (t === 0) return d;
    const h = Math.log(s / t);
    // exact exponential integrator of the SDE for a D extrapolated in λ (quadratic, then linear, then constant)
    const eta = 2 * h;
    x = (t / s) * Math.exp(-h) * x + (1 - Math.exp(-eta)) * d;
    const phi2 = (Math.exp(-eta) - 1) / eta + 1;
    if (ds.length >= 2) {
      const [r0, r1] = [hs[0] / h, hs[1] / h];
      const a = (d - ds[0]) / r0;
      const b = (ds[0] - ds[1]) / r1;
      x += phi2 * (a + ((a - b) * r0) / (r0 + r1)) - (phi2 / eta - 0.5) * ((a - b) / (r0 + r1));
    } else if (ds.length === 1) {
      x += phi2 * ((d - ds[0]) * h) / hs[0];
    }
    x += noise(s, t) * t * Math.sqrt(1 - Math.exp(-2 * h));
    ds.unshift(d);
    hs.unshift(h);
  }
  return x;
};

/** DDPM posterior q(x_{t−1} | x_t, x0) in VP space, x0 = D. */
const ddpmReference: Reference = (x, sigmas, noise) => {
  for (let i = 0; i < sigmas.length - 1; i++) {
    const [s, t] = [sigmas[i], sigmas[i + 1]];
    const x0 = denoiseScalar(x, s);
    const [abarT, abarPrev] = [1 / (1 + s * s), 1 / (1 + t * t)];
    const alphaT = abarT / abarPrev;
    const beta = 1 - alphaT;
    const xt = x * Math.sqrt(abarT);
    const mean = ((Math.sqrt(abarPrev) * beta) / (1 - abarT)) * x0 + ((Math.sqrt(alphaT) * (1 - abarPrev)) / (1 - abarT)) * xt;
    x = t > 0 ? (mean + Math.sqrt((beta * (1 - abarPrev)) / (1 - abarT)) * noise(s, t)) / Math.sqrt(abarPrev) : mean;
  }
  return x;
};

const dpm2AncestralReference: Reference = (x, sigmas, noise) => {
  for (let i = 0; i < sigmas.length - 1; i++) {
    const s = sigmas[i];
    const d = (x - denoiseScalar(x, s)) / s;
    const [down, up] = ancestral(s, sigmas[i + 1]);
    if (down === 0) {
      x -= d * s;
      continue;
    }
    const mid = Math.sqrt(s * down); // geometric mean = midpoint in log σ
    const xm = x + d * (mid - s);
    x = x + ((xm - denoiseScalar(xm, mid)) / mid) * (down - s) + noise(s, sigmas[i + 1]) * up;
  }
  return x;
};

const dpmpp2sAncestralReference: Reference = (x, sigmas, noise) => {
  for (let i = 0; i < sigmas.length - 1; i++) {
    const [s, t] = [sigmas[i], sigmas[i + 1]];
    const d = denoiseScalar(x, s);
    const [down, up] = ancestral(s, t);
    if (down === 0) {
      x = d;
    } else {
      const mid = Math.sqrt(s * down);
      const xm = (mid / s) * x + (1 - mid / s) * d;
      x = (down / s) * x + (1 - down / s) * denoiseScalar(xm, mid);
    }
    if (t > 0) x += noise(s, t) * up;
  }
  return x;
};

/** ∫_a^b Π_{k≠j}(τ − n_k)/(n_j − n_k) dτ by expanding the product into monomials. */
function lagrangeIntegral(nodes: number[], j: number, a: number, b: number): number {
  let poly = [1]; // coefficients, lowest degree first
  nodes.forEach((node, k) => {
    if (k === j) return;
    const scale = 1 / (nodes[j] - node);
    const next = new Array<number>(poly.length + 1).fill(0);
    poly.forEach((c, p) => {
      next[p + 1] += c * scale;
      next[p] -= c * node * scale;
    });
    poly = next;
  });
  return poly.reduce((sum, c, p) => sum + (c * (b ** (p + 1) - a ** (p + 1))) / (p + 1), 0);
}

const lmsReference: Reference = (x, sigmas) => {
  const history: number[] = []; // newest last
  for (let i = 0; i < sigmas.length - 1; i++) {
    const den = denoiseScalar(x, sigmas[i]);
    history.push((x - den) / sigmas[i]);
    if (sigmas[i + 1] === 0) return den;
    const order = Math.min(i + 1, 4);
    const nodes = Array.from({ length: order }, (_, k) => sigmas[i - k]);
    for (let j = 0; j < order; j++) x += lagrangeIntegral(nodes, j, sigmas[i], sigmas[i + 1]) * history[history.length - 1 - j];
  }
  return x;
};

const ipndmReference: Reference = (x, sigmas) => {
  const ds: number[] = []; // newest last
  for (let i = 0; i < sigmas.length - 1; i++) {
    const den = denoiseScalar(x, sigmas[i]);
    const d = (x - den) / sigmas[i];
    const dt = sigmas[i + 1] - sigmas[i];
    const p = ds.slice(-3).reverse(); // p[0] newest earlier derivative
    if (sigmas[i + 1] === 0) x = den;
    else if (p.length === 0) x += dt * d;
    else if (p.length === 1) x += (dt * (3 * d - p[0])) / 2;
    else if (p.length === 2) x += (dt * (23 * d - 16 * p[0] + 5 * p[1])) / 12;
    else x += (dt * (55 * d - 59 * p[0] + 37 * p[1] - 9 * p[2])) / 24;
    ds.push(d);
  }
  return x;
};

/** ipndm_v's variable-step weights, transcribed term by term from the published formulas (diff-sampler). */
const ipndmVReference: Reference = (x, t) => {
  const ds: number[] = []; // newest last
  for (let i = 0; i < t.length - 1; i++) {
    const den = denoiseScalar(x, t[i]);
    const d = (x - den) / t[i];
    const order = Math.min(4, i + 1);
    const hn = t[i + 1] - t[i];
    const [b1, b2, b3] = [ds[ds.length - 1], ds[ds.length - 2], ds[ds.length - 3]];
    if (t[i + 1] === 0) x = den;
    else if (order === 1) x += hn * d;
    else {
      const hn1 = t[i] - t[i - 1];
      if (order === 2) x += hn * (((2 + hn / hn1) / 2) * d - (hn / hn1 / 2) * b1);
      else {
        const hn2 = t[i - 1] - t[i - 2];
        const temp1 = (1 - ((hn / (3 * (hn + hn1))) * (hn * (hn + hn1))) / (hn1 * (hn1 + hn2))) / 2;
        if (order === 3) {
          x += hn * (((2 + hn / hn1) / 2 + temp1) * d + (-(hn / hn1) / 2 - (1 + hn1 / hn2) * temp1) * b1 + ((temp1 * hn1) / hn2) * b2);
        } else {
          const hn3 = t[i - 2] - t[i - 3];
          const temp2 =
            ((1 - hn / (3 * (hn + hn1))) / 2 + ((1 - hn / (2 * (hn + hn1))) * hn) / (6 * (hn + hn1 + hn2))) *
            ((hn * (hn + hn1) * (hn + hn1 + hn2)) / (hn1 * (hn1 + hn2) * (hn1 + hn2 + hn3)));
          const c = (hn1 * (hn1 + hn2)) / (hn2 * (hn2 + hn3));
          const coeff1 = (2 + hn / hn1) / 2 + temp1 + temp2;
          const coeff2 = -(hn / hn1) / 2 - (1 + hn1 / hn2) * temp1 - (1 + hn1 / hn2 + c) * temp2;
          const coeff3 = (temp1 * hn1) / hn2 + (hn1 / hn2 + c * (1 + hn2 / hn3)) * temp2;
          const coeff4 = ((-temp2 * c) * hn1) / hn2;
          x += hn * (coeff1 * d + coeff2 * b1 + coeff3 * b2 + coeff4 * b3);
        }
      }
    }
    ds.push(d);
  }
  return x;
};

/** DEIS with the weights integrated over σ (Simpson, 2000 intervals) instead of over the VP time t. */
const deisReference: Reference = (x, sigmas) => {
  const logMax = Math.log(80 ** 2 + 1);
  const betaD = (2 * (Math.log(0.002 ** 2 + 1) / 1e-3 - logMax)) / (1e-3 - 1);
  const betaMin = logMax - betaD / 2;
  const tOf = (sigma: number) => (Math.sqrt(betaMin ** 2 + 2 * betaD * Math.log(1 + sigma * sigma)) - betaMin) / betaD;
  const ds: number[] = []; // newest first
  for (let i = 0; i < sigmas.length - 1; i++) {
    const [s, next] = [sigmas[i], sigmas[i + 1]];
    const d = (x - denoiseScalar(x, s)) / s;
    ds.unshift(d);
    const order = next <= 0 ? 1 : Math.min(3, i + 1);
    if (order === 1) {
      x += d * (next - s);
      continue;
    }
    const nodes = Array.from({ length: order }, (_, k) => tOf(sigmas[i - k]));
    const n = 2000;
    for (let j = 0; j < order; j++) {
      const f = (sigma: number) => nodes.reduce((prod, node, k) => (k === j ? prod : (prod * (tOf(sigma) - node)) / (nodes[j] - node)), 1);
      let sum = f(s) + f(next);
      for (let m = 1; m < n; m++) sum += (m % 2 === 1 ? 4 : 2) * f(s + ((next - s) * m) / n);
      x += ((sum * (next - s)) / (3 * n)) * ds[j];
    }
  }
  return x;
};

const heunpp2Reference: Reference = (x, sigmas) => {
  const last = sigmas[sigmas.length - 1];
  const slope = (y: number, sigma: number) => (y - denoiseScalar(y, sigma)) / sigma;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const [s0, s1] = [sigmas[i], sigmas[i + 1]];
    const d = slope(x, s0);
    if (s1 === last) {
      x += d * (s1 - s0);
      continue;
    }
    const x2 = x + d * (s1 - s0);
    const d2 = slope(x2, s1);
    if (sigmas[i + 2] === last) {
      const w = s1 / (2 * sigmas[0]);
      x += (d * (1 - w) + d2 * w) * (s1 - s0);
      continue;
    }
    const s2 = sigmas[i + 2];
    const x3 = x2 + d2 * (s2 - s1);
    const d3 = slope(x3, s2);
    const [w2, w3] = [s1 / (3 * sigmas[0]), s2 / (3 * sigmas[0])];
    x += (d * (1 - w2 - w3) + d2 * w2 + d3 * w3) * (s1 - s0);
  }
  return x;
};

// DPM-Solver written in σ: with h = log(σ/σ'), σ'·(e^h − 1) = σ − σ' and σ(t + r·h) = σ^(1−r)·σ'^r.
type Denoiser = (x: number, sigma: number) => number;
const between = (from: number, to: number, r: number) => from ** (1 - r) * to ** r;

function dpmSolverStep(x: number, from: number, to: number, order: number, r1 = 1 / 2, den: Denoiser = denoiseScalar): number {
  const epsScalar = (y: number, sigma: number) => (y - den(y, sigma)) / sigma;
  const e = epsScalar(x, from);
  const h = Math.log(from / to);
  const base = x - (from - to) * e;
  if (order === 1) return base;
  const s1 = between(from, to, order === 3 ? 1 / 3 : r1);
  const e1 = epsScalar(x - (from - s1) * e, s1);
  if (order === 2) return base - ((from - to) / (2 * r1)) * (e1 - e);
  const s2 = between(from, to, 2 / 3);
  const u2 = x - (from - s2) * e - s2 * 2 * ((from / s2 - 1) / ((2 / 3) * h) - 1) * (e1 - e);
  const e2 = epsScalar(u2, s2);
  return base - (to / (2 / 3)) * ((from / to - 1) / h - 1) * (e2 - e);
}

const dpmFastReference: Reference = (x, sigmas) => {
  const nfe = sigmas.length - 1;
  const [low, high] = [sigmas[nfe] === 0 ? sigmas[nfe - 1] : sigmas[nfe], sigmas[0]];
  const m = Math.floor(nfe / 3) + 1;
  const orders: number[] = [];
  for (let left = nfe; left > 0; ) {
    const order = nfe % 3 === 0 && orders.length >= m - 2 ? (orders.length === m - 2 ? 2 : 1) : Math.min(3, left);
    orders.push(order);
    left -= order;
  }
  // uniform in log σ
  for (let i = 0; i < orders.length; i++) x = dpmSolverStep(x, between(high, low, i / m), between(high, low, (i + 1) / m), orders[i]);
  return x;
};

const CASES: Array<{ name: string; sampler: KSampler; reference: Reference; calls: (steps: number) => number; tolerance?: number }> = [
  { name: 'uni_pc', sampler: uniPcBh1, reference: uniPcReference('bh1'), calls: (n) => n },
  { name: 'uni_pc_bh2', sampler: uniPcBh2, reference: uniPcReference('bh2'), calls: (n) => n },
  { name: 'dpmpp_sde', sampler: dpmppSde, reference: dpmppSdeReference, calls: (n) => 2 * n - 1 },
  { name: 'ddpm', sampler: ddpm, reference: ddpmReference, calls: (n) => n },
  { name: 'dpm_2_ancestral', sampler: dpm2Ancestral, reference: dpm2AncestralReference, calls: (n) => 2 * n - 1 },
  { name: 'dpmpp_2s_ancestral', sampler: dpmpp2sAncestral, reference: dpmpp2sAncestralReference, calls: (n) => 2 * n - 1 },
  { name: 'dpmpp_3m_sde', sampler: dpmpp3mSde, reference: dpmpp3mSdeReference, calls: (n) => n },
  { name: 'lms', sampler: lms, reference: lmsReference, calls: (n) => n },
  { name: 'ipndm', sampler: ipndm, reference: ipndmReference, calls: (n) => n },
  { name: 'ipndm_v', sampler: ipndmV, reference: ipndmVReference, calls: (n) => n },
  // the 10000-point sum ComfyUI uses for the DEIS weights is accurate to ~1e-4 of a weight
  { name: 'deis', sampler: deis, reference: deisReference, calls: (n) => n, tolerance: 2e-4 },
  { name: 'heunpp2', sampler: heunpp2, reference: heunpp2Reference, calls: (n) => (n === 1 ? 1 : 3 * n - 3) },
  { name: 'dpm_fast', sampler: dpmFast, reference: dpmFastReference, calls: (n) => n },
];

test('each added sampler follows its update rule (independent scalar reference, same noise)', async () => {
  const size = 16;
  for (const steps of [1, 2, 3, 4, 9]) {
    const sigmas = computeSigmas('karras', steps);
    const x = gaussianNoise(BigInt(steps), [size]).map((v) => v * sigmas[0]);
    for (const { name, sampler, reference, calls, tolerance } of CASES) {
      const noise = sharedNoise(size);
      const { out, calls: made } = await runDirect(sampler, sigmas, x, noise);
      const list = Array.from(sigmas);
      let worst = 0;
      for (let k = 0; k < size; k++) {
        const expected = reference(x[k], list, (s, t) => noise(s, t)[k]);
        worst = Math.max(worst, Math.abs(out[k] - expected) / Math.max(1, Math.abs(expected)));
      }
      assert.ok(worst < (tolerance ?? 2e-5), `${name}, ${steps} steps: off by ${worst}`);
      assert.equal(made, calls(steps), `${name}, ${steps} steps: model calls`);
    }
  }
});

/** Relative error against the exact ODE solution at the schedule's smallest positive σ, found from the
 *  sampler's reported states (x at σ_i before step i). */
async function errorAtSigmaMin(sampler: KSamplerName, steps: number): Promise<number> {
  const dims = [1, 4, 4, 4];
  const sigmas = computeSigmas('karras', steps, 1, sampler);
  const states: Float32Array[] = [];
  await sampleWithSigmas({
    model: gaussianModel(S),
    cfg: 1,
    latent: { dims, data: new Float32Array(64) },
    sampler,
    sigmas,
    noise: gaussianNoise(21n, dims),
    seed: 21n,
    onStep: (p) => states.push(p.x.slice()),
  });
  const last = sigmas.length - 2;
  const exact = states[0].map((v) => (v * Math.sqrt(S * S + sigmas[last] ** 2)) / Math.sqrt(S * S + sigmas[0] ** 2));
  let worst = 0;
  for (let i = 0; i < exact.length; i++) worst = Math.max(worst, Math.abs(states[last][i] - exact[i]));
  return worst / Math.max(...exact.map(Math.abs));
}

// Measured (karras, 10 → 40 steps): lms 6.0e-2 → 6.4e-4, ipndm 2.7e-2 → 1.1e-3, ipndm_v 2.2e-3 → 5.5e-5, deis 4.0e-2 → 8.8e-4,
// uni_pc 4.2e-2 → 7.9e-5, uni_pc_bh2 3.6e-2 → 8.3e-5 (higher order: ÷25 or more); heunpp2 1.6e-1 → 3.8e-2
// (its look-ahead weights σ/(3σ_0) fade as σ falls, leaving Euler: first order, ÷4).
test('deterministic added samplers converge to the exact ODE solution at their order', async () => {
  const expectations: Array<[KSamplerName, number, number]> = [
    ['lms', 0.08, 25],
    ['ipndm', 0.04, 15],
    ['ipndm_v', 0.005, 20],
    ['deis', 0.06, 25],
    ['uni_pc', 0.06, 100],
    ['uni_pc_bh2', 0.05, 100],
    ['heunpp2', 0.2, 3],
  ];
  for (const [sampler, bound10, minRatio] of expectations) {
    const coarse = await errorAtSigmaMin(sampler, 10);
    const fine = await errorAtSigmaMin(sampler, 40);
    assert.ok(coarse < bound10, `${sampler} 10 steps: ${coarse}`);
    assert.ok(coarse / fine > minRatio, `${sampler}: 10 steps ${coarse}, 40 steps ${fine}`);
  }
});

test('every added sampler lands on the data point when the data is a single point', async () => {
  const dims = [1, 4, 4, 4];
  const x0 = gaussianNoise(3n, dims).map((v) => v * 0.7);
  const names: KSamplerName[] = [
    'heunpp2', 'dpm_2_ancestral', 'lms', 'dpm_fast', 'dpm_adaptive', 'dpmpp_2s_ancestral', 'dpmpp_sde', 'dpmpp_3m_sde', 'ddpm', 'ipndm', 'ipndm_v', 'deis', 'uni_pc', 'uni_pc_bh2',
  ];
  const noise = gaussianNoise(11n, dims);
  for (const sampler of names) {
    const sigmas = computeSigmas('karras', 10, 1, sampler);
    const result = await sampleWithSigmas({ model: pointMassModel(x0), cfg: 1, latent: { dims, data: new Float32Array(64) }, sampler, sigmas, noise, seed: 11n });
    // The ODE path is x0 + σ·(x_start − x0)/σ_0. uni_pc stops at σ = 0.001 (ComfyUI's stand-in for 0),
    // dpm_fast and dpm_adaptive at the smallest positive σ of the list.
    const end = sampler.startsWith('uni_pc') ? 0.001 : sampler === 'dpm_fast' || sampler === 'dpm_adaptive' ? sigmas[sigmas.length - 2] : 0;
    const start = noise.map((v) => v * Math.fround(Math.sqrt(1 + sigmas[0] ** 2)));
    result.data.forEach((v, i) => {
      const expected = x0[i] + (end / sigmas[0]) * (start[i] - x0[i]);
      assert.ok(Math.abs(v - expected) <= 1e-5, `${sampler}: ${v} vs ${expected}`);
    });
  }
});

// Measured variance (target 0.25, karras, 4096 values: standard error of the variance ~2%):
// dpm_2_ancestral 100 steps 0.238, dpmpp_2s_ancestral 100 steps 0.238, ddpm 30 steps 0.197 → 200 steps 0.237,
// dpmpp_sde 20 steps 0.249, dpmpp_3m_sde 20 steps 0.268 → 60 steps 0.259 (the Brownian tree draws up to 24
// tensors per increment, so these runs are kept short).
test('stochastic added samplers produce samples with the data variance', async () => {
  const cases: Array<{ sampler: KSamplerName; dims: number[]; steps: number; bound: number }> = [
    { sampler: 'dpm_2_ancestral', dims: [1, 4, 32, 32], steps: 100, bound: 0.08 },
    { sampler: 'dpmpp_2s_ancestral', dims: [1, 4, 32, 32], steps: 100, bound: 0.08 },
    { sampler: 'ddpm', dims: [1, 4, 32, 32], steps: 200, bound: 0.08 },
    { sampler: 'dpmpp_sde', dims: [1, 4, 32, 32], steps: 20, bound: 0.08 },
    { sampler: 'dpmpp_3m_sde', dims: [1, 4, 32, 32], steps: 60, bound: 0.08 },
  ];
  for (const { sampler, dims, steps, bound } of cases) {
    const size = dims.reduce((n, d) => n * d, 1);
    const result = await sampleWithSigmas({
      model: gaussianModel(S),
      cfg: 1,
      latent: { dims, data: new Float32Array(size) },
      sampler,
      sigmas: computeSigmas('karras', steps, 1, sampler),
      noise: gaussianNoise(5n, dims),
      seed: 5n,
    });
    const variance = result.data.reduce((sum, v) => sum + v * v, 0) / size;
    assert.ok(Math.abs(variance / (S * S) - 1) < bound, `${sampler}: variance ${variance}`);
  }
});

test('the SDE samplers take their noise from the Brownian tree of the seed, the ancestral ones from stream 1', async () => {
  const dims = [1, 2, 2, 2];
  const sigmas = computeSigmas('karras', 5);
  const latent = { dims, data: new Float32Array(8) };
  const start = gaussianNoise(1n, dims).map((v) => v * Math.sqrt(1 + sigmas[0] ** 2));
  const positive = [...sigmas].filter((s) => s > 0);
  const tree = new BrownianTree(9n, 8, { sigmaMin: Math.min(...positive), sigmaMax: Math.max(...positive) });
  const stream = new NoiseStream(9n, 1);
  const expectations: Array<[KSamplerName, KSampler, NoiseFn]> = [
    ['dpmpp_sde', dpmppSde, (s, t) => tree.increment(s, t)],
    ['dpmpp_3m_sde', dpmpp3mSde, (s, t) => tree.increment(s, t)],
    ['ddpm', ddpm, () => stream.next(8)],
  ];
  for (const [name, sampler, noise] of expectations) {
    const viaSample = await sampleWithSigmas({ model: gaussianModel(S), cfg: 1, latent, sampler: name, sigmas, noise: gaussianNoise(1n, dims), seed: 9n });
    const direct = await runDirect(sampler, sigmas, Float32Array.from(start), noise);
    viaSample.data.forEach((v, i) => assert.ok(Math.abs(v - direct.out[i]) < 1e-5, `${name}: ${v} vs ${direct.out[i]}`));
  }
});

// Measured (karras, relative error at σ_min, where both stop): dpm_fast 10 calls 1.2e-2, 40 calls 3.8e-4
// (its steps are third order but the last is first order: ÷32); dpm_adaptive (rtol 0.05, atol 0.0078) 2.4e-2.
test('dpm_fast converges at third order and dpm_adaptive meets its tolerance, against the exact ODE solution', async () => {
  const dims = [1, 4, 4, 4];
  const errorAt = async (sampler: KSamplerName, steps: number) => {
    const sigmas = computeSigmas('karras', steps);
    const start = gaussianNoise(21n, dims).map((v) => v * Math.fround(Math.sqrt(1 + sigmas[0] ** 2)));
    const result = await sampleWithSigmas({ model: gaussianModel(S), cfg: 1, latent: { dims, data: new Float32Array(64) }, sampler, sigmas, noise: gaussianNoise(21n, dims), seed: 21n });
    const sigmaMin = sigmas[sigmas.length - 2];
    const exact = start.map((v) => (v * Math.sqrt(S * S + sigmaMin ** 2)) / Math.sqrt(S * S + sigmas[0] ** 2));
    let worst = 0;
    exact.forEach((v, i) => (worst = Math.max(worst, Math.abs(result.data[i] - v))));
    return worst / Math.max(...exact.map(Math.abs));
  };
  const coarse = await errorAt('dpm_fast', 10);
  const fine = await errorAt('dpm_fast', 40);
  assert.ok(coarse < 0.02 && coarse / fine > 20, `dpm_fast: 10 calls ${coarse}, 40 calls ${fine}`);
  const adaptive = await errorAt('dpm_adaptive', 10);
  assert.ok(adaptive < 0.05, `dpm_adaptive: ${adaptive}`);
});

test('dpm_adaptive follows DPM-Solver-23 with its step-size controller (vector reference)', async () => {
  const size = 16;
  // Data ±1 with equal weight, D = tanh(x/σ²): curved enough that the controller rejects steps. (On the
  // Gaussian the ODE is so smooth that both orders agree to float32 round-off, and the step sizes would
  // follow the rounding.)
  const twoPoints: Denoiser = (v, sigma) => Math.tanh(v / (sigma * sigma));
  const sigmas = Float32Array.from([3, 1, 0.3, 0.03, 0]);
  const x = Array.from(gaussianNoise(4n, [size]), (v) => Math.fround(v * sigmas[0]));
  let calls = 0;
  const direct = await dpmAdaptive(Float32Array.from(x), {
    sigmas,
    denoise: async (current, sigma) => {
      calls++;
      return current.map((v) => twoPoints(v, sigma));
    },
    noise: () => {
      throw new Error('dpm_adaptive (eta 0) draws no noise');
    },
    report: () => {},
  });
  // reference: accept while 1 + atan((1/err)^(1/3) − 1) ≥ 0.81, h scaled by that factor either way
  const [low, high] = [sigmas[sigmas.length - 2], sigmas[0]];
  let h = 0.05;
  let t = -Math.log(high);
  const tEnd = -Math.log(low);
  let current = x.slice();
  let previousLow = x.slice();
  let attempts = 0;
  let rejected = 0;
  while (t < tEnd - 1e-5) {
    attempts++;
    const next = Math.min(tEnd, t + h);
    const [from, to] = [Math.exp(-t), Math.exp(-next)];
    const lowOrder = current.map((v) => dpmSolverStep(v, from, to, 2, 1 / 3, twoPoints));
    const highOrder = current.map((v) => dpmSolverStep(v, from, to, 3, undefined, twoPoints));
    const scaled = lowOrder.map((v, i) => (v - highOrder[i]) / Math.max(0.0078, 0.05 * Math.max(Math.abs(v), Math.abs(previousLow[i]))));
    const error = Math.hypot(...scaled) / Math.sqrt(size);
    const factor = 1 + Math.atan((1 / (error + 1e-8)) ** (1 / 3) - 1);
    if (factor >= 0.81) {
      previousLow = lowOrder;
      current = highOrder;
      t = next;
    } else {
      rejected++;
    }
    h *= factor;
  }
  assert.ok(attempts > 3 && rejected > 0, `${attempts} attempts, ${rejected} rejected: the test would not exercise the controller`);
  assert.equal(calls, 3 * attempts);
  direct.forEach((v, i) => assert.ok(Math.abs(v - current[i]) < 2e-5 * Math.max(1, Math.abs(current[i])), `${v} vs ${current[i]}`));
});

// With equal steps orders 1–3 are ipndm's Adams–Bashforth weights. Order 4 is not AB4's 55, −59, 37, −9 (/24):
// the published formula (diff-sampler, copied by ComfyUI) reduces to 57, −65, 43, −11 (/24), still summing to 1;
// ComfyUI's numbers are kept.
test('ipndm_v: equal steps give ipndm\'s weights up to order 3; two points give variable-step AB2 (the LMS weights)', () => {
  const h = 0.37;
  const fixed = [[1], [3 / 2, -1 / 2], [23 / 12, -16 / 12, 5 / 12], [57 / 24, -65 / 24, 43 / 24, -11 / 24]];
  for (let order = 1; order <= 4; order++) {
    const weights = ipndmVariableWeights(new Array<number>(order).fill(-h));
    weights.forEach((w, j) => assert.ok(Math.abs(w - fixed[order - 1][j]) < 1e-12, `order ${order}: ${weights}`));
  }
  const sigmas = [14, 9, 5.5];
  const lmsWeights = [0, 1].map((j) => lmsCoefficient(sigmas, 2, 1, j) / (sigmas[2] - sigmas[1]));
  ipndmVariableWeights([sigmas[2] - sigmas[1], sigmas[1] - sigmas[0]]).forEach((w, j) => assert.ok(Math.abs(w - lmsWeights[j]) < 1e-12));
});
