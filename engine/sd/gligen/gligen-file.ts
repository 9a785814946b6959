// A GLIGEN "textbox" model file (Li et al. 2023, "GLIGEN: open-set grounded text-to-image generation") as
// ComfyUI's comfy/gligen.py load_gligen reads it: one gated self-attention "fuser" per UNet transformer block
// (keys `<input_blocks|middle_block|output_blocks>.<n>.….fuser.*`, in that order, which is the blocks' order of
// execution) and the position net that turns (text, box) pairs into grounding tokens (`position_net.*`).
import { openTensorFile } from '../checkpoint/torch-file.ts';
import { safetensorsSource } from '../../onnx/index.ts';
import type { SafetensorsFile, WeightSource } from '../../onnx/index.ts';
import type { UnetConfig } from '../checkpoint/config.ts';
import { transformerBlocks } from '../unet/unet-blocks.ts';

export class GligenError extends Error {}

/** One fuser (GatedSelfAttentionDense): its key prefix (ending in ".fuser") and sizes. */
export interface GligenFuser {
  prefix: string;
  /** query_dim: the transformer block's width C. */
  width: number;
  heads: number;
}

export interface GligenModel {
  path: string;
  file: SafetensorsFile;
  source: WeightSource;
  fusers: GligenFuser[];
  /** Width of the grounding tokens (the fusers' `linear` input; 768 for SD1.x files). */
  keyDim: number;
  /** Width of the text feature per box (CLIP's pooled output; `null_positive_feature`). */
  textDim: number;
}

/** Fourier frequencies of the box embedding (PositionNet's fourier_freqs): 8 × sin/cos × 4 coordinates. */
export const FOURIER_FREQS = 8;
export const POSITION_DIM = FOURIER_FREQS * 2 * 4;
/** ComfyUI's Gligen.max_objs: the position net always sees this many boxes (unused ones masked to null). */
export const MAX_OBJECTS = 30;

const FUSER_KEYS = [
  'linear.weight', 'linear.bias', 'attn.to_q.weight', 'attn.to_k.weight', 'attn.to_v.weight', 'attn.to_out.0.weight', 'attn.to_out.0.bias',
  'ff.net.0.proj.weight', 'ff.net.0.proj.bias', 'ff.net.2.weight', 'ff.net.2.bias', 'norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias',
  'alpha_attn', 'alpha_dense',
];

/** load_gligen's head count: 8 heads for SD1.x files (768-wide tokens), else heads of 64 channels. */
export function fuserHeads(width: number, keyDim: number): number {
  return keyDim === 768 ? 8 : Math.floor(width / 64);
}

function shapeOf(file: SafetensorsFile, key: string): number[] {
  const info = file.tensors.get(key);
  if (!info) throw new GligenError(`${file.path} has no tensor '${key}'; it is not a complete GLIGEN model`);
  return info.shape;
}

function expectShape(file: SafetensorsFile, key: string, wanted: readonly number[]): void {
  const found = shapeOf(file, key);
  if (found.length !== wanted.length || found.some((d, i) => d !== wanted[i])) {
    throw new GligenError(`${file.path}: '${key}' is [${found.join(',')}], expected [${wanted.join(',')}]; the file is damaged or not a GLIGEN model`);
  }
}

/** Opens and checks a GLIGEN file (.safetensors, or a torch .pth/.ckpt); every tensor a fuser or the position
 *  net needs must be there with a consistent shape. */
export function openGligen(path: string): GligenModel {
  const file = openTensorFile(path, GligenError);
  const names = [...file.tensors.keys()];
  const fuserPrefixes: string[] = [];
  for (const part of ['input_blocks', 'middle_block', 'output_blocks']) {
    for (let b = 0; b < 20; b++) {
      // load_gligen: every key containing "<part>.<b>." and ".fuser." belongs to one fuser
      const key = names.find((k) => k.includes(`${part}.${b}.`) && k.includes('.fuser.'));
      if (key) fuserPrefixes.push(`${key.slice(0, key.lastIndexOf('.fuser.'))}.fuser`);
    }
  }
  if (fuserPrefixes.length === 0 || !file.tensors.has('position_net.null_positive_feature')) {
    throw new GligenError(`${path} is not a GLIGEN model: it has no ${fuserPrefixes.length === 0 ? '"…fuser.*" gated self-attention weights' : '"position_net.*" weights'}`);
  }
  const [, keyDim] = shapeOf(file, `${fuserPrefixes[0]}.linear.weight`);
  const fusers = fuserPrefixes.map((prefix): GligenFuser => {
    const [width] = shapeOf(file, `${prefix}.linear.weight`);
    const heads = fuserHeads(width, keyDim);
    if (!(heads > 0 && width % heads === 0)) throw new GligenError(`${path}: the fuser ${prefix} is ${width} wide, which does not split into attention heads (${heads})`);
    const shapes: Record<string, number[]> = {
      'linear.weight': [width, keyDim], 'linear.bias': [width],
      'attn.to_q.weight': [width, width], 'attn.to_k.weight': [width, width], 'attn.to_v.weight': [width, width],
      'attn.to_out.0.weight': [width, width], 'attn.to_out.0.bias': [width],
      'ff.net.0.proj.weight': [8 * width, width], 'ff.net.0.proj.bias': [8 * width], 'ff.net.2.weight': [width, 4 * width], 'ff.net.2.bias': [width],
      'norm1.weight': [width], 'norm1.bias': [width], 'norm2.weight': [width], 'norm2.bias': [width],
    };
    for (const key of FUSER_KEYS) {
      if (key.startsWith('alpha_')) {
        const shape = shapeOf(file, `${prefix}.${key}`);
        if (shape.reduce((n, d) => n * d, 1) !== 1) throw new GligenError(`${path}: '${prefix}.${key}' must be one number, it is [${shape.join(',')}]`);
      } else {
        expectShape(file, `${prefix}.${key}`, shapes[key]);
      }
    }
    return { prefix, width, heads };
  });
  const [textDim] = shapeOf(file, 'position_net.null_positive_feature');
  expectShape(file, 'position_net.null_position_feature', [POSITION_DIM]);
  const hidden = shapeOf(file, 'position_net.linears.0.weight')[0];
  expectShape(file, 'position_net.linears.0.weight', [hidden, textDim + POSITION_DIM]);
  expectShape(file, 'position_net.linears.0.bias', [hidden]);
  expectShape(file, 'position_net.linears.2.weight', [hidden, hidden]);
  expectShape(file, 'position_net.linears.2.bias', [hidden]);
  expectShape(file, 'position_net.linears.4.weight', [keyDim, hidden]);
  expectShape(file, 'position_net.linears.4.bias', [keyDim]);
  return { path, file, source: safetensorsSource(file), fusers, keyDim, textDim };
}

/** Refuses a GLIGEN model made for another UNet: one fuser per transformer block, of the block's width. */
export function checkGligenFits(gligen: GligenModel, config: UnetConfig, clipWidth?: number): void {
  const blocks = transformerBlocks(config);
  if (config.transformerDepth !== 1) throw new GligenError(`GLIGEN needs one transformer block per attention layer (SD1.x); this UNet has ${config.transformerDepth}`);
  if (gligen.fusers.length !== blocks.length) {
    throw new GligenError(`${gligen.path} has ${gligen.fusers.length} gated attention blocks but this model's UNet has ${blocks.length} transformer blocks; the GLIGEN file is for another base model`);
  }
  blocks.forEach((b, i) => {
    if (gligen.fusers[i].width !== b.width) {
      throw new GligenError(`${gligen.path}: gated attention block ${i} (${gligen.fusers[i].prefix}) is ${gligen.fusers[i].width} wide, this UNet's block ${b.name} ${b.width}; the GLIGEN file is for another base model`);
    }
  });
  if (clipWidth !== undefined && gligen.textDim !== clipWidth) {
    throw new GligenError(`${gligen.path} takes ${gligen.textDim}-wide text features, this CLIP gives ${clipWidth}; the GLIGEN file is for another base model`);
  }
}
