// Area composition (ComfyUI comfy/samplers.py get_area_and_mult + calc_cond_batch): every conditioning entry
// is evaluated on its own crop of the latent and weighted by its "mult" (strength × mask, or strength with an
// 8-cell linear fade at area borders inside the latent); per branch, the weighted denoised predictions are
// summed and divided by the summed weights (+1e-37). Entries outside their σ range are skipped. Entries whose
// crops have the same size share one model call.

import { SamplingInputError } from './errors.ts';
import type { CondChunk, EpsModel, ModelCall } from './model-call.ts';
import { denoisedFrom, type Prediction } from './prediction.ts';

const f32 = Math.fround;

/** A rectangle of the latent in latent cells (ComfyUI `area` = (height, width, y, x), pixels / 8). */
export interface LatentArea {
  height: number;
  width: number;
  y: number;
  x: number;
}

/** Where and when one conditioning entry acts; resolved to the latent being sampled. */
export interface GuidanceEntry {
  area?: LatentArea;
  /** ComfyUI `strength` (ConditioningSetArea…): the entry's weight; default 1. */
  strength?: number;
  /** ComfyUI `mask` resized to the latent: [batch, H, W] values; replaces the border fade. */
  mask?: { batch: number; data: Float32Array };
  /** ComfyUI `mask_strength` (ConditioningSetMask's strength); default 1. */
  maskStrength?: number;
  /** Active while σ ≤ high and σ ≥ low (ComfyUI timestep_start / timestep_end, from start/end percent). */
  sigmaRange?: { high: number; low: number };
}

/** The entries of each branch; the model is told the index of the entry each group of rows belongs to. */
export interface GuidanceConds {
  cond: readonly GuidanceEntry[];
  uncond: readonly GuidanceEntry[];
}

/** True when the entries are one full-latent entry per branch with nothing that changes the plain formula. */
export function isPlainGuidance(conds: GuidanceConds | undefined): boolean {
  if (conds === undefined) return true;
  const plain = (entries: readonly GuidanceEntry[]) =>
    entries.length === 1 && entries[0].area === undefined && entries[0].mask === undefined && entries[0].sigmaRange === undefined && (entries[0].strength ?? 1) === 1;
  return plain(conds.cond) && plain(conds.uncond);
}

interface Run {
  chunk: CondChunk;
  area: LatentArea;
  /** [batch, h, w]: the same for every channel. */
  mult: Float32Array;
}

/** get_area_and_mult for a latent [B, C, H, W] at σ; undefined when the entry is outside its σ range. */
export function areaAndMult(entry: GuidanceEntry, dims: readonly number[], sigma: number): { area: LatentArea; mult: Float32Array } | undefined {
  const range = entry.sigmaRange;
  if (range && (sigma > range.high || sigma < range.low)) return undefined;
  const [batch, , height, width] = dims;
  const given = entry.area;
  const area = given
    ? { y: given.y, x: given.x, height: Math.min(height - given.y, given.height), width: Math.min(width - given.x, given.width) }
    : { y: 0, x: 0, height, width };
  if (area.height < 1 || area.width < 1) {
    throw new SamplingInputError(`a conditioning area (${given?.width}×${given?.height} at x ${given?.x}, y ${given?.y}, latent cells) lies outside the ${width}×${height} latent`);
  }
  const plane = area.height * area.width;
  const mult = new Float32Array(batch * plane);
  const strength = entry.strength ?? 1;
  if (entry.mask) {
    const { mask } = entry;
    const rows = Math.min(mask.batch, batch); // mask[:B], then repeated B // rows times
    if (batch % rows !== 0) throw new SamplingInputError(`a conditioning mask has ${mask.batch} items for a batch of ${batch} latents; use 1 or a count that divides ${batch}`);
    const maskStrength = entry.maskStrength ?? 1;
    for (let b = 0; b < batch; b++) {
      const source = (b % rows) * height * width;
      for (let i = 0; i < area.height; i++) {
        for (let j = 0; j < area.width; j++) {
          const value = f32(mask.data[source + (area.y + i) * width + area.x + j] * maskStrength);
          mult[b * plane + i * area.width + j] = f32(value * strength);
        }
      }
    }
    return { area, mult };
  }
  mult.fill(f32(strength));
  if (given) feather(mult, batch, area, height, width);
  return { area, mult };
}

/** The fade at area borders that are not the latent's edge: rr = min(8, size // 4) rows, row t × (t+1)/rr. */
function feather(mult: Float32Array, batch: number, area: LatentArea, height: number, width: number): void {
  const scaleRow = (i: number, factor: number) => {
    for (let b = 0; b < batch; b++) for (let j = 0; j < area.width; j++) mult[(b * area.height + i) * area.width + j] = f32(mult[(b * area.height + i) * area.width + j] * factor);
  };
  const scaleColumn = (j: number, factor: number) => {
    for (let b = 0; b < batch; b++) for (let i = 0; i < area.height; i++) mult[(b * area.height + i) * area.width + j] = f32(mult[(b * area.height + i) * area.width + j] * factor);
  };
  const rows = Math.min(8, Math.floor(area.height / 4));
  if (area.y !== 0) for (let t = 0; t < rows; t++) scaleRow(t, f32((1 / rows) * (t + 1)));
  if (area.y + area.height < height) for (let t = 0; t < rows; t++) scaleRow(area.height - 1 - t, f32((1 / rows) * (t + 1)));
  const columns = Math.min(8, Math.floor(area.width / 4));
  if (area.x !== 0) for (let t = 0; t < columns; t++) scaleColumn(t, f32((1 / columns) * (t + 1)));
  if (area.x + area.width < width) for (let t = 0; t < columns; t++) scaleColumn(area.width - 1 - t, f32((1 / columns) * (t + 1)));
}

/** x[:, :, y:y+h, x:x+w] of a [B, C, H, W] array. */
function crop(data: Float32Array, dims: readonly number[], area: LatentArea): Float32Array {
  const [batch, channels, height, width] = dims;
  const out = new Float32Array(batch * channels * area.height * area.width);
  let k = 0;
  for (let p = 0; p < batch * channels; p++) {
    for (let i = 0; i < area.height; i++) {
      const start = (p * height + area.y + i) * width + area.x;
      out.set(data.subarray(start, start + area.width), k);
      k += area.width;
    }
  }
  return out;
}

export interface AreaEvaluation {
  model: EpsModel;
  prediction: Prediction;
  conds: GuidanceConds;
  /** Evaluate the unconditional branch (false when cfg is 1, as ComfyUI). */
  withUncond: boolean;
  dims: readonly number[];
  step: ModelCall['step'];
}

/**
 * calc_cond_batch: the weighted denoised prediction of each branch for the noisy latent x at σ. A branch with no
 * active entry covering a cell predicts 0 there (ComfyUI divides 0 by 1e-37); uncond is undefined without the
 * unconditional pass.
 */
export async function areaDenoised(
  evaluation: AreaEvaluation,
  x: Float32Array,
  level: { sigma: number; timestep: number },
): Promise<{ cond: Float32Array; uncond: Float32Array | undefined }> {
  const { dims, conds } = evaluation;
  const [batch, channels, height, width] = dims;
  const runs: Run[] = [];
  const collect = (branch: CondChunk['branch'], entries: readonly GuidanceEntry[]) => {
    entries.forEach((entry, index) => {
      const p = areaAndMult(entry, dims, level.sigma);
      if (p) runs.push({ chunk: { branch, entry: index }, ...p });
    });
  };
  collect('cond', conds.cond);
  if (evaluation.withUncond) collect('uncond', conds.uncond);

  const sums = { cond: new Float32Array(x.length), uncond: new Float32Array(x.length) };
  const counts = { cond: new Float32Array(x.length).fill(1e-37), uncond: new Float32Array(x.length).fill(1e-37) };
  const divisor = f32(Math.sqrt(f32(f32(level.sigma * level.sigma) + 1)));
  while (runs.length > 0) {
    // One call for every run whose crop has the first one's size (ComfyUI batches equal shapes).
    const { height: h, width: w } = runs[0].area;
    const group = runs.filter((r) => r.area.height === h && r.area.width === w);
    for (const r of group) runs.splice(runs.indexOf(r), 1);
    const cropSize = batch * channels * h * w;
    const crops = group.map((r) => crop(x, dims, r.area));
    const sample = new Float32Array(group.length * cropSize);
    crops.forEach((c, i) => sample.set(c.map((v) => v / divisor), i * cropSize));
    const chunks = group.map((r) => r.chunk);
    const out = await evaluation.model({
      sample,
      dims: [group.length * batch, channels, h, w],
      guidance: chunks.every((c) => c.branch === 'cond') ? 'cond' : 'uncond+cond',
      chunks,
      timestep: level.timestep,
      sigma: level.sigma,
      step: evaluation.step,
    });
    if (out.length !== sample.length) {
      throw new Error(`the model returned ${out.length} values for a sample of ${sample.length}; it must return a prediction of the same size`);
    }
    group.forEach((run, g) => {
      const denoised = denoisedFrom(evaluation.prediction, crops[g], out.subarray(g * cropSize, (g + 1) * cropSize), level.sigma, level.timestep);
      const sum = sums[run.chunk.branch];
      const count = counts[run.chunk.branch];
      const { area } = run;
      for (let b = 0; b < batch; b++) {
        for (let c = 0; c < channels; c++) {
          for (let i = 0; i < h; i++) {
            for (let j = 0; j < w; j++) {
              const m = run.mult[(b * h + i) * w + j];
              const target = ((b * channels + c) * height + area.y + i) * width + area.x + j;
              sum[target] = f32(sum[target] + f32(denoised[((b * channels + c) * h + i) * w + j] * m));
              count[target] = f32(count[target] + m);
            }
          }
        }
      }
    });
  }
  const divide = (sum: Float32Array, count: Float32Array) => sum.map((v, i) => v / count[i]);
  return { cond: divide(sums.cond, counts.cond), uncond: evaluation.withUncond ? divide(sums.uncond, counts.uncond) : undefined };
}
