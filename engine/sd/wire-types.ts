// The SD values that travel between nodes (ComfyUI's MODEL, CLIP, VAE, CONDITIONING, LATENT), added to
// the node-definition WireTypes. Latents are in model space: the VAE latent × scaling factor (0.18215).
import type { Tensor } from '../tensor/index.ts';
import type { Checkpoint } from './checkpoint.ts';
import type { ClipTokenizer } from './tokenizer.ts';

/** A denoising model: the checkpoint's UNet. Immutable; patches return a new value sharing weights. */
export interface SdModel {
  checkpoint: Checkpoint;
}

export interface SdClip {
  checkpoint: Checkpoint;
  tokenizer: ClipTokenizer;
  /** ComfyUI CLIPSetLastLayer numbering: -1 = last layer, -2 = penultimate ("clip skip 2"). */
  stopAtLayer: number;
}

export interface SdVae {
  checkpoint: Checkpoint;
}

/** One text conditioning: CLIP hidden states [1, 77·k, C] for a prompt of k 77-token chunks. */
export interface ConditioningEntry {
  embeds: Tensor;
}

export type Conditioning = ConditioningEntry[];

export interface Latent {
  /** [B, 4, H/8, W/8], model space. */
  samples: Tensor;
}

declare module '../graph/node-definition.ts' {
  interface WireTypes {
    MODEL: SdModel;
    CLIP: SdClip;
    VAE: SdVae;
    CONDITIONING: Conditioning;
    LATENT: Latent;
  }
}
