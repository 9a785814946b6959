// The σ table a MODEL samples with: SD1.5's, or what ModelSamplingDiscrete made of it (ComfyUI's
// model_sampling object patch: "lcm" → the distilled 50-entry table, zsnr → zero terminal SNR).
import { distilledSchedule, sigmaSchedule, zeroTerminalSnrSchedule, type SigmaSchedule } from '../sampling/index.ts';
import type { SdModel } from './wire-types.ts';

/** undefined for the default table, so that callers keep their unpatched (and diffusers-DDIM) paths. */
export function modelSchedule(model: Pick<SdModel, 'prediction' | 'zsnr'>): SigmaSchedule | undefined {
  if (model.prediction !== 'lcm' && !model.zsnr) return undefined;
  const base = model.prediction === 'lcm' ? distilledSchedule() : sigmaSchedule();
  return model.zsnr ? zeroTerminalSnrSchedule(base) : base;
}
