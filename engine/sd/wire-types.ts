// The SD values that travel between nodes (ComfyUI's MODEL, CLIP, VAE, CONDITIONING, LATENT), added to
// the node-definition WireTypes (inv-adapter/wire-types.ts adds the Inv-Adapter's own). Latents are in
// model space: the VAE latent × scaling factor (0.18215).
import type { Tensor } from '../tensor/index.ts';
import type { Checkpoint, VaeModel } from './checkpoint/checkpoint.ts';
import type { ClipTokenizer } from './clip/tokenizer.ts';
import type { Controlnet } from './controlnet/controlnet-checkpoint.ts';
import type { ImageBatch, MaskBatch } from '../image/index.ts';
import type { ModelPatch } from './model-patch.ts';
import type { GligenGrounding, SdGligen } from './gligen/gligen-plan.ts';
import type { Prediction } from '../sampling/index.ts';

/** A denoising model: the checkpoint's UNet. Immutable; patches return a new value sharing weights. */
export interface SdModel {
  checkpoint: Checkpoint;
  /** UNet patches added by nodes (EAAInject, …), in the order added; the sampler applies them without knowing
   *  what they are (model-patch.ts; the LoRA stack lives in the checkpoint, model-patches.ts). */
  patches?: readonly ModelPatch[];
  /** ModelSamplingDiscrete's `sampling` (ComfyUI's model_sampling object patch); undefined: ε prediction. */
  prediction?: Prediction;
  /** ModelSamplingDiscrete's zsnr: the σ table rescaled to zero terminal SNR. */
  zsnr?: boolean;
  /** RescaleCFG's multiplier (ComfyUI's sampler_cfg_function); undefined: plain CFG. */
  rescaleCfg?: number;
}

export interface SdClip {
  checkpoint: Checkpoint;
  tokenizer: ClipTokenizer;
  /** ComfyUI CLIPSetLastLayer numbering: -1 = last layer, -2 = penultimate ("clip skip 2"). */
  stopAtLayer: number;
}

export interface SdVae {
  /** The checkpoint's VAE, or a VAE file's (VAELoader). */
  checkpoint: VaeModel;
}

/** A loaded ControlNet (ComfyUI's CONTROL_NET): the opened file; graphs are built when sampling. */
export interface SdControlNet {
  controlnet: Controlnet;
}

/**
 * One ControlNet applied to a conditioning (ComfyUI's `cond['control']`): the newest link of a chain whose
 * `previous` links were applied before it; the residuals of all links add up. The same link object on the
 * positive and the negative entry means one ControlNet run serving both (ControlNetApplyAdvanced).
 */
export interface ControlLink {
  controlNet: SdControlNet;
  /** The hint as given (IMAGE, 0..1); resized to the latent's pixel size when sampling. */
  hint: ImageBatch;
  /** Conditioning scale of the residuals. */
  strength: number;
  /** Active while σ is within [σ(endPercent), σ(startPercent)] of the model schedule (ComfyUI percent_to_sigma). */
  startPercent: number;
  endPercent: number;
  previous?: ControlLink;
}

/** One text conditioning: CLIP hidden states [1, 77·k, C] for a prompt of k 77-token chunks. */
export interface ConditioningEntry {
  embeds: Tensor;
  control?: ControlLink;
  /** ComfyUI's `control_apply_to_uncond` (set by the old ControlNetApply): a positive entry's control also
   *  serves a negative conditioning that has none of its own. */
  controlApplyToUncond?: boolean;
  /** ConditioningSetArea (latent cells: pixels // 8) or ConditioningSetAreaPercentage (fractions of the
   *  latent, resolved when sampling): where this entry acts. */
  area?: ConditioningArea;
  /** ConditioningSetArea…'s strength: the entry's weight where areas overlap (default 1). */
  strength?: number;
  /** ConditioningSetMask: where this entry acts (resized to the latent when sampling), its strength, and
   *  whether the model only sees the mask's bounding box ("mask bounds"). */
  mask?: MaskBatch;
  maskStrength?: number;
  setAreaToBounds?: boolean;
  /** ConditioningSetTimestepRange: active while σ is within [σ(endPercent), σ(startPercent)]. */
  startPercent?: number;
  endPercent?: number;
  /** InpaintModelConditioning's `concat_latent_image` (model space, the masked-out image's latent) and
   *  `concat_mask` (pixel size): what an inpainting UNet (9 input channels) gets beside the noisy latent
   *  (sd/inpaint-concat.ts); other UNets ignore them. */
  concatLatent?: Tensor;
  concatMask?: MaskBatch;
  /** GLIGENTextBoxApply: boxes of text the UNet's gated self-attention grounds (sd/gligen/). */
  gligen?: GligenGrounding;
}

export interface ConditioningArea {
  unit: 'cells' | 'fraction';
  height: number;
  width: number;
  y: number;
  x: number;
}

export type Conditioning = ConditioningEntry[];

export interface Latent {
  /** [B, 4, H/8, W/8], model space. */
  samples: Tensor;
  /** ComfyUI's `noise_mask` (SetLatentNoiseMask, VAEEncodeForInpaint): 1 = denoise, 0 = keep; any size,
   *  resized to the latent when sampling. */
  noiseMask?: MaskBatch;
  /** ComfyUI's `batch_index` (LatentFromBatch, RepeatLatentBatch, LatentBatch): which item of a larger
   *  batch each latent is, so its initial noise is that item's noise. */
  batchIndex?: readonly number[];
}

declare module '../graph/node-definition.ts' {
  interface WireTypes {
    MODEL: SdModel;
    CLIP: SdClip;
    VAE: SdVae;
    CONDITIONING: Conditioning;
    LATENT: Latent;
    CONTROL_NET: SdControlNet;
    GLIGEN: SdGligen;
  }
}
