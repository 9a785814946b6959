// Model merging nodes (ComfyUI comfy_extras/nodes_model_merging.py): ModelMergeSimple, ModelMergeSubtract,
// ModelMergeAdd and CLIPMergeSimple, with ComfyUI's inputs and weights (engine/sd/model-merge.ts).
import { defineNode } from '../engine/graph/index.ts';
import { mergeNetwork } from '../engine/sd/index.ts';

const CATEGORY = 'advanced/model_merging';

export const ModelMergeSimple = defineNode({
  name: 'ModelMergeSimple',
  displayName: 'ModelMergeSimple',
  category: CATEGORY,
  description: 'Merges two diffusion models: ratio·model1 + (1 − ratio)·model2, weight by weight.',
  inputs: {
    required: {
      model1: { kind: 'LINK', type: 'MODEL' },
      model2: { kind: 'LINK', type: 'MODEL' },
      ratio: { kind: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run({ model1, model2, ratio }) {
    if (ratio === 1) return { outputs: [model1] };
    return { outputs: [{ ...model1, checkpoint: mergeNetwork(model1.checkpoint, model2.checkpoint, 'unet', ratio, 1 - ratio) }] };
  },
});

export const ModelMergeSubtract = defineNode({
  name: 'ModelMergeSubtract',
  displayName: 'ModelMergeSubtract',
  category: CATEGORY,
  description: 'multiplier·(model1 − model2), weight by weight (e.g. to extract what a fine-tune changed).',
  inputs: {
    required: {
      model1: { kind: 'LINK', type: 'MODEL' },
      model2: { kind: 'LINK', type: 'MODEL' },
      multiplier: { kind: 'FLOAT', default: 1.0, min: -10.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run({ model1, model2, multiplier }) {
    return { outputs: [{ ...model1, checkpoint: mergeNetwork(model1.checkpoint, model2.checkpoint, 'unet', multiplier, -multiplier) }] };
  },
});

export const ModelMergeAdd = defineNode({
  name: 'ModelMergeAdd',
  displayName: 'ModelMergeAdd',
  category: CATEGORY,
  description: 'model1 + model2, weight by weight (e.g. to add a difference made with ModelMergeSubtract).',
  inputs: {
    required: {
      model1: { kind: 'LINK', type: 'MODEL' },
      model2: { kind: 'LINK', type: 'MODEL' },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run({ model1, model2 }) {
    return { outputs: [{ ...model1, checkpoint: mergeNetwork(model1.checkpoint, model2.checkpoint, 'unet', 1, 1) }] };
  },
});

export const CLIPMergeSimple = defineNode({
  name: 'CLIPMergeSimple',
  displayName: 'CLIPMergeSimple',
  category: CATEGORY,
  description: 'Merges two CLIP text encoders: ratio·clip1 + (1 − ratio)·clip2 (position ids and logit scale from clip1).',
  inputs: {
    required: {
      clip1: { kind: 'LINK', type: 'CLIP' },
      clip2: { kind: 'LINK', type: 'CLIP' },
      ratio: { kind: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'CLIP' }],
  run({ clip1, clip2, ratio }) {
    if (ratio === 1) return { outputs: [clip1] };
    return { outputs: [{ ...clip1, checkpoint: mergeNetwork(clip1.checkpoint, clip2.checkpoint, 'textEncoder', ratio, 1 - ratio) }] };
  },
});

export const modelMergeNodes = [ModelMergeSimple, ModelMergeSubtract, ModelMergeAdd, CLIPMergeSimple];
