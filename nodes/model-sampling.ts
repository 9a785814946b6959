// MODEL patches that change the denoiser (ComfyUI comfy_extras/nodes_model_advanced.py): ModelSamplingDiscrete
// (what the network predicts) and RescaleCFG. Like the other patches they return a new MODEL value; the
// sampler applies them (engine/sampling prediction.ts).
import { defineNode, type NodeDefinition } from '../engine/graph/index.ts';
import { PREDICTION_TYPES, checkPrediction } from '../engine/sampling/index.ts';

export const ModelSamplingDiscrete = defineNode({
  name: 'ModelSamplingDiscrete',
  displayName: 'ModelSamplingDiscrete',
  category: 'advanced/model',
  description: 'Sets what the model predicts: eps (noise, SD1.5), v_prediction (SD2.x 768-v and v-pred fine-tunes) or x0 (the clean latent). lcm and zsnr change the σ schedule and are not supported yet.',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL' },
      sampling: { kind: 'COMBO', options: [...PREDICTION_TYPES, 'lcm'] },
      zsnr: { kind: 'BOOLEAN', default: false },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run({ model, sampling, zsnr }) {
    if (sampling === 'lcm') throw new Error('ModelSamplingDiscrete: "lcm" (the distilled 50-step σ schedule) is not supported yet; use the lcm sampler with an eps model');
    if (zsnr) throw new Error('ModelSamplingDiscrete: zsnr (zero terminal SNR σ schedule) is not supported yet; set zsnr to false');
    checkPrediction(sampling);
    return { outputs: [{ ...model, prediction: sampling }] };
  },
});

export const RescaleCFG = defineNode({
  name: 'RescaleCFG',
  displayName: 'RescaleCFG',
  category: 'advanced/model',
  description: 'Rescales the guided prediction (in v space) to the standard deviation of the conditional one, mixed by multiplier (Lin et al. 2023); counters over-exposure at high cfg, mostly for v-prediction models.',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL' },
      multiplier: { kind: 'FLOAT', default: 0.7, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run({ model, multiplier }) {
    return { outputs: [{ ...model, rescaleCfg: multiplier }] };
  },
});

export const modelSamplingNodes: readonly NodeDefinition[] = [ModelSamplingDiscrete, RescaleCFG];
