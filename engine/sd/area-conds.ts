// The conditionings of one sampling run resolved to its latent, as ComfyUI's process_conds does before the
// first step (comfy/samplers.py resolve_areas_and_cond_masks_multidim, calculate_start_end_timesteps,
// create_cond_with_same_area_if_none): percentage areas become cells, masks are resized to the latent
// (bilinear) and "mask bounds" become areas, start/end percents become σ ranges, and every area of one side
// gets an entry with the same area on the other side (the other side's smallest enclosing prompt), so that
// guidance compares like with like.
import { resizePlanes, roundHalfEven } from '../image/index.ts';
import { percentToSigma } from '../sampling/index.ts';
import type { GuidanceConds, GuidanceEntry, LatentArea, SigmaSchedule } from '../sampling/index.ts';
import type { Conditioning, ConditioningEntry } from './wire-types.ts';

interface Resolved {
  entry: ConditioningEntry;
  spec: GuidanceEntry;
}

export interface ResolvedConditionings {
  /** The entries the model is called with, per branch (index = GuidanceConds entry index). */
  positive: ConditioningEntry[];
  negative: ConditioningEntry[];
  conds: GuidanceConds;
}

function resolveArea(entry: ConditioningEntry, height: number, width: number): LatentArea | undefined {
  const area = entry.area;
  if (area === undefined) return undefined;
  if (area.unit === 'cells') return { height: area.height, width: area.width, y: area.y, x: area.x };
  return {
    height: Math.max(1, roundHalfEven(area.height * height)),
    width: Math.max(1, roundHalfEven(area.width * width)),
    y: roundHalfEven(area.y * height),
    x: roundHalfEven(area.x * width),
  };
}

/** get_mask_aabb over max |mask| of the batch; an all-zero mask gives ComfyUI's 8×8 no-op area. */
function maskBounds(mask: Float32Array, batch: number, height: number, width: number): LatentArea {
  let top = height;
  let left = width;
  let bottom = -1;
  let right = -1;
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      let nonzero = false;
      for (let b = 0; b < batch && !nonzero; b++) nonzero = mask[(b * height + i) * width + j] !== 0;
      if (!nonzero) continue;
      top = Math.min(top, i);
      bottom = Math.max(bottom, i);
      left = Math.min(left, j);
      right = Math.max(right, j);
    }
  }
  if (bottom < 0) return { height: 8, width: 8, y: 0, x: 0 };
  return { height: Math.max(8, bottom - top + 1), width: Math.max(8, right - left + 1), y: top, x: left };
}

function resolveEntry(entry: ConditioningEntry, height: number, width: number, schedule: SigmaSchedule | undefined): Resolved {
  const spec: GuidanceEntry = {};
  const area = resolveArea(entry, height, width);
  if (area) spec.area = area;
  if (entry.strength !== undefined) spec.strength = entry.strength;
  if (entry.mask) {
    const mask = entry.mask;
    const data = mask.height === height && mask.width === width
      ? mask.data
      : resizePlanes(mask.data, mask.batch, mask.height, mask.width, height, width, 'bilinear');
    spec.mask = { batch: mask.batch, data };
    spec.maskStrength = entry.maskStrength ?? 1;
    if (entry.setAreaToBounds) spec.area = maskBounds(data, mask.batch, height, width);
  }
  if (entry.startPercent !== undefined || entry.endPercent !== undefined) {
    spec.sigmaRange = {
      high: entry.startPercent === undefined ? Infinity : percentToSigma(entry.startPercent, schedule),
      low: entry.endPercent === undefined ? 0 : percentToSigma(entry.endPercent, schedule),
    };
  }
  return { entry, spec };
}

const sameArea = (a: LatentArea, b: LatentArea) => a.height === b.height && a.width === b.width && a.y === b.y && a.x === b.x;
const inside = (a: LatentArea, outer: LatentArea) =>
  a.y >= outer.y && a.x >= outer.x && a.y + a.height <= outer.y + outer.height && a.x + a.width <= outer.x + outer.width;

/** create_cond_with_same_area_if_none: `c`'s area on the other side, with the text of the smallest entry there
 *  that encloses it (or one without an area); nothing when that entry already has exactly this area. */
function addSameArea(others: Resolved[], c: Resolved): void {
  const area = c.spec.area;
  if (area === undefined) return;
  let smallest: Resolved | undefined;
  for (const x of others) {
    const a = x.spec.area;
    if (a === undefined) {
      smallest ??= x;
      continue;
    }
    if (!inside(area, a)) continue;
    const current = smallest?.spec.area;
    if (smallest === undefined || current === undefined || current.height * current.width > a.height * a.width) smallest = x;
  }
  if (smallest === undefined) return;
  if (smallest.spec.area && sameArea(smallest.spec.area, area)) return;
  others.push({ entry: { ...c.entry, embeds: smallest.entry.embeds }, spec: c.spec });
}

/** Positive and negative conditionings resolved for a latent [B, C, H, W] (σ ranges on the model's schedule). */
export function resolveConditionings(positive: Conditioning, negative: Conditioning, latentDims: readonly number[], schedule?: SigmaSchedule): ResolvedConditionings {
  const [, , height, width] = latentDims;
  const sides = [positive.map((e) => resolveEntry(e, height, width, schedule)), negative.map((e) => resolveEntry(e, height, width, schedule))];
  for (let k = 0; k < sides.length; k++) {
    for (const c of sides[k]) {
      for (let other = 0; other < sides.length; other++) if (other !== k) addSameArea(sides[other], c);
    }
  }
  const [pos, neg] = sides;
  return {
    positive: pos.map((r) => r.entry),
    negative: neg.map((r) => r.entry),
    conds: { cond: pos.map((r) => r.spec), uncond: neg.map((r) => r.spec) },
  };
}
