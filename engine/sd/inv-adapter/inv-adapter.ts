// Inv-Adapter weights (inv-adapter.md §5): opening an adapter file against a model, and the training-free
// initialisation — the block's own attn1 to_k/to_v on both sides and 2-D adaptive average pooling of the
// reference token grid as the cross-side aggregation — written once as an ordinary adapter file.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { SafetensorsStreamWriter } from '../../onnx/index.ts';
import type { StreamEntry } from '../../onnx/index.ts';
import type { Checkpoint } from '../checkpoint/checkpoint.ts';
import { openEaaAdapter } from './unet-eaa.ts';
import { transformerBlocks } from '../unet/unet-blocks.ts';
import { readWeightBytes, stDtype } from './inv-adapter-weights.ts';

/**
 * The INV_ADAPTER wire value: a trained adapter file checked against a model (the paper's additive form,
 * inv-adapter.md §3), or none — the training-free reference attention of §5, which is not the paper's method.
 */
export type InvAdapter = TrainedInvAdapter | ReferenceAttention;

export interface TrainedInvAdapter {
  mode: 'trained';
  path: string;
  /** Aggregated cross tokens s_c. */
  tokens: number;
  /** Reference tokens s per block (columns of its aggregate matrix): the features must have these counts. */
  referenceTokens: Record<string, number>;
  /** The file name the user picked, for messages. */
  label: string;
}

export interface ReferenceAttention {
  mode: 'reference';
  label: string;
}

/** The training-free mode (inv-adapter.md §5): joint attention over generation and reference, no weights. */
export const REFERENCE_ATTENTION: ReferenceAttention = { mode: 'reference', label: 'training-free (reference attention)' };

export class InvAdapterError extends Error {}

/** Opens an adapter file and checks every shape against the model (the first mismatching key is named). */
export function loadInvAdapter(path: string, checkpoint: Checkpoint, label: string): TrainedInvAdapter {
  const adapter = openEaaAdapter(path, checkpoint.config.unet);
  return { mode: 'trained', path, tokens: adapter.tokens, referenceTokens: Object.fromEntries(adapter.referenceTokens), label };
}

/** Side of a square reference's token grid at `level`: referenceSize/8 pixels of latent, halved (rounding up,
 *  as the UNet's stride-2 downsamplers do) once per level. */
export function referenceGridSide(referenceSize: number, level: number): number {
  let side = referenceSize / 8;
  for (let l = 0; l < level; l++) side = Math.ceil(side / 2);
  return side;
}

/**
 * Token aggregation A [out², in²] for row-major square grids: 2-D adaptive average pooling when shrinking
 * (PyTorch adaptive_avg_pool2d bins: start = ⌊i·in/out⌋, end = ⌈(i+1)·in/out⌉), nearest when growing
 * (src = ⌊i·in/out⌋, as F.interpolate 'nearest').
 */
export function aggregationMatrix(inSide: number, outSide: number): Float32Array {
  const bins = Array.from({ length: outSide }, (_, i) => inSide >= outSide
    ? { start: Math.floor((i * inSide) / outSide), end: Math.ceil(((i + 1) * inSide) / outSide) }
    : { start: Math.floor((i * inSide) / outSide), end: Math.floor((i * inSide) / outSide) + 1 });
  const cols = inSide * inSide;
  const a = new Float32Array(outSide * outSide * cols);
  for (let oy = 0; oy < outSide; oy++) {
    for (let ox = 0; ox < outSide; ox++) {
      const ys = bins[oy];
      const xs = bins[ox];
      const weight = 1 / ((ys.end - ys.start) * (xs.end - xs.start));
      const row = (oy * outSide + ox) * cols;
      for (let y = ys.start; y < ys.end; y++) for (let x = xs.start; x < xs.end; x++) a[row + y * inSide + x] = weight;
    }
  }
  return a;
}

export interface TrainingFreeOptions {
  /** s_c: a perfect square (the aggregated tokens form a √s_c × √s_c grid). */
  tokens: number;
  /** Side of the square reference image in pixels (a multiple of 8). */
  referenceSize: number;
}

function checkTrainingFree({ tokens, referenceSize }: TrainingFreeOptions): number {
  const side = Math.round(Math.sqrt(tokens));
  if (!Number.isInteger(tokens) || tokens < 1 || side * side !== tokens) {
    throw new InvAdapterError(`tokens must be a perfect square (the aggregated reference tokens form a square grid), got ${tokens}; try ${Math.max(1, side) ** 2} or ${(side + 1) ** 2}`);
  }
  if (!Number.isInteger(referenceSize) || referenceSize < 8 || referenceSize % 8 !== 0) {
    throw new InvAdapterError(`reference_size must be a multiple of 8 pixels (the side of the square face crop), got ${referenceSize}`);
  }
  return side;
}

/** Bump when the initialisation written below changes (cache key of the written file). */
const TRAINING_FREE_VERSION = 'training-free-1';

/**
 * The initial adapter of inv-adapter.md §6 (the start of training, NOT a trained adapter and not the training-free
 * mode): `checkpoint`'s attn1 weights on both sides and pooling for s_c = tokens and a square reference of referenceSize pixels,
 * written to `<cacheDir>/inv-adapter/` on first use (keyed by checkpoint fingerprint + options) and opened as
 * any adapter file. Non-square references are not supported: the grid is referenceSize/8/2^level per side.
 */
export function trainingFreeAdapter(cacheDir: string, checkpoint: Checkpoint, options: TrainingFreeOptions): TrainedInvAdapter {
  const gridOut = checkTrainingFree(options);
  const key = createHash('sha256').update(JSON.stringify([TRAINING_FREE_VERSION, checkpoint.fingerprint, options.tokens, options.referenceSize])).digest('hex').slice(0, 20);
  const folder = join(cacheDir, 'inv-adapter');
  const path = join(folder, `training-free-${key}.safetensors`);
  if (!existsSync(path)) {
    mkdirSync(folder, { recursive: true });
    writeTrainingFree(path, checkpoint, options, gridOut);
  }
  return loadInvAdapter(path, checkpoint, 'initial adapter (untrained)');
}

function writeTrainingFree(path: string, checkpoint: Checkpoint, options: TrainingFreeOptions, gridOut: number): void {
  const blocks = transformerBlocks(checkpoint.config.unet);
  const attn = (block: string, proj: 'to_k' | 'to_v') => checkpoint.unet.weight(`${block}.transformer_blocks.0.attn1.${proj}.weight`);
  const entries: StreamEntry[] = [];
  const data: Array<() => Uint8Array | Float32Array> = [];
  for (const b of blocks) {
    const gridIn = referenceGridSide(options.referenceSize, b.level);
    for (const side of ['self', 'cross']) {
      for (const proj of ['to_k', 'to_v'] as const) {
        const ref = attn(b.name, proj);
        entries.push({ name: `${b.name}.${side}.${proj}.weight`, dtype: stDtype(ref), shape: ref.shape });
        data.push(() => readWeightBytes(ref));
      }
    }
    entries.push({ name: `${b.name}.cross.aggregate.weight`, dtype: 'F32', shape: [options.tokens, gridIn * gridIn] });
    data.push(() => aggregationMatrix(gridIn, gridOut));
    entries.push({ name: `${b.name}.cross.aggregate.bias`, dtype: 'F32', shape: [options.tokens] });
    data.push(() => new Float32Array(options.tokens));
  }
  const writer = SafetensorsStreamWriter.create(path, entries, {
    format: 'inv-adapter', base: 'sd15', tokens: String(options.tokens), reference_size: String(options.referenceSize), init: TRAINING_FREE_VERSION,
  });
  try {
    entries.forEach((e, i) => writer.write(e.name, data[i]()));
    writer.finish();
  } catch (err) {
    writer.abort();
    throw err;
  }
}
