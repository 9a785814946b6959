// ComfyUI's mask nodes (comfy_extras/nodes_mask.py) and SetLatentNoiseMask (nodes.py): MASK values are
// [batch, height, width] floats, 1 = masked. Inputs, defaults and ranges are ComfyUI's.
import { defineNode, type NodeDefinition } from '../engine/graph/index.ts';
import { makeImageBatch, makeMaskBatch, type MaskBatch } from '../engine/image/index.ts';

const MAX_RESOLUTION = 16384;
const maskIn = { kind: 'LINK', type: 'MASK' } as const;

export const SolidMask = defineNode({
  name: 'SolidMask',
  displayName: 'SolidMask',
  category: 'mask',
  description: 'A width × height mask filled with `value`.',
  inputs: {
    required: {
      value: { kind: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 },
      width: { kind: 'INT', default: 512, min: 1, max: MAX_RESOLUTION, step: 1 },
      height: { kind: 'INT', default: 512, min: 1, max: MAX_RESOLUTION, step: 1 },
    },
  },
  outputs: [{ type: 'MASK' }],
  run({ value, width, height }) {
    return { outputs: [makeMaskBatch(1, height, width, new Float32Array(width * height).fill(value))] };
  },
});

export const InvertMask = defineNode({
  name: 'InvertMask',
  displayName: 'InvertMask',
  category: 'mask',
  description: '1 − mask.',
  inputs: { required: { mask: maskIn } },
  outputs: [{ type: 'MASK' }],
  run({ mask }) {
    return { outputs: [makeMaskBatch(mask.batch, mask.height, mask.width, mask.data.map((v) => 1 - v))] };
  },
});

const OPERATIONS = ['multiply', 'add', 'subtract', 'and', 'or', 'xor'] as const;
type Operation = (typeof OPERATIONS)[number];

function combine(operation: Operation, d: number, s: number): number {
  switch (operation) {
    case 'multiply': return d * s;
    case 'add': return d + s;
    case 'subtract': return d - s;
    // torch .round() rounds halves to even, as Math.round does not; values are clamped to 0..1 anyway.
    case 'and': return roundEven(d) !== 0 && roundEven(s) !== 0 ? 1 : 0;
    case 'or': return roundEven(d) !== 0 || roundEven(s) !== 0 ? 1 : 0;
    case 'xor': return (roundEven(d) !== 0) !== (roundEven(s) !== 0) ? 1 : 0;
  }
}

function roundEven(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  return diff > 0.5 ? f + 1 : diff < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

/** MaskComposite: combines source into destination at (x, y), clipped, then clamps to 0..1. */
export function compositeMask(destination: MaskBatch, source: MaskBatch, x: number, y: number, operation: Operation): MaskBatch {
  if (source.batch !== destination.batch && source.batch !== 1) {
    throw new Error(`the source mask batch (${source.batch}) must be 1 or match the destination's (${destination.batch})`);
  }
  const out = makeMaskBatch(destination.batch, destination.height, destination.width, destination.data.slice());
  const visW = Math.min(x + source.width, destination.width) - x;
  const visH = Math.min(y + source.height, destination.height) - y;
  for (let b = 0; b < destination.batch; b++) {
    const sb = source.batch === 1 ? 0 : b;
    for (let row = 0; row < visH; row++) {
      for (let col = 0; col < visW; col++) {
        const at = (b * destination.height + row + y) * destination.width + col + x;
        out.data[at] = combine(operation, out.data[at], source.data[(sb * source.height + row) * source.width + col]);
      }
    }
  }
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.min(Math.max(out.data[i], 0), 1);
  return out;
}

export const MaskComposite = defineNode({
  name: 'MaskComposite',
  displayName: 'MaskComposite',
  category: 'mask',
  description: 'Combines source into destination at (x, y) with multiply, add, subtract, and, or or xor (the logical ones on rounded values); the result is clamped to 0..1.',
  inputs: {
    required: {
      destination: maskIn,
      source: maskIn,
      x: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 1 },
      y: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 1 },
      operation: { kind: 'COMBO', options: OPERATIONS },
    },
  },
  outputs: [{ type: 'MASK' }],
  run({ destination, source, x, y, operation }) {
    return { outputs: [compositeMask(destination, source, x, y, operation as Operation)] };
  },
});

/** GrowMask: |expand| rounds of grey dilation (expand > 0) or erosion (< 0) with a 3×3 footprint — a
 *  cross when tapered_corners, else the full square. scipy's 'reflect' border equals ignoring the outside. */
export function growMask(mask: MaskBatch, expand: number, taperedCorners: boolean): MaskBatch {
  const { batch, height, width } = mask;
  let data = mask.data.slice();
  const pick = expand < 0 ? Math.min : Math.max;
  for (let round = 0; round < Math.abs(expand); round++) {
    const next = new Float32Array(data.length);
    for (let b = 0; b < batch; b++) {
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          let v = data[(b * height + y) * width + x];
          for (let dy = -1; dy <= 1; dy++) {
            for (let dx = -1; dx <= 1; dx++) {
              if ((dx === 0 && dy === 0) || (taperedCorners && dx !== 0 && dy !== 0)) continue;
              const yy = y + dy;
              const xx = x + dx;
              if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
              v = pick(v, data[(b * height + yy) * width + xx]);
            }
          }
          next[(b * height + y) * width + x] = v;
        }
      }
    }
    data = next;
  }
  return makeMaskBatch(batch, height, width, data);
}

export const GrowMask = defineNode({
  name: 'GrowMask',
  displayName: 'GrowMask',
  category: 'mask',
  description: 'Grows (expand > 0) or shrinks (expand < 0) the mask by that many pixels.',
  inputs: {
    required: {
      mask: maskIn,
      expand: { kind: 'INT', default: 0, min: -MAX_RESOLUTION, max: MAX_RESOLUTION, step: 1 },
      tapered_corners: { kind: 'BOOLEAN', default: true },
    },
  },
  outputs: [{ type: 'MASK' }],
  run({ mask, expand, tapered_corners }) {
    return { outputs: [growMask(mask, expand, tapered_corners)] };
  },
});

const CHANNELS = ['red', 'green', 'blue', 'alpha'] as const;

export const ImageToMask = defineNode({
  name: 'ImageToMask',
  displayName: 'Convert Image to Mask',
  category: 'mask',
  description: 'One colour channel of the image as a mask.',
  inputs: {
    required: {
      image: { kind: 'LINK', type: 'IMAGE' },
      channel: { kind: 'COMBO', options: CHANNELS },
    },
  },
  outputs: [{ type: 'MASK' }],
  run({ image, channel }) {
    const c = CHANNELS.indexOf(channel as (typeof CHANNELS)[number]);
    if (c >= image.channels) throw new Error(`the image has no ${channel} channel (IMAGE values are RGB; LoadImage gives the alpha as its MASK output)`);
    const out = makeMaskBatch(image.batch, image.height, image.width);
    for (let i = 0; i < out.data.length; i++) out.data[i] = image.data[i * 3 + c];
    return { outputs: [out] };
  },
});

export const MaskToImage = defineNode({
  name: 'MaskToImage',
  displayName: 'Convert Mask to Image',
  category: 'mask',
  description: 'The mask as a grey RGB image.',
  inputs: { required: { mask: maskIn } },
  outputs: [{ type: 'IMAGE' }],
  run({ mask }) {
    const out = makeImageBatch(mask.batch, mask.height, mask.width);
    for (let i = 0; i < mask.data.length; i++) out.data.fill(mask.data[i], i * 3, i * 3 + 3);
    return { outputs: [out] };
  },
});

export const SetLatentNoiseMask = defineNode({
  name: 'SetLatentNoiseMask',
  displayName: 'Set Latent Noise Mask',
  category: 'latent/inpaint',
  description: 'Attaches a mask to the latent: samplers denoise only where it is 1 and keep the input latent where it is 0.',
  inputs: { required: { samples: { kind: 'LINK', type: 'LATENT' }, mask: maskIn } },
  outputs: [{ type: 'LATENT' }],
  run({ samples, mask }) {
    return { outputs: [{ ...samples, noiseMask: mask }] };
  },
});

export const maskNodes: readonly NodeDefinition[] = [SolidMask, InvertMask, MaskComposite, GrowMask, ImageToMask, MaskToImage, SetLatentNoiseMask];
