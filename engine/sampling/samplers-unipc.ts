// UniPC (Zhao et al. 2023, "UniPC: a unified predictor-corrector framework"), multistep, data prediction,
// as ComfyUI runs it (comfy/extra_samplers/uni_pc.py: sample_unipc / sample_unipc_bh2): order
// min(3, steps − 1), lower order at the start and the end, a final σ of 0 replaced by 0.001, and the
// corrector's model call reused as the next step's history (one model call per step).
//
// ComfyUI works in VP space (x/√(1 + σ²)) with λ = −log σ; every coefficient there is a ratio that is the
// same in the VE space x = x0 + σ·n used here, so this runs in VE space and needs no conversion:
//   base  = (σ_t/σ_s)·x − expm1(−h)·D_s                      h = λ_t − λ_s
//   x_t   = base − B(h)·Σ_k ρ_k·(D_k − D_s)/r_k  (+ ρ_last·(D_t − D_s) for the corrector)
// with B(h) = −h ("bh1") or expm1(−h) ("bh2"), r_k = (λ_k − λ_s)/h, and ρ solving R·ρ = b,
// R[i][k] = r_k^i, b_i = (i+1)!·φ_{i+2}(−h)·(−h)/B(h)  (φ built by the recursion φ ← φ/(−h) − 1/(i+1)!).

import type { KRun, KSampler } from './samplers.ts';

type Variant = 'bh1' | 'bh2';

/** ComfyUI's stand-in for a final σ of 0 (log σ must stay finite). */
const FINAL_SIGMA = 0.001;

/** Solves the small dense system a·x = b (Gaussian elimination, partial pivoting). */
export function solveLinear(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row.slice(0, n), b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(m[row][col]) > Math.abs(m[pivot][col])) pivot = row;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let row = col + 1; row < n; row++) {
      const factor = m[row][col] / m[col][col];
      for (let k = col; k <= n; k++) m[row][k] -= factor * m[col][k];
    }
  }
  const out = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row--) {
    let sum = m[row][n];
    for (let k = row + 1; k < n; k++) sum -= m[row][k] * out[k];
    out[row] = sum / m[row][row];
  }
  return out;
}

/** The ρ coefficients of one update: predictor (history only) and corrector (history + the new point). */
export function uniPcCoefficients(rks: readonly number[], h: number, order: number, variant: Variant) {
  const hh = -h;
  const bh = variant === 'bh1' ? hh : Math.expm1(hh);
  const ratios = [...rks, 1];
  const matrix: number[][] = [];
  const rhs: number[] = [];
  let phi = Math.expm1(hh) / hh - 1;
  let factorial = 1;
  for (let i = 1; i <= order; i++) {
    matrix.push(ratios.map((r) => r ** (i - 1)));
    rhs.push((phi * factorial) / bh);
    factorial *= i + 1;
    phi = phi / hh - 1 / factorial;
  }
  // ComfyUI's shortcuts: ρ_p = ½ for order 2, ρ_c = ½ for order 1
  const predictor = rks.length === 0 ? [] : order === 2 ? [0.5] : solveLinear(matrix.slice(0, -1).map((row) => row.slice(0, -1)), rhs.slice(0, -1));
  const corrector = order === 1 ? [0.5] : solveLinear(matrix, rhs);
  return { bh, predictor, corrector };
}

interface History {
  sigmas: number[];
  denoised: Float32Array[];
}

/** One UniPC step from the newest history point to σ_t; returns x_t and, with the corrector, D(x̃_t, σ_t)
 *  evaluated at the predictor's x̃_t. */
async function uniPcUpdate(
  x: Float32Array,
  history: History,
  target: { sigma: number; order: number; corrector: boolean; step: number },
  run: KRun,
  variant: Variant,
): Promise<{ x: Float32Array; denoised: Float32Array | undefined }> {
  const last = history.sigmas.length - 1;
  const sigmaS = history.sigmas[last];
  const newest = history.denoised[last];
  const h = Math.log(sigmaS) - Math.log(target.sigma);
  const rks: number[] = [];
  const differences: Float32Array[] = [];
  for (let k = 1; k < target.order; k++) {
    const r = (Math.log(sigmaS) - Math.log(history.sigmas[last - k])) / h;
    const older = history.denoised[last - k];
    rks.push(r);
    differences.push(newest.map((v, i) => (older[i] - v) / r));
  }
  const { bh, predictor, corrector } = uniPcCoefficients(rks, h, target.order, variant);
  const ratio = target.sigma / sigmaS;
  const gain = Math.expm1(-h);
  const base = x.map((v, i) => ratio * v - gain * newest[i]);
  const predicted = base.slice();
  predictor.forEach((rho, k) => {
    const d = differences[k];
    for (let i = 0; i < predicted.length; i++) predicted[i] -= bh * rho * d[i];
  });
  if (!target.corrector) return { x: predicted, denoised: undefined };
  const denoised = await run.denoise(predicted, target.sigma, target.step);
  const corrected = base.slice();
  const own = corrector[corrector.length - 1];
  for (let i = 0; i < corrected.length; i++) {
    let residual = own * (denoised[i] - newest[i]);
    for (let k = 0; k < differences.length; k++) residual += corrector[k] * differences[k][i];
    corrected[i] -= bh * residual;
  }
  return { x: corrected, denoised };
}

function uniPc(variant: Variant): KSampler {
  return async (x, run) => {
    const steps = run.sigmas.length - 1;
    const times = Array.from(run.sigmas);
    if (times[steps] === 0) times[steps] = FINAL_SIGMA;
    const order = Math.min(3, steps - 1);
    const history: History = { sigmas: [times[0]], denoised: [await run.denoise(x, times[0], 0)] };
    run.report(0, x, history.denoised[0]);
    if (order < 1) {
      // One step: ComfyUI evaluates the model once and returns the input, rescaled from VP space with
      // σ_0 in and the final σ out (its loop has no update to make).
      const scale = Math.sqrt(1 + times[steps] ** 2) / Math.sqrt(1 + times[0] ** 2);
      return x.map((v) => v * scale);
    }
    for (let index = 1; index < steps; index++) {
      if (index < order) {
        // warm-up: lower orders while the history fills
        const out = await uniPcUpdate(x, history, { sigma: times[index], order: index, corrector: true, step: index }, run, variant);
        x = out.x;
        history.sigmas.push(times[index]);
        history.denoised.push(out.denoised!);
      } else {
        const stepOrder = Math.min(order, steps + 1 - index);
        const out = await uniPcUpdate(x, history, { sigma: times[index], order: stepOrder, corrector: true, step: index }, run, variant);
        x = out.x;
        // slide the window of `order` points
        history.sigmas = [...history.sigmas.slice(1), times[index]];
        history.denoised = [...history.denoised.slice(1), out.denoised!];
      }
      // x is now at σ_index with D(σ_index) the newest history entry: the pair other samplers report
      run.report(index, x, history.denoised[history.denoised.length - 1]);
    }
    // the final step (ComfyUI's "extra_final_step"): first order, no corrector, no model call
    return (await uniPcUpdate(x, history, { sigma: times[steps], order: 1, corrector: false, step: steps - 1 }, run, variant)).x;
  };
}

/** uni_pc: UniPC with B(h) = h ("bh1"). */
export const uniPcBh1 = uniPc('bh1');
/** uni_pc_bh2: UniPC with B(h) = e^h − 1, ComfyUI's recommended variant for guided sampling. */
export const uniPcBh2 = uniPc('bh2');
