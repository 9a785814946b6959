// ComfyUI's area-composition conditioning nodes (nodes.py): ConditioningCombine, ConditioningSetArea,
// ConditioningSetAreaPercentage, ConditioningSetAreaStrength, ConditioningSetMask and
// ConditioningSetTimestepRange. They only annotate entries; the sampler evaluates each entry on its area and
// weights them (engine/sd/area-conds.ts, engine/sampling/area-guidance.ts).
import { defineNode, type NodeDefinition } from '../engine/graph/index.ts';
import type { Conditioning, ConditioningEntry } from '../engine/sd/index.ts';

const MAX_RESOLUTION = 16384;
const conditioningIn = { kind: 'LINK', type: 'CONDITIONING' } as const;
const strengthIn = { kind: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.01 } as const;

/** node_helpers.conditioning_set_values: the same values on every entry. */
function setValues(conditioning: Conditioning, values: Partial<ConditioningEntry>): Conditioning {
  return conditioning.map((entry) => ({ ...entry, ...values }));
}

export const ConditioningCombine = defineNode({
  name: 'ConditioningCombine',
  displayName: 'Conditioning (Combine)',
  category: 'conditioning',
  description: 'Both conditionings\' entries in one list: the sampler evaluates each entry and averages the predictions by their area weights.',
  inputs: { required: { conditioning_1: conditioningIn, conditioning_2: conditioningIn } },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning_1, conditioning_2 }) {
    return { outputs: [[...conditioning_1, ...conditioning_2]] };
  },
});

export const ConditioningSetArea = defineNode({
  name: 'ConditioningSetArea',
  displayName: 'Conditioning (Set Area)',
  category: 'conditioning',
  description: 'Limits the conditioning to a rectangle (pixels, rounded down to multiples of 8); the prediction fades over 8 latent cells at edges inside the image. strength weighs it against overlapping entries.',
  inputs: {
    required: {
      conditioning: conditioningIn,
      width: { kind: 'INT', default: 64, min: 64, max: MAX_RESOLUTION, step: 8 },
      height: { kind: 'INT', default: 64, min: 64, max: MAX_RESOLUTION, step: 8 },
      x: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 8 },
      y: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 8 },
      strength: strengthIn,
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning, width, height, x, y, strength }) {
    const area = { unit: 'cells', height: Math.floor(height / 8), width: Math.floor(width / 8), y: Math.floor(y / 8), x: Math.floor(x / 8) } as const;
    return { outputs: [setValues(conditioning, { area, strength, setAreaToBounds: false })] };
  },
});

export const ConditioningSetAreaPercentage = defineNode({
  name: 'ConditioningSetAreaPercentage',
  displayName: 'Conditioning (Set Area with Percentage)',
  category: 'conditioning',
  description: 'ConditioningSetArea with the rectangle as fractions (0…1) of the image, resolved against the latent when sampling.',
  inputs: {
    required: {
      conditioning: conditioningIn,
      width: { kind: 'FLOAT', default: 1.0, min: 0, max: 1.0, step: 0.01 },
      height: { kind: 'FLOAT', default: 1.0, min: 0, max: 1.0, step: 0.01 },
      x: { kind: 'FLOAT', default: 0, min: 0, max: 1.0, step: 0.01 },
      y: { kind: 'FLOAT', default: 0, min: 0, max: 1.0, step: 0.01 },
      strength: strengthIn,
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning, width, height, x, y, strength }) {
    return { outputs: [setValues(conditioning, { area: { unit: 'fraction', height, width, y, x }, strength, setAreaToBounds: false })] };
  },
});

export const ConditioningSetAreaStrength = defineNode({
  name: 'ConditioningSetAreaStrength',
  displayName: 'ConditioningSetAreaStrength',
  category: 'conditioning',
  description: 'Sets the weight of the conditioning\'s entries where they overlap others.',
  inputs: { required: { conditioning: conditioningIn, strength: strengthIn } },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning, strength }) {
    return { outputs: [setValues(conditioning, { strength })] };
  },
});

export const ConditioningSetMask = defineNode({
  name: 'ConditioningSetMask',
  displayName: 'Conditioning (Set Mask)',
  category: 'conditioning',
  description: 'Limits the conditioning to a mask (resized to the latent), weighted by the mask × strength. "mask bounds" runs the model only on the mask\'s bounding box (at least 8×8 latent cells).',
  inputs: {
    required: {
      conditioning: conditioningIn,
      mask: { kind: 'LINK', type: 'MASK' },
      strength: strengthIn,
      set_cond_area: { kind: 'COMBO', options: ['default', 'mask bounds'] },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning, mask, strength, set_cond_area }) {
    return { outputs: [setValues(conditioning, { mask, setAreaToBounds: set_cond_area !== 'default', maskStrength: strength })] };
  },
});

export const ConditioningSetTimestepRange = defineNode({
  name: 'ConditioningSetTimestepRange',
  displayName: 'ConditioningSetTimestepRange',
  category: 'advanced/conditioning',
  description: 'Uses the conditioning only between start and end (fractions of the denoising schedule: 0 = the first, noisiest step).',
  inputs: {
    required: {
      conditioning: conditioningIn,
      start: { kind: 'FLOAT', default: 0.0, min: 0.0, max: 1.0, step: 0.001 },
      end: { kind: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.001 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning, start, end }) {
    return { outputs: [setValues(conditioning, { startPercent: start, endPercent: end })] };
  },
});

export const conditioningAreaNodes: readonly NodeDefinition[] = [
  ConditioningCombine,
  ConditioningSetArea,
  ConditioningSetAreaPercentage,
  ConditioningSetAreaStrength,
  ConditioningSetMask,
  ConditioningSetTimestepRange,
];
