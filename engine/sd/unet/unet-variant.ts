// UNet graph variants as one typed options value (style.md §3): recorded transformer features, the
// Embedded Attention Adapter (inv-adapter.md §3, built in unet-eaa.ts) and ControlNet residual inputs.
// The value goes into the graph cache key; unet.ts asks it, per block, what to add.
import type { GraphBuilder, Value, ComputeType } from '../../onnx/index.ts';
import type { UnetConfig } from '../checkpoint/config.ts';
import { eaaBlockExtras, openEaaAdapter } from '../inv-adapter/unet-eaa.ts';
import { transformerBlocks } from './unet-blocks.ts';
import { controlnetExtras, checkControlnetVariant } from '../controlnet/unet-controlnet.ts';
import type { ControlnetVariant } from '../controlnet/unet-controlnet.ts';
import type { UnetInputs, UnetExtras, BlockExtras } from './unet-layers.ts';

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
}

/**
 * Embedded Attention Adapter. Extra inputs: `eaa.<block>.self` / `eaa.<block>.cross` — the reference
 * branch's F_s / F_c [1,s,C] (as recorded by `recordFeatures` on a batch-1 pass), and `eaa.sigma_self` /
 * `eaa.sigma_cross` [B] — σ per row and side, so CFG rows and start/end gating need no rebuild. σ = 0 gives
 * the base output bitwise: the adapter term is added as O + σ·O_p before to_out, and O + 0·O_p = O for finite O_p.
 */
export interface EaaVariant {
  /** Adapter .safetensors (inv-adapter.md §5); its weights are read in place as external data. */
  adapterPath: string;
  /** Also takes `eaa.mask.level<l>` [1,S_l,1] per resolution level: the adapter term is multiplied by it
   *  token by token (an attention mask: where in the image the identity acts). */
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
  const adapter = variant.eaa ? openEaaAdapter(variant.eaa.adapterPath, config) : null;
  const blocks = transformerBlocks(config).map((b) => b.name);
  const sigma = adapter
    ? {
      self: g.input('eaa.sigma_self', 'float32', ['B']),
      cross: g.input('eaa.sigma_cross', 'float32', ['B']),
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
  const extras: UnetExtras = {
    block(block, width, heads) {
      const index = blocks.indexOf(block);
      const level = levels.get(block) ?? 0;
      const mask = variant.eaa?.masked ? (tokens: Value['shape'][number]) => maskFor(level, tokens) : undefined;
      const out: BlockExtras = adapter && sigma ? eaaBlockExtras(g, adapter, { block, index, width, heads, sigma, mask }) : {};
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
