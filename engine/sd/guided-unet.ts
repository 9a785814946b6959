// The sampler's UNet for a model and a pair of conditionings: applies the model's patches (model-patches.ts) and
// the ControlNet patch made from the conditionings' chains (one fused graph, unet-controlnet.ts), and makes the
// per-call feeds — hints resized to the latent's pixel size, and per-row strengths gated by σ as ComfyUI's
// ControlBase does (start/end percent → σ, sd15-reference.md §6.3).
import { resizeImage } from '../image/index.ts';
import type { ImageBatch } from '../image/index.ts';
import { percentToSigma } from '../sampling/index.ts';
import { callChunks, type GuidanceConds, type ModelCall, type SigmaSchedule } from '../sampling/index.ts';
import { modelSchedule } from './model-sampling.ts';
import type { Conditioning, ControlLink, Latent, SdModel } from './wire-types.ts';
import { makeTensor } from '../tensor/index.ts';
import { inpaintConcat, resizeToBatchSize } from './inpaint-concat.ts';
import type { UnetVariant } from './unet/unet.ts';
import type { GuidedUnet } from './eps-model.ts';
import type { PreparedPatch } from './model-patch.ts';
import { combinePatches } from './model-patch.ts';
import { prepareModelPatches } from './model-patches.ts';
import { resolveConditionings } from './area-conds.ts';
import { CONTROLNET_INPUT } from './controlnet/controlnet-io.ts';
import { UNET_INPUT } from './unet/unet-io.ts';
import type { Feeds } from './unet/unet-io.ts';
import { planGligen } from './gligen/gligen-plan.ts';
import type { SdRuntime, RuntimeLog } from './runtime.ts';

/** A chain's links, oldest first. */
function chainLinks(last: ControlLink | undefined): ControlLink[] {
  const links: ControlLink[] = [];
  for (let link = last; link; link = link.previous) links.unshift(link);
  return links;
}

/** IMAGE [N,h,w,3] → NCHW rows for `rows` UNet rows: row r of each half takes hint row (r mod batch) mod N
 *  (comfy.utils broadcast_image_to). */
function hintRows(hint: ImageBatch, rows: number, batch: number): Float32Array {
  const plane = hint.height * hint.width;
  const out = new Float32Array(rows * 3 * plane);
  for (let r = 0; r < rows; r++) {
    const item = (r % batch) % hint.batch;
    const source = hint.data.subarray(item * plane * 3, (item + 1) * plane * 3);
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) out[(r * 3 + c) * plane + p] = source[p * 3 + c];
    }
  }
  return out;
}

export interface ControlPlan {
  /** The ControlNets of the fused graph, one per distinct link (undefined: no ControlNet, the plain UNet). */
  variant: UnetVariant['controlnet'];
  /** Hint and strength feeds of one model call (`dims` gives the crop size of an area call; default the latent). */
  feeds(call: Pick<ModelCall, 'guidance' | 'sigma'> & Partial<Pick<ModelCall, 'chunks' | 'dims'>>, rows: number): Feeds;
}

/**
 * ComfyUI apply_empty_x_to_equal_area for `control`: when no negative entry without an area has a ControlNet of
 * its own, the controls of positive entries applied with `control_apply_to_uncond` (old ControlNetApply) go to
 * the negative entries without area and control, in turn. Returns each negative entry's chain.
 */
function negativeChains(positive: Conditioning, negative: Conditioning): (ControlLink | undefined)[] {
  const chains = negative.map((e) => e.control);
  const shared = positive.filter((e) => e.controlApplyToUncond && e.area === undefined && e.control).map((e) => e.control);
  if (negative.some((e) => e.area === undefined && e.control)) return chains;
  const free = negative.flatMap((e, i) => (e.area === undefined && !e.control ? [i] : []));
  if (free.length === 0) return chains;
  shared.forEach((control, k) => {
    chains[free[k % free.length]] = control;
  });
  return chains;
}

/**
 * What the conditionings' control chains ask of the UNet for a latent of `latentDims` [B,4,h,w]: each group of
 * rows gets its entry's chain (see negativeChains for the negative side); other links get strength 0 there.
 * Hints are resized to the pixel size of the rows (8× the latent, or 8× an area's crop), as ComfyUI does per call.
 */
export function planControl(positive: Conditioning, negative: Conditioning, latentDims: readonly number[], schedule?: SigmaSchedule): ControlPlan {
  const sideChains = { cond: positive.map((e) => chainLinks(e.control)), uncond: negativeChains(positive, negative).map(chainLinks) };
  const links = [...new Set([...sideChains.cond.flat(), ...sideChains.uncond.flat()])];
  if (links.length === 0) return { variant: undefined, feeds: () => ({}) };
  const ranges = links.map((l) => ({ high: percentToSigma(l.startPercent, schedule), low: percentToSigma(l.endPercent, schedule) }));
  const resized = new Map<string, ImageBatch[]>();
  const hintFeeds = new Map<string, Feeds>();
  return {
    variant: { residuals: 'fused', nets: links.map((l) => ({ path: l.controlNet.controlnet.path, net: l.controlNet.controlnet, sharedHint: l.hint.batch === 1 })) },
    feeds(call, rows) {
      const chunks = callChunks(call);
      const batch = rows / chunks.length;
      const [height, width] = call.dims ? [call.dims[2], call.dims[3]] : [latentDims[2], latentDims[3]];
      const size = `${height}x${width}`;
      let hints = resized.get(size);
      if (!hints) {
        // ComfyUI: common_upscale(hint, 8·w, 8·h, "nearest-exact", "center"), redone when the size changes.
        hints = links.map((l) => resizeImage(l.hint, width * 8, height * 8, 'nearest-exact', 'center'));
        resized.set(size, hints);
      }
      const key = `${rows}:${batch}:${size}`;
      let hintFeed = hintFeeds.get(key);
      if (!hintFeed) {
        hintFeed = Object.fromEntries(hints.map((h, i) => {
          const count = h.batch === 1 ? 1 : rows; // a single hint is a shared [1,…] input (sharedHint)
          return [CONTROLNET_INPUT.hint(i), { dims: [count, 3, h.height, h.width], data: hintRows(h, count, batch) }];
        }));
        hintFeeds.set(key, hintFeed);
      }
      const feeds: Feeds = { ...hintFeed };
      links.forEach((link, i) => {
        const active = call.sigma <= ranges[i].high && call.sigma >= ranges[i].low;
        const strength = new Float32Array(rows);
        for (let r = 0; r < rows; r++) {
          const chunk = chunks[Math.floor(r / batch)];
          const chain = sideChains[chunk.branch][chunk.entry] ?? [];
          strength[r] = active && chain.includes(link) ? link.strength : 0;
        }
        feeds[CONTROLNET_INPUT.strength(i)] = { dims: [rows], data: strength };
      });
      return feeds;
    },
  };
}

export interface GuidedUnetRequest {
  model: SdModel;
  positive: Conditioning;
  negative: Conditioning;
  /** The latent being sampled, [B,4,h,w]. */
  latentDims: readonly number[];
  /** The latent itself (model space) with its noise mask: an inpainting UNet's concat input falls back to them
   *  (inpaint-concat.ts). Without it, zeros of latentDims and no mask. */
  latent?: Latent;
  log?: RuntimeLog;
}

/** An inpainting UNet's `concat` feed per call: each chunk of B rows gets its side's [mask, masked-image
 *  latent] (the first entry of that side, as ComfyUI's concat_cond reads it). */
function inpaintFeeds(request: GuidedUnetRequest): NonNullable<GuidedUnet['extraFeeds']> {
  const latent = request.latent ?? { samples: makeTensor(request.latentDims) };
  const sides = { uncond: inpaintConcat(request.negative[0], latent), cond: inpaintConcat(request.positive[0], latent) };
  const cache = new Map<string, Feeds>();
  return (call, rows) => {
    const chunks = callChunks(call);
    const key = `${chunks.map((c) => c.branch).join(',')}:${rows}`;
    let feeds = cache.get(key);
    if (!feeds) {
      const resized = chunks.map((c) => resizeToBatchSize(sides[c.branch], rows / chunks.length));
      const data = new Float32Array(resized.reduce((n, t) => n + t.data.length, 0));
      resized.reduce((offset, t) => { data.set(t.data, offset); return offset + t.data.length; }, 0);
      feeds = { [UNET_INPUT.concat]: { dims: [rows, ...sides.cond.dims.slice(1)], data } };
      cache.set(key, feeds);
    }
    return feeds;
  };
}

/** The conditionings' ControlNets as a patch of the generic kind (ComfyUI keeps them on the conditioning). */
export function controlPatch(plan: ControlPlan): PreparedPatch {
  return plan.variant ? { variant: { controlnet: plan.variant }, extraFeeds: (call, rows) => plan.feeds(call, rows) } : { variant: {} };
}

/** What a patch carried by the conditionings is made from: both sides resolved to the latent (area-conds.ts). */
export interface ResolvedGuidance {
  positive: Conditioning;
  negative: Conditioning;
  /** The latent being sampled, [B,4,h,w]. */
  latentDims: readonly number[];
  schedule?: SigmaSchedule;
}

/**
 * The patches conditionings carry (ComfyUI keeps ControlNet — and e.g. GLIGEN boxes — on the conditioning, not on
 * the MODEL), in the order they compose after the model's own. A new kind of conditioning patch is one entry.
 */
export const CONDITIONING_PATCHES: ReadonlyArray<(guidance: ResolvedGuidance) => PreparedPatch> = [
  (c) => controlPatch(planControl(c.positive, c.negative, c.latentDims, c.schedule)),
  (c) => gligenPatch(c),
];

/** The conditionings' GLIGEN boxes as a patch (gligen-plan.ts): grounding tokens and a gate per row. */
function gligenPatch(guidance: ResolvedGuidance): PreparedPatch {
  const plan = planGligen(guidance.positive, guidance.negative);
  return plan.variant ? { variant: { gligen: plan.variant }, extraFeeds: (call, rows) => plan.feeds(call, rows) } : { variant: {} };
}

/**
 * The UNet session and feeds for createEpsModel: one graph with the model's patches (model-patches.ts: LoRA,
 * EAA, …) and then the conditionings' (CONDITIONING_PATCHES: every ControlNet of both sides), composed in that
 * order (model-patch.ts). The
 * conditionings are resolved to the latent (area-conds.ts); `conds` is what the sampler needs of them.
 */
export async function prepareGuidedUnet(runtime: SdRuntime, request: GuidedUnetRequest): Promise<GuidedUnet & { conds: GuidanceConds }> {
  const schedule = modelSchedule(request.model);
  const resolved = resolveConditionings(request.positive, request.negative, request.latentDims, schedule);
  const guidance: ResolvedGuidance = { positive: resolved.positive, negative: resolved.negative, latentDims: request.latentDims, schedule };
  const patch = combinePatches([...prepareModelPatches(request.model, request.log), ...CONDITIONING_PATCHES.map((make) => make(guidance))]);
  // Refusals (e.g. the EAA with areas) before a graph is built.
  patch.checkConds?.(resolved.conds);
  const session = await runtime.unetSession(request.model.checkpoint, patch.variant, request.log);
  const patchFeeds = patch.extraFeeds;
  const { unet } = request.model.checkpoint.config;
  const isInpainting = unet.inChannels > unet.outChannels;
  if (isInpainting && [...resolved.conds.cond, ...resolved.conds.uncond].some((e) => e.area)) {
    throw new Error('an inpainting checkpoint (9 input channels) cannot be combined with conditioning areas yet (ConditioningSetArea, "mask bounds")');
  }
  const concatFeeds = isInpainting ? inpaintFeeds(request) : undefined;
  const cond = resolved.positive.map((e) => e.embeds);
  const uncond = resolved.negative.map((e) => e.embeds);
  if (cond.length === 0) throw new Error('positive: the conditioning has no entries');
  return {
    session,
    positive: cond[0],
    negative: uncond[0] ?? cond[0],
    entries: { cond, uncond },
    conds: resolved.conds,
    extraFeeds: patchFeeds || concatFeeds
      ? (call: ModelCall, rows: number) => ({ ...patchFeeds?.(call, rows), ...concatFeeds?.(call, rows) })
      : undefined,
  };
}
