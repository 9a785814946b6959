// What the network predicts and how guidance combines the two predictions: ComfyUI's model_sampling types
// (comfy/model_sampling.py EPS, V_PREDICTION; comfy_extras/nodes_model_advanced.py X0, set by the
// ModelSamplingDiscrete node) and the RescaleCFG sampler_cfg_function. All in k-diffusion terms: x is the
// noisy latent at σ, the network sees x/√(σ² + 1), "denoised" is the predicted clean latent.

import { SamplingInputError } from './errors.ts';

const f32 = Math.fround;

/** ComfyUI ModelSamplingDiscrete `sampling` values supported here (SD-style discrete schedule, σ_data = 1). */
export const PREDICTION_TYPES = ['eps', 'v_prediction', 'lcm', 'x0'] as const;
export type Prediction = (typeof PREDICTION_TYPES)[number];

export function checkPrediction(prediction: string): asserts prediction is Prediction {
  if (!(PREDICTION_TYPES as readonly string[]).includes(prediction)) {
    throw new SamplingInputError(`unknown model prediction type "${prediction}"; choose one of ${PREDICTION_TYPES.join(', ')}`);
  }
}

/**
 * calculate_denoised: the clean-latent prediction from the network output `out` for the noisy `x` at σ,
 * element by element (both arrays the same layout). eps: x − σ·ε; v_prediction: x/(σ²+1) − v·σ/√(σ²+1);
 * lcm: the consistency-model boundary condition on the ε estimate, c_out·(x − σ·ε) + c_skip·x with σ_data 0.5 and
 * the (distilled) timestep × 10; x0: the output itself.
 */
export function denoisedFrom(prediction: Prediction, x: Float32Array, out: Float32Array, sigma: number, timestep = 0): Float32Array {
  const result = new Float32Array(x.length);
  switch (prediction) {
    case 'eps':
      for (let i = 0; i < x.length; i++) result[i] = f32(x[i] - f32(out[i] * sigma));
      return result;
    case 'v_prediction': {
      const variance = f32(f32(sigma * sigma) + 1);
      const outScale = f32(sigma / f32(Math.sqrt(variance)));
      for (let i = 0; i < x.length; i++) result[i] = f32(f32(x[i] / variance) - f32(out[i] * outScale));
      return result;
    }
    case 'lcm': {
      const scaled = timestep * 10;
      const skip = f32(0.25 / (scaled * scaled + 0.25));
      const outScale = f32(scaled / Math.sqrt(scaled * scaled + 0.25));
      for (let i = 0; i < x.length; i++) result[i] = f32(f32(outScale * f32(x[i] - f32(out[i] * sigma))) + f32(skip * x[i]));
      return result;
    }
    case 'x0':
      result.set(out);
      return result;
  }
}

/** Classifier-free guidance on denoised values: D_u + cfg·(D_c − D_u) (ComfyUI cfg_function). */
export function plainCfg(cond: Float32Array, uncond: Float32Array, cfg: number): Float32Array {
  const out = new Float32Array(cond.length);
  for (let i = 0; i < cond.length; i++) out[i] = uncond[i] + f32(f32(cond[i] - uncond[i]) * cfg);
  return out;
}

/** torch.std (unbiased) of each batch item over its C·H·W values, in float64. */
function itemStd(values: Float64Array, items: number): Float64Array {
  const size = values.length / items;
  const out = new Float64Array(items);
  for (let b = 0; b < items; b++) {
    let mean = 0;
    for (let i = 0; i < size; i++) mean += values[b * size + i];
    mean /= size;
    let square = 0;
    for (let i = 0; i < size; i++) square += (values[b * size + i] - mean) ** 2;
    out[b] = Math.sqrt(square / (size - 1));
  }
  return out;
}

/**
 * ComfyUI RescaleCFG (Lin et al. 2023, "Common diffusion noise schedules…" §3.4) as its sampler_cfg_function:
 * both predictions are turned into v (x_s = x/(σ²+1), v = (x_s − D)·√(σ²+1)/σ), guided v = v_u + cfg·(v_c − v_u) is
 * rescaled to the standard deviation of v_c per batch item and mixed with the plain one by `multiplier`, then
 * turned back into a denoised value. `uncond` undefined (cfg 1 skips the pass) is ComfyUI's all-zero prediction.
 * Computed in float64, rounded to float32 at the end.
 */
export function rescaledCfg(
  args: { x: Float32Array; cond: Float32Array; uncond: Float32Array | undefined; cfg: number; sigma: number; items: number },
  multiplier: number,
): Float32Array {
  const { x, cond, uncond, cfg, sigma, items } = args;
  if (!(sigma > 0)) return uncond === undefined ? cond.slice() : plainCfg(cond, uncond, cfg); // v is undefined at σ = 0
  const variance = sigma * sigma + 1;
  const root = Math.sqrt(variance);
  const n = x.length;
  const vCond = new Float64Array(n);
  const vCfg = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const scaled = x[i] / variance;
    const c = ((scaled - cond[i]) * root) / sigma;
    const u = ((scaled - (uncond === undefined ? 0 : uncond[i])) * root) / sigma;
    vCond[i] = c;
    vCfg[i] = u + cfg * (c - u);
  }
  const stdCond = itemStd(vCond, items);
  const stdCfg = itemStd(vCfg, items);
  const size = n / items;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const b = Math.floor(i / size);
    const rescaled = vCfg[i] * (stdCond[b] / stdCfg[b]);
    const final = multiplier * rescaled + (1 - multiplier) * vCfg[i];
    out[i] = x[i] / variance - (final * sigma) / root;
  }
  return out;
}
