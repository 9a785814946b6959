// The contract between the samplers and the network they drive (an ε-prediction UNet such as SD1.5's),
// and classifier-free guidance (sd15-reference.md §5.2, §5.6): one model call per evaluation, with the
// unconditional and conditional rows batched together. Conditionings with several entries, areas, masks or
// σ ranges go through area-guidance.ts (one call per crop size); other prediction types and RescaleCFG
// through prediction.ts.
import { areaDenoised, isPlainGuidance, type GuidanceConds } from './area-guidance.ts';
import { denoisedFrom, plainCfg, rescaledCfg, type Prediction } from './prediction.ts';
import type { ModelCall, EpsModel } from './model-call.ts';
import type { SigmaSchedule } from './schedule.ts';

export type { ModelCall, EpsModel, CondChunk } from './model-call.ts';
export { callChunks } from './model-call.ts';

/** Per-step report: x before the step and the (guided) prediction of the clean latent. */
export interface StepProgress {
  index: number;
  total: number;
  sigma: number;
  x: Float32Array;
  denoised: Float32Array;
}

/** What every loop shares: the model, guidance, and the per-step hooks. */
export interface LoopOptions {
  model: EpsModel;
  cfg: number;
  /** Called after each step's first model evaluation (ComfyUI's callback: progress + previews). */
  onStep?: (progress: StepProgress) => void;
  /** Called before every model evaluation; throw from it to stop (e.g. ctx.throwIfInterrupted). */
  throwIfAborted?: () => void;
  /** Inpainting (ComfyUI's noise_mask, KSamplerX0Inpaint): one value per latent element, 1 = denoise,
   *  0 = keep the input latent (re-noised to each step's σ before the model sees it). */
  noiseMask?: Float32Array;
  /** Prediction type, RescaleCFG and area conditioning (k-diffusion samplers only). */
  denoiser?: DenoiserOptions;
}

/** Model patches that change the denoiser (ComfyUI MODEL object patches and sampler_cfg_function). */
export interface DenoiserOptions {
  /** ModelSamplingDiscrete's sampling type; default "eps". */
  prediction?: Prediction;
  /** RescaleCFG's multiplier (0…1); undefined: plain CFG. */
  rescaleCfg?: number;
  /** Per-entry areas, masks, strengths and σ ranges; undefined: one plain entry per branch. */
  conds?: GuidanceConds;
  /** The model's σ table (ModelSamplingDiscrete lcm / zsnr); undefined: SD1.5's (schedule.ts). It sets the
   *  scheduler's σ list, the UNet timestep of each σ and the initial noise scale. */
  schedule?: SigmaSchedule;
}

/** No patch and plain conditionings: what the ε-only DDIM paths can run. */
export function isDefaultDenoiser(options: DenoiserOptions | undefined): boolean {
  return options === undefined || (isPlainGuidance(options.conds) && (options.prediction ?? 'eps') === 'eps' && options.rescaleCfg === undefined && options.schedule === undefined);
}

/** ComfyUI skips the unconditional pass when cfg == 1 (math.isclose, rel 1e-9). */
export function usesUncond(cfg: number): boolean {
  return Math.abs(cfg - 1) > 1e-9 * Math.max(Math.abs(cfg), 1);
}

/** Shared by both guidance variants: run the model once and hand back the ε rows per branch. */
async function evaluate(
  model: EpsModel,
  call: Omit<ModelCall, 'sample' | 'guidance'> & { input: Float32Array; cfg: number; keepUncond?: boolean },
): Promise<{ cond: Float32Array; uncond: Float32Array | undefined }> {
  const { input, cfg, dims, keepUncond, ...rest } = call;
  const size = input.length;
  if (!usesUncond(cfg) && !keepUncond) {
    const eps = await model({ ...rest, dims, sample: input, guidance: 'cond' });
    checkOutput(eps, size);
    return { cond: eps, uncond: undefined };
  }
  const doubled = new Float32Array(2 * size);
  doubled.set(input, 0);
  doubled.set(input, size);
  const eps = await model({ ...rest, dims: [2 * dims[0], ...dims.slice(1)], sample: doubled, guidance: 'uncond+cond' });
  checkOutput(eps, 2 * size);
  return { uncond: eps.subarray(0, size), cond: eps.subarray(size) };
}

function checkOutput(eps: Float32Array, expected: number): void {
  if (eps.length !== expected) {
    throw new Error(`the model returned ${eps.length} values for a sample of ${expected}; it must return ε of the same size`);
  }
}

export interface GuidedCall {
  model: EpsModel;
  cfg: number;
  dims: readonly number[];
  step: { index: number; total: number };
  denoiser?: DenoiserOptions;
  /** Run the unconditional pass even at cfg 1 (ComfyUI's disable_cfg1_optimization, set by the CFG++
   *  samplers, which need the unconditional prediction itself). */
  keepUncond?: boolean;
}

/** The guided prediction and the unconditional branch's own denoised value (ComfyUI's post-CFG hook argument
 *  "uncond_denoised"); uncond is undefined when the pass did not run (cfg 1 without keepUncond). */
export interface GuidedPredictions {
  denoised: Float32Array;
  uncond: Float32Array | undefined;
}

/** k-diffusion denoiser D(x, σ) of an ε model (ComfyUI CFGGuider): x_in = x/√(σ²+1), t = timestep(σ),
 *  D = x − σ·ε per branch, then D = D_u + cfg·(D_c − D_u) on the denoised values, as ComfyUI does. Other
 *  prediction types, RescaleCFG and area conditioning go the general way (patchedDenoised). */
export async function guidedDenoised(
  guided: GuidedCall,
  x: Float32Array,
  level: { sigma: number; timestep: number },
): Promise<Float32Array> {
  return (await guidedPredictions(guided, x, level)).denoised;
}

/** guidedDenoised that also hands back the unconditional denoised value (for the CFG++ samplers). */
export async function guidedPredictions(
  guided: GuidedCall,
  x: Float32Array,
  level: { sigma: number; timestep: number },
): Promise<GuidedPredictions> {
  const options = guided.denoiser;
  if (options && !isDefaultDenoiser(options)) return patchedDenoised(guided, options, x, level);
  const { sigma } = level;
  const divisor = Math.fround(Math.sqrt(Math.fround(Math.fround(sigma * sigma) + 1)));
  const input = x.map((v) => v / divisor);
  const { cond, uncond } = await evaluate(guided.model, { ...guided, ...level, input });
  const out = new Float32Array(x.length);
  const uncondOut = uncond === undefined || !guided.keepUncond ? undefined : new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const denoisedCond = Math.fround(x[i] - Math.fround(sigma * cond[i]));
    if (uncond === undefined) {
      out[i] = denoisedCond;
      continue;
    }
    const denoisedUncond = Math.fround(x[i] - Math.fround(sigma * uncond[i]));
    if (uncondOut) uncondOut[i] = denoisedUncond;
    out[i] = denoisedUncond + Math.fround(Math.fround(denoisedCond - denoisedUncond) * guided.cfg);
  }
  return { denoised: out, uncond: uncondOut };
}

/** The general denoiser: per-branch predictions (area-weighted when the conditionings have areas), converted
 *  by the prediction type, then CFG or RescaleCFG. */
async function patchedDenoised(
  guided: GuidedCall,
  options: DenoiserOptions,
  x: Float32Array,
  level: { sigma: number; timestep: number },
): Promise<GuidedPredictions> {
  const prediction = options.prediction ?? 'eps';
  const withUncond = usesUncond(guided.cfg) || guided.keepUncond === true;
  let cond: Float32Array;
  let uncond: Float32Array | undefined;
  if (isPlainGuidance(options.conds)) {
    const divisor = Math.fround(Math.sqrt(Math.fround(Math.fround(level.sigma * level.sigma) + 1)));
    const raw = await evaluate(guided.model, { ...guided, ...level, input: x.map((v) => v / divisor) });
    cond = denoisedFrom(prediction, x, raw.cond, level.sigma, level.timestep);
    uncond = raw.uncond && denoisedFrom(prediction, x, raw.uncond, level.sigma, level.timestep);
  } else {
    const conds = options.conds as GuidanceConds;
    ({ cond, uncond } = await areaDenoised({ model: guided.model, prediction, conds, withUncond, dims: guided.dims, step: guided.step }, x, level));
  }
  if (options.rescaleCfg !== undefined) {
    return { denoised: rescaledCfg({ x, cond, uncond, cfg: guided.cfg, sigma: level.sigma, items: guided.dims[0] }, options.rescaleCfg), uncond };
  }
  return { denoised: uncond === undefined ? cond : plainCfg(cond, uncond, guided.cfg), uncond };
}

/** diffusers guidance on ε: ε = ε_u + cfg·(ε_c − ε_u); the sample goes to the model unscaled. */
export async function guidedEps(
  guided: GuidedCall,
  sample: Float32Array,
  level: { sigma: number; timestep: number },
): Promise<Float32Array> {
  const { cond, uncond } = await evaluate(guided.model, { ...guided, ...level, input: sample });
  if (uncond === undefined) return cond;
  const out = new Float32Array(sample.length);
  for (let i = 0; i < sample.length; i++) {
    out[i] = uncond[i] + Math.fround(Math.fround(cond[i] - uncond[i]) * guided.cfg);
  }
  return out;
}
