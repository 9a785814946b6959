// UNet graph variants as one typed options value (style.md §3): recorded transformer features, the
// Embedded Attention Adapter (inv-adapter.md §3, built in unet-eaa.ts) and ControlNet residual inputs.
// The value goes into the graph cache key; unet.ts asks it, per block, what to add.
import type { GraphBuilder, Value, ComputeType } from '../../onnx/index.ts';
import type { UnetConfig } from '../checkpoint/config.ts';
import { eaaBlockExtras, referenceBlockExtras, openEaaAdapter } from '../inv-adapter/unet-eaa.ts';
import { transformerBlocks } from './unet-blocks.ts';
import { controlnetExtras, checkControlnetVariant } from '../controlnet/unet-controlnet.ts';
import type { ControlnetVariant } from '../controlnet/unet-controlnet.ts';
import type { UnetInputs, UnetExtras, BlockExtras } from './unet-layers.ts';
import { openGligen, checkGligenFits } from '../gligen/gligen-file.ts';
import { gligenInputs, gligenBlockHook } from '../gligen/unet-gligen.ts';

export type { UnetExtras, BlockExtras } from './unet-layers.ts';

export type { ControlnetVariant } from '../controlnet/unet-controlnet.ts';

export interface UnetVariant {
  /** Activation/weight type inside the graph (default float32; float16 for GPUs). */
  compute?: ComputeType;
  /**
   * Extra outputs per transformer block, in execution order: `features.<block>.self` (norm1 output, the
   * input of self-attention) and `features.<block>.cross` (norm2 output), each [B,H·W,C]; `<block>` is the
   * diffusers Transformer2DModel path, e.g. `down_blocks.0.attentions.0`.
   */
  recordFeatures?: boolean;
  eaa?: EaaVariant;
  controlnet?: ControlnetVariant;
  /** GLIGEN's gated self-attention in every transformer block (gligen/unet-gligen.ts documents its inputs). */
  gligen?: GligenVariant;
}

export interface GligenVariant {
  /** The GLIGEN file; its fuser weights are read in place as external data. */
  path: string;
}

/**
 * Embedded Attention Adapter. Extra inputs: `eaa.<block>.self` [1,R,C] — the reference branch's F_s (as recorded
 * by `recordFeatures` on a batch-1 pass), `eaa.sigma_self` [B] — σ per row, so CFG rows and start/end gating
 * need no rebuild — and `eaa.block_weights` [blocks]. With an adapter file (the paper's additive form, §3) also
 * `eaa.<block>.cross` [1,s,C] and `eaa.sigma_cross` [B]; the reference token count s is the file's. Without one
 * (training-free reference attention, §5) R is free per block (any reference size) and there is no cross side.
 * Either way σ = 0 gives the base output bitwise: O + 0·O_p = O for finite O_p (additive), and the original
 * attention result is selected where σ = 0 (reference attention).
 */
export interface EaaVariant {
  /** Adapter .safetensors (inv-adapter.md §5); its weights are read in place as external data. Absent: the
   *  training-free reference attention of §5. */
  adapterPath?: string;
  /** Also takes `eaa.mask.level<l>` [1,S_l,1] per resolution level: the adapter acts token by token in
   *  proportion to it (an attention mask: where in the image the identity acts). */
  masked?: boolean;
}

export class UnetVariantError extends Error {}

/** Refuses variants the config cannot carry (checked before building). */
export function checkVariant(config: UnetConfig, variant: UnetVariant): void {
  const perBlock = variant.recordFeatures || variant.eaa;
  if (perBlock && config.transformerDepth !== 1) {
    throw new UnetVariantError(
      `recorded features and EAA need one transformer block per Transformer2DModel (SD1.5); this UNet has ${config.transformerDepth}`,
    );
  }
  if (variant.controlnet) checkControlnetVariant(variant.controlnet);
}

/** Builds the per-block and per-model additions for `variant` on graph g. */
export function variantExtras(g: GraphBuilder, config: UnetConfig, variant: UnetVariant, inputs: UnetInputs): UnetExtras {
  const recorded: Array<[string, Value]> = [];
  const adapter = variant.eaa?.adapterPath ? openEaaAdapter(variant.eaa.adapterPath, config) : null;
  const blocks = transformerBlocks(config).map((b) => b.name);
  const sigma = variant.eaa
    ? {
      self: g.input('eaa.sigma_self', 'float32', ['B']),
      // No cross side without an adapter file (inv-adapter.md §5, training-free mode).
      cross: adapter ? g.input('eaa.sigma_cross', 'float32', ['B']) : null,
      // One factor per transformer block (canonical order), multiplying both sides' σ: per-block strength.
      blockWeights: g.input('eaa.block_weights', 'float32', [blocks.length]),
    }
    : null;
  // One mask input per resolution level, declared when a block of that level first asks (its token dim).
  const masks = new Map<number, Value>();
  const maskFor = (level: number, tokens: Value['shape'][number]): Value => {
    let mask = masks.get(level);
    if (!mask) {
      mask = g.input(`eaa.mask.level${level}`, 'float32', [1, tokens, 1]);
      masks.set(level, mask);
    }
    return mask;
  };
  const levels = new Map(transformerBlocks(config).map((b) => [b.name, b.level]));
  const gligen = variant.gligen ? openGligen(variant.gligen.path) : null;
  if (gligen) checkGligenFits(gligen, config);
  const grounding = gligen ? gligenInputs(g, gligen) : null;
  const extras: UnetExtras = {
    block(block, width, heads) {
      const index = blocks.indexOf(block);
      const level = levels.get(block) ?? 0;
      const mask = variant.eaa?.masked ? (tokens: Value['shape'][number]) => maskFor(level, tokens) : undefined;
      let out: BlockExtras = {};
      if (sigma && adapter && sigma.cross) out = eaaBlockExtras(g, adapter, { block, index, width, heads, sigma: { ...sigma, cross: sigma.cross }, mask });
      else if (sigma) out = referenceBlockExtras(g, { block, index, width, heads, sigma, mask });
      if (gligen && grounding) out.afterSelfAttention = gligenBlockHook(g, gligen, grounding, index);
      if (variant.recordFeatures) {
        out.record = (self, cross) => recorded.push([`features.${block}.self`, self], [`features.${block}.cross`, cross]);
      }
      return out;
    },
    finish() {
      for (const [name, value] of recorded) g.output(value, name);
    },
  };
  if (variant.controlnet) {
    const control = controlnetExtras(g, config, variant.controlnet, inputs);
    const finishRecorded = extras.finish;
    extras.downResidual = control.downResidual;
    extras.midResidual = control.midResidual;
    extras.finish = () => {
      finishRecorded();
      control.finish();
    };
  }
  return extras;
}
