// MODEL patches that change the denoiser (ComfyUI comfy_extras/nodes_model_advanced.py): ModelSamplingDiscrete
// (what the network predicts) and RescaleCFG. Like the other patches they return a new MODEL value; the
// sampler applies them (engine/sampling prediction.ts).
import { defineNode, type NodeDefinition } from '../engine/graph/index.ts';
import { PREDICTION_TYPES, checkPrediction } from '../engine/sampling/index.ts';

export const ModelSamplingDiscrete = defineNode({
  name: 'ModelSamplingDiscrete',
  displayName: 'ModelSamplingDiscrete',
  category: 'advanced/model',
  description: 'Sets what the model predicts: eps (noise, SD1.5), v_prediction (SD2.x 768-v and v-pred fine-tunes), lcm (LCM-distilled models: the 50-step distilled σ table and the consistency boundary condition) or x0 (the clean latent); zsnr rescales the σ table to zero terminal SNR (for models trained that way).',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL' },
      sampling: { kind: 'COMBO', options: PREDICTION_TYPES },
      zsnr: { kind: 'BOOLEAN', default: false },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run({ model, sampling, zsnr }) {
    checkPrediction(sampling);
    return { outputs: [{ ...model, prediction: sampling, zsnr }] };
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
