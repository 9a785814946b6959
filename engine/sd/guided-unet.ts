// The sampler's UNet for a pair of conditionings: picks the UNet graph variant from their ControlNet chains
// (one fused graph, unet-controlnet.ts) and makes the per-call feeds — hints resized to the latent's pixel size,
// and per-row strengths gated by σ as ComfyUI's ControlBase does (start/end percent → σ, sd15-reference.md §6.3).
import { resizeImage } from '../image/index.ts';
import type { ImageBatch } from '../image/index.ts';
import { percentToSigma } from '../sampling/index.ts';
import type { ModelCall } from '../sampling/index.ts';
import type { Conditioning, ControlLink, Latent, SdModel } from './wire-types.ts';
import { makeTensor } from '../tensor/index.ts';
import { inpaintConcat, resizeToBatchSize } from './inpaint-concat.ts';
import type { UnetVariant } from './unet/unet.ts';
import type { GuidedUnet } from './eps-model.ts';
import { conditioningEmbeds } from './eps-model.ts';
import type { SdRuntime, RuntimeLog } from './runtime.ts';

type Feeds = ReturnType<NonNullable<GuidedUnet['extraFeeds']>>;

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
  /** Hint and strength feeds of one model call. */
  feeds(call: Pick<ModelCall, 'guidance' | 'sigma'>, rows: number): Feeds;
}

/**
 * What the conditionings' control chains ask of the UNet for a latent of `latentDims` [B,4,h,w]: positive rows
 * get the positive chain, negative rows the negative chain — or, when the negative has none, the positive's if
 * it was applied with ComfyUI's `control_apply_to_uncond` (old ControlNetApply). Other rows get strength 0.
 */
export function planControl(positive: Conditioning, negative: Conditioning, latentDims: readonly number[]): ControlPlan {
  const positiveLinks = chainLinks(positive[0]?.control);
  const ownNegative = chainLinks(negative[0]?.control);
  const negativeLinks = ownNegative.length > 0 || !positive[0]?.controlApplyToUncond ? ownNegative : positiveLinks;
  const links = [...new Set([...positiveLinks, ...negativeLinks])];
  if (links.length === 0) return { variant: undefined, feeds: () => ({}) };
  const [, , height, width] = latentDims;
  // ComfyUI: common_upscale(hint, 8·w, 8·h, "nearest-exact", "center"), done once per latent size.
  const hints = links.map((l) => resizeImage(l.hint, width * 8, height * 8, 'nearest-exact', 'center'));
  const ranges = links.map((l) => ({ high: percentToSigma(l.startPercent), low: percentToSigma(l.endPercent) }));
  const hintFeeds = new Map<string, Feeds>();
  return {
    variant: { residuals: 'fused', nets: links.map((l) => ({ path: l.controlNet.controlnet.path, sharedHint: l.hint.batch === 1 })) },
    feeds(call, rows) {
      const batch = call.guidance === 'cond' ? rows : rows / 2;
      const key = `${rows}:${batch}`;
      let hintFeed = hintFeeds.get(key);
      if (!hintFeed) {
        hintFeed = Object.fromEntries(hints.map((h, i) => {
          const count = h.batch === 1 ? 1 : rows; // a single hint is a shared [1,…] input (sharedHint)
          return [`controlnet.${i}.hint`, { dims: [count, 3, h.height, h.width], data: hintRows(h, count, batch) }];
        }));
        hintFeeds.set(key, hintFeed);
      }
      const feeds: Feeds = { ...hintFeed };
      links.forEach((link, i) => {
        const active = call.sigma <= ranges[i].high && call.sigma >= ranges[i].low;
        const strength = new Float32Array(rows);
        for (let r = 0; r < rows; r++) {
          const side = call.guidance === 'uncond+cond' && r < batch ? negativeLinks : positiveLinks;
          strength[r] = active && side.includes(link) ? link.strength : 0;
        }
        feeds[`controlnet.${i}.strength`] = { dims: [rows], data: strength };
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
  /** What another model patch adds (e.g. the EAA): merged into the variant and into every call's feeds. */
  patch?: { variant: UnetVariant; extraFeeds?: GuidedUnet['extraFeeds'] };
  log?: RuntimeLog;
}

/** An inpainting UNet's `concat` feed per call: rows [uncond…, cond…] from the negative and positive sides. */
function inpaintFeeds(request: GuidedUnetRequest): NonNullable<GuidedUnet['extraFeeds']> {
  const latent = request.latent ?? { samples: makeTensor(request.latentDims) };
  const sides = { negative: inpaintConcat(request.negative[0], latent), positive: inpaintConcat(request.positive[0], latent) };
  const cache = new Map<string, Feeds>();
  return (call, rows) => {
    const key = `${call.guidance}:${rows}`;
    let feeds = cache.get(key);
    if (!feeds) {
      const parts = call.guidance === 'cond' ? [sides.positive] : [sides.negative, sides.positive];
      const resized = parts.map((t) => resizeToBatchSize(t, rows / parts.length));
      const data = new Float32Array(resized.reduce((n, t) => n + t.data.length, 0));
      resized.reduce((offset, t) => { data.set(t.data, offset); return offset + t.data.length; }, 0);
      feeds = { concat: { dims: [rows, ...sides.positive.dims.slice(1)], data } };
      cache.set(key, feeds);
    }
    return feeds;
  };
}

/** The UNet session and feeds for createEpsModel: one graph with every ControlNet of both conditionings. */
export async function prepareGuidedUnet(runtime: SdRuntime, request: GuidedUnetRequest): Promise<GuidedUnet> {
  const plan = planControl(request.positive, request.negative, request.latentDims);
  const variant: UnetVariant = { ...request.patch?.variant, ...(plan.variant ? { controlnet: plan.variant } : {}) };
  const session = await runtime.unetSession(request.model.checkpoint, variant, request.log);
  const patchFeeds = request.patch?.extraFeeds;
  const { unet } = request.model.checkpoint.config;
  const concatFeeds = unet.inChannels > unet.outChannels ? inpaintFeeds(request) : undefined;
  return {
    session,
    positive: conditioningEmbeds(request.positive, 'positive'),
    negative: conditioningEmbeds(request.negative, 'negative'),
    extraFeeds: plan.variant || patchFeeds || concatFeeds
      ? (call: ModelCall, rows: number) => ({ ...patchFeeds?.(call, rows), ...plan.feeds(call, rows), ...concatFeeds?.(call, rows) })
      : undefined,
  };
}
