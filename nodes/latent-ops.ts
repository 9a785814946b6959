// ComfyUI's latent manipulation nodes (nodes.py, comfy_extras/nodes_latent.py, nodes_mask.py): resize,
// composite, blend, batch, arithmetic, flip/rotate/crop. Inputs, defaults and ranges are ComfyUI's; the
// tensor arithmetic lives in engine/latent. Like ComfyUI, each node keeps the input's other fields
// (noise mask, batch index) unless it says otherwise.
import { defineNode, type NodeDefinition } from '../engine/graph/index.ts';
import { makeMaskBatch } from '../engine/image/index.ts';
import type { MaskBatch } from '../engine/image/index.ts';
import type { Latent } from '../engine/sd/index.ts';
import {
  LATENT_UPSCALE_METHODS, upscaleLatent, compositeLatent, compositeLatentMasked, blendLatents, sliceBatch, repeatBatch,
  concatLatents, addLatents, subtractLatents, multiplyLatent, flipLatent, rotateLatent, cropLatent, type LatentUpscaleMethod,
} from '../engine/latent/index.ts';
import { roundHalfEven } from '../engine/image/index.ts';

const MAX_RESOLUTION = 16384;
const CROP_METHODS = ['disabled', 'center'] as const;

const latentIn = (tooltip?: string) => ({ kind: 'LINK', type: 'LATENT', ...(tooltip ? { tooltip } : {}) }) as const;

export const LatentUpscale = defineNode({
  name: 'LatentUpscale',
  displayName: 'Upscale Latent',
  category: 'latent',
  description: 'Resizes latents to a pixel width and height (multiples of 8, at least 64); 0 for one side keeps the aspect ratio, 0 for both leaves the latent as it is.',
  inputs: {
    required: {
      samples: latentIn(),
      upscale_method: { kind: 'COMBO', options: LATENT_UPSCALE_METHODS },
      width: { kind: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 8 },
      height: { kind: 'INT', default: 512, min: 0, max: MAX_RESOLUTION, step: 8 },
      crop: { kind: 'COMBO', options: CROP_METHODS },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, upscale_method, width, height, crop }) {
    if (width === 0 && height === 0) return { outputs: [samples] };
    const [, , h, w] = samples.samples.dims;
    let outW = width;
    let outH = height;
    if (width === 0) {
      outH = Math.max(64, height);
      outW = Math.max(64, roundHalfEven((w * outH) / h));
    } else if (height === 0) {
      outW = Math.max(64, width);
      outH = Math.max(64, roundHalfEven((h * outW) / w));
    } else {
      outW = Math.max(64, width);
      outH = Math.max(64, height);
    }
    const resized = upscaleLatent(samples.samples, Math.floor(outW / 8), Math.floor(outH / 8), upscale_method as LatentUpscaleMethod, crop as 'disabled' | 'center');
    return { outputs: [{ ...samples, samples: resized }] };
  },
});

export const LatentUpscaleBy = defineNode({
  name: 'LatentUpscaleBy',
  displayName: 'Upscale Latent By',
  category: 'latent',
  description: 'Resizes latents by a factor (each side rounded), e.g. 1.5 for a hires-fix second pass.',
  inputs: {
    required: {
      samples: latentIn(),
      upscale_method: { kind: 'COMBO', options: LATENT_UPSCALE_METHODS },
      scale_by: { kind: 'FLOAT', default: 1.5, min: 0.01, max: 8.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, upscale_method, scale_by }) {
    const [, , h, w] = samples.samples.dims;
    const width = roundHalfEven(w * scale_by);
    const height = roundHalfEven(h * scale_by);
    if (width < 1 || height < 1) throw new Error(`scale_by ${scale_by} shrinks the ${w * 8}×${h * 8} latent to nothing`);
    return { outputs: [{ ...samples, samples: upscaleLatent(samples.samples, width, height, upscale_method as LatentUpscaleMethod, 'disabled') }] };
  },
});

export const LatentComposite = defineNode({
  name: 'LatentComposite',
  displayName: 'Latent Composite',
  category: 'latent',
  description: 'Pastes samples_from into samples_to at (x, y) pixels (rounded down to multiples of 8); feather fades the pasted edges.',
  inputs: {
    required: {
      samples_to: latentIn(),
      samples_from: latentIn(),
      x: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 8 },
      y: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 8 },
      feather: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 8 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples_to, samples_from, x, y, feather }) {
    const s = compositeLatent(samples_to.samples, samples_from.samples, Math.floor(x / 8), Math.floor(y / 8), Math.floor(feather / 8));
    return { outputs: [{ ...samples_to, samples: s }] };
  },
});

export const LatentCompositeMasked = defineNode({
  name: 'LatentCompositeMasked',
  displayName: 'LatentCompositeMasked',
  category: 'latent',
  description: 'Pastes source into destination at (x, y) pixels, weighted by the optional mask (resized to the source).',
  inputs: {
    required: {
      destination: latentIn(),
      source: latentIn(),
      x: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 8 },
      y: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 8 },
      resize_source: { kind: 'BOOLEAN', default: false },
    },
    optional: { mask: { kind: 'LINK', type: 'MASK' } },
  },
  outputs: [{ type: 'LATENT' }],
  run({ destination, source, x, y, resize_source, mask }) {
    const [, , h, w] = destination.samples.dims;
    const left = Math.floor(Math.min(x, w * 8) / 8);
    const top = Math.floor(Math.min(y, h * 8) / 8);
    return { outputs: [{ ...destination, samples: compositeLatentMasked(destination.samples, source.samples, left, top, resize_source, mask) }] };
  },
});

export const LatentBlend = defineNode({
  name: 'LatentBlend',
  displayName: 'Latent Blend',
  category: '_for_testing',
  description: 'samples1 × blend_factor + samples2 × (1 − blend_factor); samples2 of another size is resized (bicubic, centre crop).',
  inputs: {
    required: {
      samples1: latentIn(),
      samples2: latentIn(),
      blend_factor: { kind: 'FLOAT', default: 0.5, min: 0, max: 1, step: 0.01 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples1, samples2, blend_factor }) {
    return { outputs: [{ ...samples1, samples: blendLatents(samples1.samples, samples2.samples, blend_factor) }] };
  },
});

/** A noise mask repeated to `count` items as torch's repeat does (a [1,…] mask is shared as is). */
function repeatMaskTo(mask: MaskBatch, count: number): MaskBatch {
  if (mask.batch >= count) return mask;
  const item = mask.height * mask.width;
  const out = makeMaskBatch(count, mask.height, mask.width);
  for (let b = 0; b < count; b++) out.data.set(mask.data.subarray((b % mask.batch) * item, (b % mask.batch + 1) * item), b * item);
  return out;
}

function sliceMask(mask: MaskBatch, start: number, length: number): MaskBatch {
  const item = mask.height * mask.width;
  return makeMaskBatch(length, mask.height, mask.width, mask.data.slice(start * item, (start + length) * item));
}

export const LatentFromBatch = defineNode({
  name: 'LatentFromBatch',
  displayName: 'Latent From Batch',
  category: 'latent/batch',
  description: 'Takes `length` latents starting at batch_index out of a batch; they keep the noise they would have had in the batch.',
  inputs: {
    required: {
      samples: latentIn(),
      batch_index: { kind: 'INT', default: 0, min: 0, max: 63 },
      length: { kind: 'INT', default: 1, min: 1, max: 64 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, batch_index, length }) {
    const count = samples.samples.dims[0];
    const start = Math.min(count - 1, batch_index);
    const take = Math.min(count - start, length);
    const out: Latent = { ...samples, samples: sliceBatch(samples.samples, start, take) };
    if (samples.noiseMask !== undefined) {
      out.noiseMask = samples.noiseMask.batch === 1 ? samples.noiseMask : sliceMask(repeatMaskTo(samples.noiseMask, count), start, take);
    }
    out.batchIndex = samples.batchIndex !== undefined
      ? samples.batchIndex.slice(start, start + take)
      : Array.from({ length: take }, (_, i) => start + i);
    return { outputs: [out] };
  },
});

export const RepeatLatentBatch = defineNode({
  name: 'RepeatLatentBatch',
  displayName: 'Repeat Latent Batch',
  category: 'latent/batch',
  description: 'Repeats the whole latent batch `amount` times.',
  inputs: {
    required: {
      samples: latentIn(),
      amount: { kind: 'INT', default: 1, min: 1, max: 64 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, amount }) {
    const out: Latent = { ...samples, samples: repeatBatch(samples.samples, amount) };
    const mask = samples.noiseMask;
    if (mask !== undefined && mask.batch > 1) {
      const data = new Float32Array(mask.data.length * amount);
      for (let k = 0; k < amount; k++) data.set(mask.data, k * mask.data.length);
      out.noiseMask = makeMaskBatch(mask.batch * amount, mask.height, mask.width, data);
    }
    if (samples.batchIndex !== undefined && samples.batchIndex.length > 0) {
      const indices = samples.batchIndex;
      const offset = Math.max(...indices) - Math.min(...indices) + 1;
      const more: number[] = [];
      for (let i = 1; i < amount; i++) for (const x of indices) more.push(x + i * offset);
      out.batchIndex = [...indices, ...more];
    }
    return { outputs: [out] };
  },
});

export const LatentBatch = defineNode({
  name: 'LatentBatch',
  displayName: 'LatentBatch',
  category: 'latent/batch',
  description: 'Joins two latent batches into one (samples2 is resized to samples1 if their sizes differ).',
  inputs: { required: { samples1: latentIn(), samples2: latentIn() } },
  outputs: [{ type: 'LATENT' }],
  run({ samples1, samples2 }) {
    const s = concatLatents(samples1.samples, samples2.samples);
    const first = samples1.batchIndex ?? Array.from({ length: samples1.samples.dims[0] }, (_, i) => i);
    const second = samples2.batchIndex ?? Array.from({ length: samples2.samples.dims[0] }, (_, i) => i);
    return { outputs: [{ ...samples1, samples: s, batchIndex: [...first, ...second] }] };
  },
});

export const LatentAdd = defineNode({
  name: 'LatentAdd',
  displayName: 'LatentAdd',
  category: 'latent/advanced',
  description: 'samples1 + samples2 (samples2 resized and its batch repeated to samples1\'s).',
  inputs: { required: { samples1: latentIn(), samples2: latentIn() } },
  outputs: [{ type: 'LATENT' }],
  run({ samples1, samples2 }) {
    return { outputs: [{ ...samples1, samples: addLatents(samples1.samples, samples2.samples) }] };
  },
});

export const LatentSubtract = defineNode({
  name: 'LatentSubtract',
  displayName: 'LatentSubtract',
  category: 'latent/advanced',
  description: 'samples1 − samples2 (samples2 resized and its batch repeated to samples1\'s).',
  inputs: { required: { samples1: latentIn(), samples2: latentIn() } },
  outputs: [{ type: 'LATENT' }],
  run({ samples1, samples2 }) {
    return { outputs: [{ ...samples1, samples: subtractLatents(samples1.samples, samples2.samples) }] };
  },
});

export const LatentMultiply = defineNode({
  name: 'LatentMultiply',
  displayName: 'LatentMultiply',
  category: 'latent/advanced',
  description: 'Multiplies every latent value by `multiplier`.',
  inputs: {
    required: {
      samples: latentIn(),
      multiplier: { kind: 'FLOAT', default: 1.0, min: -10.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, multiplier }) {
    return { outputs: [{ ...samples, samples: multiplyLatent(samples.samples, multiplier) }] };
  },
});

export const LatentFlip = defineNode({
  name: 'LatentFlip',
  displayName: 'Flip Latent',
  category: 'latent/transform',
  description: 'Mirrors latents top-to-bottom ("x-axis: vertically") or left-to-right ("y-axis: horizontally").',
  inputs: {
    required: {
      samples: latentIn(),
      flip_method: { kind: 'COMBO', options: ['x-axis: vertically', 'y-axis: horizontally'] },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, flip_method }) {
    const axis = flip_method.startsWith('x') ? 'vertical' : 'horizontal';
    return { outputs: [{ ...samples, samples: flipLatent(samples.samples, axis) }] };
  },
});

const ROTATIONS = ['none', '90 degrees', '180 degrees', '270 degrees'] as const;

export const LatentRotate = defineNode({
  name: 'LatentRotate',
  displayName: 'Rotate Latent',
  category: 'latent/transform',
  description: 'Rotates latents clockwise by 90, 180 or 270 degrees.',
  inputs: {
    required: {
      samples: latentIn(),
      rotation: { kind: 'COMBO', options: ROTATIONS },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, rotation }) {
    const turns = ROTATIONS.indexOf(rotation as (typeof ROTATIONS)[number]) as 0 | 1 | 2 | 3;
    return { outputs: [{ ...samples, samples: rotateLatent(samples.samples, turns) }] };
  },
});

export const LatentCrop = defineNode({
  name: 'LatentCrop',
  displayName: 'Crop Latent',
  category: 'latent/transform',
  description: 'Crops latents to width × height pixels at (x, y) (multiples of 8; at least 64 pixels stay).',
  inputs: {
    required: {
      samples: latentIn(),
      width: { kind: 'INT', default: 512, min: 64, max: MAX_RESOLUTION, step: 8 },
      height: { kind: 'INT', default: 512, min: 64, max: MAX_RESOLUTION, step: 8 },
      x: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 8 },
      y: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 8 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, width, height, x, y }) {
    const s = cropLatent(samples.samples, Math.floor(x / 8), Math.floor(y / 8), Math.floor(width / 8), Math.floor(height / 8));
    return { outputs: [{ ...samples, samples: s }] };
  },
});

export const latentOpNodes: readonly NodeDefinition[] = [
  LatentUpscale, LatentUpscaleBy, LatentComposite, LatentCompositeMasked, LatentBlend, LatentFromBatch, RepeatLatentBatch,
  LatentBatch, LatentAdd, LatentSubtract, LatentMultiply, LatentFlip, LatentRotate, LatentCrop,
];
