// EAAInject as a model patch (inv-adapter.md §3–4; the generic ModelPatch of ../model-patch.ts): a MODEL carrying
// an adapter, a feature bank and the controls; at sampling time the patch asks for the `eaa` UNet graph addition
// (unet-eaa.ts) and, per model call, feeds the bank step nearest to the call's timestep and σ per row and side (0
// outside [start_at, end_at], for disabled sides and, unless apply_to_uncond, for unconditional rows) — σ = 0
// gives the base model's output bitwise. Input names: eaa-io.ts.
import { openSafetensors } from '../../onnx/index.ts';
import type { SafetensorsFile } from '../../onnx/index.ts';
import { percentToSigma } from '../../sampling/index.ts';
import { callChunks, type ModelCall } from '../../sampling/index.ts';
import { modelSchedule } from '../model-sampling.ts';
import type { Tensor } from '../../tensor/index.ts';
import { resizeImage, makeImageBatch } from '../../image/index.ts';
import type { MaskBatch } from '../../image/index.ts';
import type { SdModel } from '../wire-types.ts';
import type { ModelPatch, PatchRun, PreparedPatch } from '../model-patch.ts';
import type { Feeds } from '../unet/unet-io.ts';
import type { InvAdapter } from './inv-adapter.ts';
import type { EaaSettings, EaaPatch } from './eaa-settings.ts';
import { nearestTimestep, readFeatureStep, featureStepKey } from './feature-bank.ts';
import { EAA_INPUT } from './eaa-io.ts';
import type { FeatureBank } from './feature-bank.ts';
import { unetIdentity } from './inv-adapter-weights.ts';
import { transformerBlocks } from '../unet/unet-blocks.ts';

export type { EaaSettings, EaaPatch } from './eaa-settings.ts';

export class EaaPatchError extends Error {}

/** Refuses features that cannot serve this model with this adapter; messages name block and sizes. */
export function checkEaaInputs(model: Pick<SdModel, 'checkpoint'>, adapter: InvAdapter, features: FeatureBank): void {
  const identity = unetIdentity(model.checkpoint);
  if (features.model !== identity) {
    throw new EaaPatchError(`the DIFFUSION_FEATURES (${features.path}) were recorded with another model (${features.model || 'unknown'}) than this MODEL (${identity}); run DDIMInvert and ExtractDiffusionFeatures with the checkpoint you sample with`);
  }
  if (adapter.mode === 'reference') {
    // Reference attention takes any reference size, but every block needs its F_s.
    for (const { name } of transformerBlocks(model.checkpoint.config.unet)) {
      if (!features.blocks.some((b) => b.name === name)) throw new EaaPatchError(`the DIFFUSION_FEATURES have no features for block ${name}`);
    }
    return;
  }
  for (const [block, tokens] of Object.entries(adapter.referenceTokens)) {
    const recorded = features.blocks.find((b) => b.name === block);
    if (!recorded) throw new EaaPatchError(`the DIFFUSION_FEATURES have no features for block ${block}, which the adapter ${adapter.label} needs`);
    if (recorded.tokens !== tokens) {
      const px = `${features.latentSize[1] * 8}×${features.latentSize[0] * 8}`;
      throw new EaaPatchError(`block ${block}: the features have ${recorded.tokens} reference tokens (from a ${px} face crop) but the adapter ${adapter.label} expects ${tokens}; crop the face to the adapter's reference size, or set the loader's reference_size to ${features.latentSize[0] * 8}`);
    }
  }
}

/** The EAA patch on a MODEL (its ModelPatch in SdModel.patches). */
export interface EaaModelPatch extends ModelPatch {
  readonly kind: 'eaa';
  readonly settings: EaaPatch;
}

function isEaa(patch: ModelPatch): patch is EaaModelPatch {
  return patch.kind === 'eaa';
}

/** What EAAInject put on this MODEL, or undefined for a model without the patch. */
export function eaaOf(model: Pick<SdModel, 'patches'>): EaaPatch | undefined {
  return model.patches?.find(isEaa)?.settings;
}

/** EAAInject: a new MODEL sharing the weights, with the patch attached after the model's other patches. */
export function injectEaa(model: SdModel, adapter: InvAdapter, features: FeatureBank, settings: EaaSettings): SdModel {
  if (eaaOf(model)) throw new EaaPatchError('this MODEL already has an EAA patch (EAAInject applied twice); chaining adapters is not supported — connect the checkpoint loader\'s MODEL');
  if (!(settings.startAt <= settings.endAt)) throw new EaaPatchError(`start_at (${settings.startAt}) must not be after end_at (${settings.endAt})`);
  const blockCount = transformerBlocks(model.checkpoint.config.unet).length;
  if (settings.blockWeights && settings.blockWeights.length !== blockCount) {
    throw new EaaPatchError(`block weights: ${settings.blockWeights.length} values given, this model has ${blockCount} transformer blocks`);
  }
  checkEaaInputs(model, adapter, features);
  const patch: EaaModelPatch = { kind: 'eaa', settings: { ...settings, adapter, features }, prepare: (run) => prepareEaa(patch.settings, run) };
  return { ...model, patches: [...(model.patches ?? []), patch] };
}

/** The EAA patch prepared for one run (its feeds are always there). */
export interface EaaUnetPatch extends PreparedPatch {
  extraFeeds: (call: ModelCall, rows: number) => Feeds;
}

/** σ per row for one side of a call. */
function sigmaRows(patch: EaaPatch, enabled: boolean, active: boolean, call: Pick<ModelCall, 'guidance' | 'chunks'>, rows: number): Float32Array {
  const sigma = new Float32Array(rows);
  if (!active || !enabled || patch.weight === 0) return sigma;
  const chunks = callChunks(call);
  const batch = rows / chunks.length;
  for (let r = 0; r < rows; r++) sigma[r] = chunks[Math.floor(r / batch)].branch === 'uncond' && !patch.applyToUncond ? 0 : patch.weight;
  return sigma;
}

/** The EAA patch of a MODEL prepared for a run of that model (undefined without one): tests and tools that
 *  look at the EAA alone. Samplers prepare every patch of the model alike (../model-patches.ts). */
export function eaaPatch(model: SdModel, log?: (message: string) => void): EaaUnetPatch | undefined {
  const settings = eaaOf(model);
  return settings && prepareEaa(settings, { checkpoint: model.checkpoint, schedule: modelSchedule(model), log });
}

/**
 * The `eaa` graph addition and per-call feeds for one run. Features of the current bank step are kept between
 * calls (heun makes two calls per step).
 */
function prepareEaa(patch: EaaPatch, run: PatchRun): EaaUnetPatch {
  const { checkpoint, schedule, log } = run;
  checkEaaInputs({ checkpoint }, patch.adapter, patch.features);
  const blockCount = transformerBlocks(checkpoint.config.unet).length;
  const blockWeights = { dims: [blockCount], data: Float32Array.from(patch.blockWeights ?? new Array<number>(blockCount).fill(1)) };
  const high = percentToSigma(patch.startAt, schedule);
  const low = percentToSigma(patch.endAt, schedule);
  const trained = patch.adapter.mode === 'trained';
  let file: SafetensorsFile | undefined;
  let largestGap = 0;
  // The features were recorded for one schedule: an active call whose timestep has no recorded step within one
  // DDIM interval of the sampler (1000 / its steps) would silently get another step's features.
  const coverage = (call: ModelCall, recorded: number): void => {
    const gap = Math.abs(recorded - call.timestep);
    largestGap = Math.max(largestGap, gap);
    const interval = 1000 / call.step.total;
    const bankSteps = patch.features.timesteps.length;
    if (gap > interval && !patch.allowTimestepMismatch) {
      throw new EaaPatchError(`EAA: sampling timestep ${call.timestep.toFixed(1)} (sampler: ${call.step.total} steps) has no recorded feature step within one DDIM interval (${interval.toFixed(1)}); the nearest is ${recorded} — the features were recorded with ${bankSteps} DDIM steps. Sample with ddim_diffusers and ${bankSteps} steps, record the features with ${call.step.total} steps, or set allow_timestep_mismatch on EAAInject`);
    }
    if (call.step.index === call.step.total - 1) {
      log?.(`EAA: features of ${bankSteps} recorded steps for ${call.step.total} sampler steps; largest timestep gap ${largestGap.toFixed(1)}`);
    }
  };
  let cached: { timestep: number; feeds: Feeds } | undefined;
  const featureFeeds = (timestep: number): Feeds => {
    if (cached?.timestep !== timestep) {
      file ??= openSafetensors(patch.features.path);
      const step = readFeatureStep(patch.features, timestep, file);
      const feeds: Feeds = {};
      // Reference attention has no cross side: its graph takes no `.cross` inputs.
      const sides = trained ? (['self', 'cross'] as const) : (['self'] as const);
      for (const b of patch.features.blocks) {
        for (const side of sides) feeds[EAA_INPUT.features(b.name, side)] = step.get(featureStepKey(b.name, side)) as Tensor;
      }
      cached = { timestep, feeds };
    }
    return cached.feeds;
  };
  const maskFeeds = patch.mask ? attentionMaskFeeds(patch.mask, new Set(transformerBlocks(checkpoint.config.unet).map((b) => b.level))) : undefined;
  return {
    // The EAA works on the whole latent; area conditionings would feed it crops.
    checkConds(conds) {
      if ([...conds.cond, ...conds.uncond].some((e) => e.area)) {
        throw new EaaPatchError('the EAA (EAAInject) works on the whole latent; it cannot be combined with conditioning areas (ConditioningSetArea, "mask bounds")');
      }
    },
    variant: { eaa: { ...(patch.adapter.mode === 'trained' ? { adapterPath: patch.adapter.path } : {}), ...(maskFeeds ? { masked: true } : {}) } },
    extraFeeds(call, rows) {
      const active = call.sigma <= high && call.sigma >= low;
      const sigmaSelf = sigmaRows(patch, patch.selfAttention, active, call, rows);
      const sigmaCross = sigmaRows(patch, patch.crossAttention, active, call, rows);
      // Inactive calls still feed a step (the graph needs the inputs); σ = 0 makes them irrelevant.
      const timestep = active || !cached ? nearestTimestep(patch.features.timesteps, call.timestep) : cached.timestep;
      if (active && [...sigmaSelf, ...sigmaCross].some((v) => v > 0)) coverage(call, timestep);
      return {
        ...featureFeeds(timestep),
        [EAA_INPUT.sigmaSelf]: { dims: [rows], data: sigmaSelf },
        ...(trained ? { [EAA_INPUT.sigmaCross]: { dims: [rows], data: sigmaCross } } : {}),
        [EAA_INPUT.blockWeights]: blockWeights,
        ...maskFeeds?.(call.dims[2], call.dims[3]),
      };
    },
  };
}

/** The mask at each level's token grid for a latent of h×w: a level halves the grid, rounding up (stride-2
 *  convolutions with padding 1); values are area averages of the mask, flattened row-major. */
function attentionMaskFeeds(mask: MaskBatch, levels: Set<number>): (h: number, w: number) => Feeds {
  const plane = mask.height * mask.width;
  const asImage = makeImageBatch(1, mask.height, mask.width);
  for (let i = 0; i < plane; i++) asImage.data.fill(mask.data[i], i * 3, i * 3 + 3);
  const byLatent = new Map<string, Feeds>();
  return (h, w) => {
    const key = `${h}x${w}`;
    let feeds = byLatent.get(key);
    if (!feeds) {
      feeds = {};
      let [gridH, gridW] = [h, w];
      for (let level = 0; level <= Math.max(...levels); level++) {
        if (levels.has(level)) {
          const resized = resizeImage(asImage, gridW, gridH, 'area', 'disabled');
          const tokens = Float32Array.from({ length: gridH * gridW }, (_, i) => resized.data[i * 3]);
          feeds[EAA_INPUT.mask(level)] = { dims: [1, gridH * gridW, 1], data: tokens };
        }
        [gridH, gridW] = [Math.ceil(gridH / 2), Math.ceil(gridW / 2)];
      }
      byLatent.set(key, feeds);
    }
    return feeds;
  };
}

const BLOCK_GROUPS = { input: 'down_blocks.', middle: 'mid_block.', output: 'up_blocks.' } as const;

/**
 * EAAInject's `block_weights` text: empty → undefined (1 everywhere); one number per transformer block in
 * canonical order ("1, 1, 0.5, …"); or groups "input=…, middle=…, output=…" (down, mid, up blocks; a group
 * not named keeps 1). Each factor is a finite number ≥ 0.
 */
export function parseBlockWeights(text: string, blocks: readonly string[]): number[] | undefined {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) return undefined;
  const number = (raw: string, what: string): number => {
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value) || value < 0) throw new EaaPatchError(`block_weights: ${what} is "${raw}"; use a number ≥ 0`);
    return value;
  };
  if (parts.every((p) => !p.includes('='))) {
    if (parts.length !== blocks.length) {
      throw new EaaPatchError(`block_weights: ${parts.length} numbers given, this model has ${blocks.length} transformer blocks (or write input=…, middle=…, output=…)`);
    }
    return parts.map((p, i) => number(p, `the value for block ${i} (${blocks[i]})`));
  }
  const weights = blocks.map(() => 1);
  for (const part of parts) {
    const [name, raw = ''] = part.split('=').map((x) => x.trim());
    if (!(name in BLOCK_GROUPS)) throw new EaaPatchError(`block_weights: unknown group "${name}" in "${part}"; use input, middle or output`);
    const prefix = BLOCK_GROUPS[name as keyof typeof BLOCK_GROUPS];
    const value = number(raw, `the value of ${name}`);
    blocks.forEach((b, i) => { if (b.startsWith(prefix)) weights[i] = value; });
  }
  return weights;
}
