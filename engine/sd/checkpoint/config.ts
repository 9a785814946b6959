// Plain typed architecture configs for SD1.5's three networks, and how they are inferred from weight
// shapes. Numbers that shapes cannot tell (attention heads) come from a config file beside the
// checkpoint when there is one, else from the documented rules in inferHeads / clipHeads (which refuses
// to guess for a non-standard text-encoder width).
import type { WeightSource } from '../../onnx/index.ts';

export interface UnetConfig {
  inChannels: number;
  outChannels: number;
  blockOutChannels: number[];
  /** Resnets per down level (up levels have one more). */
  layersPerBlock: number;
  /** Whether each down level (and its mirrored up level) has transformers. */
  attentionLevels: boolean[];
  /** Attention heads per level (SD1.5: 8 everywhere; diffusers calls this `attention_head_dim`). */
  heads: number[];
  transformerDepth: number;
  crossAttentionDim: number;
  timeEmbedDim: number;
  normGroups: number;
  /** proj_in / proj_out are Linear (SD2-style) rather than 1×1 Conv. */
  useLinearProjection: boolean;
}

export interface VaeConfig {
  inChannels: number;
  blockOutChannels: number[];
  layersPerBlock: number;
  latentChannels: number;
  normGroups: number;
  scalingFactor: number;
}

export interface ClipTextConfig {
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  intermediateSize: number;
  maxPositions: number;
  layerNormEps: number;
}

export interface Sd15Config {
  unet: UnetConfig;
  vae: VaeConfig;
  clip: ClipTextConfig;
}

/** Numbers read from a config file beside the checkpoint (all optional). */
export interface ConfigHints {
  unetHeads?: number | number[];
  unetHeadChannels?: number;
  clipHeads?: number;
  scalingFactor?: number;
}

export const SD15_UNET: UnetConfig = {
  inChannels: 4, outChannels: 4, blockOutChannels: [320, 640, 1280, 1280], layersPerBlock: 2,
  attentionLevels: [true, true, true, false], heads: [8, 8, 8, 8], transformerDepth: 1, crossAttentionDim: 768,
  timeEmbedDim: 1280, normGroups: 32, useLinearProjection: false,
};

function shapeOf(source: WeightSource, name: string): readonly number[] {
  return source.weight(name).shape;
}

function countWhile(test: (i: number) => boolean): number {
  let n = 0;
  while (test(n)) n++;
  return n;
}

export function inferUnetConfig(unet: WeightSource, hints: ConfigHints): UnetConfig {
  const conv = shapeOf(unet, 'conv_in.weight');
  const levels = countWhile((i) => unet.has(`down_blocks.${i}.resnets.0.conv1.weight`));
  const blockOutChannels = Array.from({ length: levels }, (_, i) => shapeOf(unet, `down_blocks.${i}.resnets.0.conv1.weight`)[0]);
  const attentionLevels = blockOutChannels.map((_, i) => unet.has(`down_blocks.${i}.attentions.0.proj_in.weight`));
  const first = attentionLevels.indexOf(true);
  const block = `down_blocks.${first}.attentions.0`;
  return {
    inChannels: conv[1],
    outChannels: shapeOf(unet, 'conv_out.weight')[0],
    blockOutChannels,
    layersPerBlock: countWhile((j) => unet.has(`down_blocks.0.resnets.${j}.conv1.weight`)),
    attentionLevels,
    heads: inferHeads(blockOutChannels, hints),
    transformerDepth: first < 0 ? 0 : countWhile((k) => unet.has(`${block}.transformer_blocks.${k}.norm1.weight`)),
    crossAttentionDim: first < 0 ? 0 : shapeOf(unet, `${block}.transformer_blocks.0.attn2.to_k.weight`)[1],
    timeEmbedDim: shapeOf(unet, 'time_embedding.linear_1.weight')[0],
    normGroups: 32,
    useLinearProjection: first >= 0 && shapeOf(unet, `${block}.proj_in.weight`).length === 2,
  };
}

/**
 * UNet heads per level (rule): diffusers `attention_head_dim` / LDM `num_heads` when given (a number is
 * the head count of every level); LDM `num_head_channels` divides the widths; otherwise SD1.5's 8.
 */
function inferHeads(widths: number[], hints: ConfigHints): number[] {
  if (Array.isArray(hints.unetHeads)) return [...hints.unetHeads];
  if (typeof hints.unetHeads === 'number' && hints.unetHeads > 0) return widths.map(() => hints.unetHeads as number);
  if (hints.unetHeadChannels && hints.unetHeadChannels > 0) return widths.map((w) => w / (hints.unetHeadChannels as number));
  return widths.map(() => 8);
}

export function inferVaeConfig(vae: WeightSource, hints: ConfigHints): VaeConfig {
  const levels = countWhile((i) => vae.has(`encoder.down_blocks.${i}.resnets.0.conv1.weight`));
  return {
    inChannels: shapeOf(vae, 'encoder.conv_in.weight')[1],
    blockOutChannels: Array.from({ length: levels }, (_, i) => shapeOf(vae, `encoder.down_blocks.${i}.resnets.0.conv1.weight`)[0]),
    layersPerBlock: countWhile((j) => vae.has(`encoder.down_blocks.0.resnets.${j}.conv1.weight`)),
    latentChannels: shapeOf(vae, 'post_quant_conv.weight')[0],
    normGroups: 32,
    scalingFactor: hints.scalingFactor ?? 0.18215,
  };
}

/** Head counts of the published CLIP text transformers, by width (ViT-B 512, ViT-L 768, ViT-H 1024, ViT-bigG 1280). */
const STANDARD_CLIP_HEADS: Readonly<Record<number, number>> = { 512: 8, 768: 12, 1024: 16, 1280: 20 };

/** A number weight shapes cannot tell and no config file beside the model gives. */
export class MissingConfigError extends Error {}

/**
 * CLIP heads: a config file's number when one says; else the head count of the published CLIP of that width.
 * Any other width is refused: a guess would silently build a different network.
 */
export function clipHeads(hidden: number, hints: ConfigHints): number {
  if (hints.clipHeads) return hints.clipHeads;
  const standard = STANDARD_CLIP_HEADS[hidden];
  if (standard) return standard;
  throw new MissingConfigError(`the text encoder is ${hidden} wide, which is no published CLIP width (${Object.keys(STANDARD_CLIP_HEADS).join(', ')}), `
    + 'so its attention head count cannot be told from the weights');
}

export function inferClipConfig(clip: WeightSource, hints: ConfigHints): ClipTextConfig {
  const [vocabSize, hiddenSize] = shapeOf(clip, 'text_model.embeddings.token_embedding.weight');
  return {
    vocabSize,
    hiddenSize,
    layers: countWhile((i) => clip.has(`text_model.encoder.layers.${i}.layer_norm1.weight`)),
    heads: clipHeads(hiddenSize, hints),
    intermediateSize: shapeOf(clip, 'text_model.encoder.layers.0.mlp.fc1.weight')[0],
    maxPositions: shapeOf(clip, 'text_model.embeddings.position_embedding.weight')[0],
    layerNormEps: 1e-5,
  };
}
