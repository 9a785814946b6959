// SD1.5 UNet2DConditionModel as an ONNX graph, reading like diffusers 0.30.3 (the goldens' version)
// `models/unets/unet_2d_condition.py` `forward`; the blocks are in unet-layers.ts. sd15-reference.md §1;
// variants: unet-variant.ts.
import { GraphBuilder, Module, conv2d, groupNorm, silu, add, concat, cachedModel } from '../../onnx/index.ts';
import type { Value } from '../../onnx/index.ts';
import type { Checkpoint } from '../checkpoint/checkpoint.ts';
import type { UnetConfig } from '../checkpoint/config.ts';
import { variantExtras, checkVariant, variantFingerprints, variantKey } from './unet-variant.ts';
import { UNET_INPUT, UNET_OUTPUT } from './unet-io.ts';
import type { UnetVariant } from './unet-variant.ts';
import { timestepEmbedding, downBlock, midBlock, upBlock, RESNET_EPS } from './unet-layers.ts';
import type { Forward, UnetInputs, UnetExtras } from './unet-layers.ts';

export type { UnetVariant, EaaVariant, ControlnetVariant } from './unet-variant.ts';

/** Bump when the graph this file emits changes for the same checkpoint and variant (graph cache key). */
export const UNET_GRAPH_VERSION = 'unet-2';

// ---------- model ----------

export type { UnetInputs } from './unet-layers.ts';

/** UNet2DConditionModel.forward on graph values; returns the predicted noise [B,4,H,W]. */
export function unetForward(root: Module, inputs: UnetInputs, config: UnetConfig, extras: UnetExtras): Value {
  // 1. time: [B] → temb [B,timeEmbedDim]
  const temb = timestepEmbedding(root.at('time_embedding'), inputs.timestep, config.blockOutChannels[0]);
  const fwd: Forward = { config, temb, text: inputs.encoderHiddenStates, extras };

  // 2. pre-process: [B,4,H,W] (+ [B,5,H,W] inpainting concat) → [B,C0,H,W]
  const x = inputs.concat ? concat([inputs.sample, inputs.concat], 1) : inputs.sample;
  let h = conv2d(root.at('conv_in'), x, { pad: 1 });

  // 3. down: [B,C0,H,W] → [B,C3,H/8,W/8]; skips s0…s11 in push order
  const skips: Value[] = [h];
  config.blockOutChannels.forEach((_, i) => {
    h = downBlock(root.at(`down_blocks.${i}`), h, i, fwd, skips);
  });
  const { downResidual, midResidual } = extras; // ControlNet
  if (downResidual) skips.forEach((skip, k) => { skips[k] = add(skip, downResidual(k, skip)); });

  // 4. mid: [B,C3,H/8,W/8] → same
  h = midBlock(root.at('mid_block'), h, fwd);
  if (midResidual) h = add(h, midResidual(h));

  // 5. up: [B,C3,H/8,W/8] → [B,C0,H,W], consuming the skips last-in first-out
  config.blockOutChannels.forEach((_, i) => {
    h = upBlock(root.at(`up_blocks.${i}`), h, i, fwd, skips);
  });

  // 6. post-process: [B,C0,H,W] → [B,4,H,W]
  h = silu(groupNorm(root.at('conv_norm_out'), h, { groups: config.normGroups, eps: RESNET_EPS }));
  return conv2d(root.at('conv_out'), h, { pad: 1 });
}

/**
 * The UNet graph of a checkpoint. Inputs: `sample` [B,4,H,W] float32, `timestep` [B] float32 (one per row),
 * `encoder_hidden_states` [B,S,Ctx] float32, and for an inpainting UNet (conv_in wider than the latent)
 * `concat` [B,in−4,H,W] (mask, masked-image latent). Output: `out` [B,4,H,W], plus what the variant adds
 * (unet-variant.ts). Names: unet-io.ts.
 */
export function buildUnetGraph(checkpoint: Pick<Checkpoint, 'unet' | 'config'>, variant: UnetVariant = {}): GraphBuilder {
  const { config } = checkpoint;
  checkVariant(config.unet, variant);
  const g = new GraphBuilder({ name: 'unet', compute: variant.compute ?? 'float32' });
  const latentChannels = config.unet.outChannels;
  const concatChannels = config.unet.inChannels - latentChannels;
  const inputs: UnetInputs = {
    sample: g.input(UNET_INPUT.sample, 'float32', ['B', latentChannels, 'H', 'W']),
    // The sinusoid needs float32 even in a float16 graph (timesteps up to 999 feed cos/sin).
    timestep: g.input(UNET_INPUT.timestep, 'float32', ['B'], { keepFloat32: true }),
    encoderHiddenStates: g.input(UNET_INPUT.encoderHiddenStates, 'float32', ['B', 'S', config.unet.crossAttentionDim]),
    ...(concatChannels > 0 ? { concat: g.input(UNET_INPUT.concat, 'float32', ['B', concatChannels, 'H', 'W']) } : {}),
  };
  const extras = variantExtras(g, config.unet, variant, inputs);
  g.output(unetForward(new Module(g, checkpoint.unet, ''), inputs, config.unet, extras), UNET_OUTPUT);
  extras.finish();
  return g;
}

/** Path of the built UNet model in the graph cache (built on first use); `built` says whether it was built now. */
export function unetModelPath(cacheDir: string, checkpoint: Checkpoint, variant: UnetVariant = {}): { path: string; built: boolean } {
  // Each patch contributes its spec (inside `variant`) and the fingerprints of the files it reads.
  return cachedModel(cacheDir, {
    name: 'unet',
    checkpoints: [checkpoint.fingerprint, ...variantFingerprints(variant)],
    variant: { version: UNET_GRAPH_VERSION, options: variantKey(variant), config: checkpoint.config.unet },
  }, () => buildUnetGraph(checkpoint, variant));
}
