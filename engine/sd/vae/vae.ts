// SD1.5 VAE (AutoencoderKL) encoder and decoder as ONNX graphs. Reference: diffusers 0.30
// `models/autoencoders/vae.py` (Encoder, Decoder), `autoencoder_kl.py`, `resnet.py` (ResnetBlock2D without
// temb), `downsampling.py`, `upsampling.py`, `attention_processor.py` (Attention with group_norm and a
// residual); sd15-reference.md §3. Weight names are diffusers' (`encoder.down_blocks.0.resnets.0.conv1`).
// Latent convention (choice): a graph's `latent` is the SD latent, i.e. the VAE latent × scaling factor;
// the encoder also outputs the posterior `mean`/`logvar` unscaled, the decoder divides by the factor.
import {
  GraphBuilder, Module, conv2d, groupNorm, silu, add, mul, div, attention, linear, reshape, transpose,
  resizeNearest, slice, clamp, mulDims,
} from '../../onnx/index.ts';
import type { Value, ComputeType } from '../../onnx/index.ts';
import type { VaeModel } from '../checkpoint/checkpoint.ts';
import type { VaeConfig } from '../checkpoint/config.ts';

export const VAE_GRAPH_VERSION = 'vae-1';
const EPS = 1e-6; // every VAE GroupNorm (sd15-reference.md §9.3)

export interface VaeOptions {
  /** 'float16' halves memory on GPUs, but SD1.5's VAE is known to overflow in fp16 (diffusers sets
   *  force_upcast): prefer float32 for the VAE unless a fixed fp16 VAE is used. */
  compute?: ComputeType;
}

// ---------- blocks ----------

/** ResnetBlock2D without time embedding: norm1 → SiLU → conv1 → norm2 → SiLU → conv2, + (shortcut) x. */
function resnetBlock(m: Module, x: Value, config: VaeConfig): Value {
  const norm = { groups: config.normGroups, eps: EPS };
  let h = conv2d(m.at('conv1'), silu(groupNorm(m.at('norm1'), x, norm)), { pad: 1 });
  h = conv2d(m.at('conv2'), silu(groupNorm(m.at('norm2'), h, norm)), { pad: 1 });
  const shortcut = m.hasParam('conv_shortcut.weight') ? conv2d(m.at('conv_shortcut'), x) : x;
  return add(shortcut, h);
}

/** Mid-block Attention: GroupNorm, one head over the H·W tokens, to_out, + x. [B,C,H,W] → same */
function attentionBlock(m: Module, x: Value, config: VaeConfig): Value {
  const [b, c, height, width] = x.shape;
  const n = groupNorm(m.at('group_norm'), x, { groups: config.normGroups, eps: EPS });
  const tokens = transpose(reshape(n, [b, c, mulDims(height, width)]), [0, 2, 1]); // [B,H·W,C]
  const q = linear(m.at('to_q'), tokens);
  const k = linear(m.at('to_k'), tokens);
  const v = linear(m.at('to_v'), tokens);
  const out = linear(m.at('to_out.0'), attention(q, k, v, { heads: 1 }));
  return add(reshape(transpose(out, [0, 2, 1]), x.shape), x);
}

/** Encoder Downsample2D: zero-pad right and bottom by one, then 3×3 conv stride 2 (no padding). */
function downsample(m: Module, x: Value): Value {
  return conv2d(m.at('conv'), x, { stride: 2, pad: [0, 0, 1, 1] });
}

/** Upsample2D: nearest ×2, then 3×3 conv. */
function upsample(m: Module, x: Value): Value {
  return conv2d(m.at('conv'), resizeNearest(x, { scale: 2 }), { pad: 1 });
}

function midBlock(m: Module, x: Value, config: VaeConfig): Value {
  const h = resnetBlock(m.at('resnets.0'), x, config);
  return resnetBlock(m.at('resnets.1'), attentionBlock(m.at('attentions.0'), h, config), config);
}

/** Encoder: [B,3,H,W] → moments' source [B,2·latent,H/8,W/8] (before quant_conv). */
function encoder(m: Module, x: Value, config: VaeConfig): Value {
  let h = conv2d(m.at('conv_in'), x, { pad: 1 });
  config.blockOutChannels.forEach((_, i) => {
    for (let j = 0; j < config.layersPerBlock; j++) h = resnetBlock(m.at(`down_blocks.${i}.resnets.${j}`), h, config);
    if (i < config.blockOutChannels.length - 1) h = downsample(m.at(`down_blocks.${i}.downsamplers.0`), h);
  });
  h = midBlock(m.at('mid_block'), h, config);
  h = silu(groupNorm(m.at('conv_norm_out'), h, { groups: config.normGroups, eps: EPS }));
  return conv2d(m.at('conv_out'), h, { pad: 1 });
}

/** Decoder: [B,latent,h,w] → [B,3,8h,8w]; up levels mirror the encoder, one more resnet each. */
function decoder(m: Module, z: Value, config: VaeConfig): Value {
  let h = conv2d(m.at('conv_in'), z, { pad: 1 });
  h = midBlock(m.at('mid_block'), h, config);
  config.blockOutChannels.forEach((_, i) => {
    for (let j = 0; j <= config.layersPerBlock; j++) h = resnetBlock(m.at(`up_blocks.${i}.resnets.${j}`), h, config);
    if (i < config.blockOutChannels.length - 1) h = upsample(m.at(`up_blocks.${i}.upsamplers.0`), h);
  });
  h = silu(groupNorm(m.at('conv_norm_out'), h, { groups: config.normGroups, eps: EPS }));
  return conv2d(m.at('conv_out'), h, { pad: 1 });
}

// ---------- models ----------

/**
 * Input `image` [B,3,H,W] in [-1,1] (H, W multiples of 8). Outputs `mean`, `logvar` (posterior, VAE
 * units, logvar clamped to [-30,20]) and `latent` = mean × scaling factor (what ComfyUI's VAEEncode gives).
 */
export function buildVaeEncoderGraph(checkpoint: VaeModel, options: VaeOptions = {}): GraphBuilder {
  const config = checkpoint.config.vae;
  const g = new GraphBuilder({ name: 'vae_encoder', compute: options.compute });
  const root = new Module(g, checkpoint.vae, '');
  const image = g.input('image', 'float32', ['B', config.inChannels, 'H', 'W']);
  // [B,3,H,W] → [B,2·latent,H/8,W/8]
  const moments = conv2d(root.at('quant_conv'), encoder(root.at('encoder'), image, config));
  const latent = config.latentChannels;
  const mean = slice(moments, 1, 0, latent);
  g.output(mean, 'mean');
  g.output(clamp(slice(moments, 1, latent, 2 * latent), -30, 20), 'logvar');
  g.output(mul(mean, config.scalingFactor), 'latent');
  return g;
}

/** Input `latent` [B,4,h,w] (SD latent, divided by the scaling factor here). Output `image` [B,3,8h,8w], raw. */
export function buildVaeDecoderGraph(checkpoint: VaeModel, options: VaeOptions = {}): GraphBuilder {
  const config = checkpoint.config.vae;
  const g = new GraphBuilder({ name: 'vae_decoder', compute: options.compute });
  const root = new Module(g, checkpoint.vae, '');
  const latent = g.input('latent', 'float32', ['B', config.latentChannels, 'h', 'w']);
  // [B,4,h,w] → [B,3,8h,8w]
  const z = conv2d(root.at('post_quant_conv'), div(latent, config.scalingFactor));
  g.output(decoder(root.at('decoder'), z, config), 'image');
  return g;
}
