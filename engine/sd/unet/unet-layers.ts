// The SD1.5 UNet's building blocks as graph functions, in diffusers' order: time embedding, ResnetBlock2D,
// Transformer2DModel / BasicTransformerBlock with its attentions and GEGLU feed-forward, down/up sampling and
// the down/mid/up blocks (diffusers 0.30.3 `unet_2d_blocks.py`, `resnet.py`, `attention.py`,
// `transformers/transformer_2d.py`; sd15-reference.md §1). unet.ts assembles them; controlnet.ts reuses the encoder half.
import {
  Module, conv2d, linear, groupNorm, layerNorm, silu, gelu, attention, add, mul, unary, reshape,
  transpose, concat, split, resizeNearest, floatConst, mulDims,
} from '../../onnx/index.ts';
import type { Value } from '../../onnx/index.ts';
import type { UnetConfig } from '../checkpoint/config.ts';

export const RESNET_EPS = 1e-5; // resnets and conv_norm_out (sd15-reference.md §9.3)
const TRANSFORMER_NORM_EPS = 1e-6; // Transformer2DModel's GroupNorm, hard-coded in diffusers
const LAYER_NORM_EPS = 1e-5;

// The contracts the UNet's builders share live here, at the bottom: unet.ts, unet-variant.ts, graph-patch.ts,
// controlnet/ and inv-adapter/unet-eaa.ts all import them downward.

export interface UnetInputs {
  /** Noisy latent [B,4,H,W]. */
  sample: Value;
  /** Inpainting UNets (conv_in takes 9 channels): [B,5,H,W] = [mask, masked-image latent], concatenated after
   *  `sample` before conv_in (ComfyUI's c_concat, sd/inpaint-concat.ts). */
  concat?: Value;
  /** Timestep per row [B], float32 (fractional timesteps allowed, as k-diffusion samplers produce). */
  timestep: Value;
  /** Text embedding [B,S,Ctx]; S = 77·k for long prompts. */
  encoderHiddenStates: Value;
}

/** What a variant adds inside one transformer block. */
export interface BlockExtras {
  /** Receives the block's norm1 / norm2 outputs. */
  record?(self: Value, cross: Value): void;
  /** The attention result to use before to_out, from the block's own query/key/value and original result. */
  selfAdapter?(parts: AttentionParts): Value;
  crossAdapter?(parts: AttentionParts): Value;
  /** Rewrites the inputs of the self- / cross-attention's to_k and to_v (ComfyUI's attn1_patch / attn2_patch, e.g.
   *  hypernetworks); both start as the attention's context [B,T,Ck]. */
  selfKeyValue?(inputs: KeyValueInputs): KeyValueInputs;
  crossKeyValue?(inputs: KeyValueInputs): KeyValueInputs;
  /** Rewrites the hidden states between the self-attention residual and norm2 (ComfyUI's "middle_patch",
   *  where GLIGEN's gated self-attention goes). [B,S,C] → [B,S,C] */
  afterSelfAttention?(hidden: Value): Value;
}

/** What an attention projects to keys (to_k) and to values (to_v). */
export interface KeyValueInputs {
  key: Value;
  value: Value;
}

/** One attention of a transformer block: its projections [B,S,C] / [B,T,C] and the original result [B,S,C]. */
export interface AttentionParts {
  query: Value;
  key: Value;
  value: Value;
  out: Value;
  /** Key and value of other tokens [1,R,C] with this attention's own to_k / to_v. */
  project(context: Value): { key: Value; value: Value };
}

/** What a variant adds to the whole UNet. */
export interface UnetExtras {
  /** Per Transformer2DModel at module path `block`, of width `width`. */
  block(block: string, width: number, heads: number): BlockExtras;
  /** Residual added to skip `index` (ControlNet). */
  downResidual?(index: number, skip: Value): Value;
  midResidual?(mid: Value): Value;
  /** Adds the outputs collected while building (after the main `out`). */
  finish(): void;
}

/** What every block needs besides its own weights. */
export interface Forward {
  config: UnetConfig;
  /** Time embedding [B,timeEmbedDim]. */
  temb: Value;
  /** encoder_hidden_states [B,S,crossAttentionDim]. */
  text: Value;
  extras: UnetExtras;
}

// ---------- blocks ----------

/** Timesteps + TimestepEmbedding: sinusoid [cos, sin] of width C0, then linear_1 → SiLU → linear_2 (§1.2). */
export function timestepEmbedding(m: Module, timestep: Value, width: number): Value {
  const g = timestep.graph;
  const half = width / 2;
  // flip_sin_to_cos, freq_shift 0: freq_i = exp(−ln(10000)·i / half), rounded to float32 step by step as
  // torch computes it (float32 arange, then divide, then exp).
  const freq = Array.from({ length: half }, (_, i) => Math.fround(Math.exp(Math.fround(Math.fround(-Math.log(10000) * i) / half))));
  const arg = mul(reshape(timestep, [timestep.shape[0], 1]), floatConst(g, freq, [half], 'float32')); // [B,half] float32
  const sinusoid = g.cast(concat([unary('Cos', arg), unary('Sin', arg)], 1), g.compute);
  return linear(m.at('linear_2'), silu(linear(m.at('linear_1'), sinusoid)));
}

/** ResnetBlock2D with temb (time_embedding_norm "default", output_scale_factor 1). [B,Cin,H,W] → [B,Cout,H,W] */
function resnetBlock(m: Module, x: Value, fwd: Forward): Value {
  const norm = { groups: fwd.config.normGroups, eps: RESNET_EPS };
  let h = conv2d(m.at('conv1'), silu(groupNorm(m.at('norm1'), x, norm)), { pad: 1 });
  const t = linear(m.at('time_emb_proj'), silu(fwd.temb)); // [B,Cout]
  h = add(h, reshape(t, [t.shape[0], t.shape[1], 1, 1]));
  h = conv2d(m.at('conv2'), silu(groupNorm(m.at('norm2'), h, norm)), { pad: 1 });
  const shortcut = m.hasParam('conv_shortcut.weight') ? conv2d(m.at('conv_shortcut'), x) : x;
  return add(shortcut, h);
}

/**
 * Attention (diffusers `Attention` + AttnProcessor): Q from `hiddenStates`, K/V from `context`, no q/k/v
 * bias, scale 1/√head_dim, then to_out.0. `adapter` may replace the attention result before to_out, given
 * the block's own query/key/value and that result (EAA, inv-adapter.md §3 and §5). [B,S,C] → [B,S,C]
 */
function crossAttention(
  m: Module, hiddenStates: Value, context: Value, heads: number,
  adapter?: (parts: AttentionParts) => Value, keyValue?: (inputs: KeyValueInputs) => KeyValueInputs,
): Value {
  const query = linear(m.at('to_q'), hiddenStates);
  const inputs = keyValue ? keyValue({ key: context, value: context }) : { key: context, value: context };
  const key = linear(m.at('to_k'), inputs.key);
  const value = linear(m.at('to_v'), inputs.value);
  let out = attention(query, key, value, { heads });
  const project = (other: Value) => ({ key: linear(m.at('to_k'), other), value: linear(m.at('to_v'), other) });
  if (adapter) out = adapter({ query, key, value, out, project });
  return linear(m.at('to_out.0'), out);
}

/** FeedForward with GEGLU: proj to 2×4C, first half × GELU(second half) (exact erf GELU), then 4C → C. */
function feedForward(m: Module, x: Value): Value {
  const proj = linear(m.at('net.0.proj'), x); // [B,S,8C]
  const inner = (proj.shape[2] as number) / 2;
  const [hidden, gate] = split(proj, 2, [inner, inner]);
  return linear(m.at('net.2'), mul(hidden, gelu(gate)));
}

/** BasicTransformerBlock: self-attention, cross-attention on the text, feed-forward, each pre-LayerNorm + residual. */
function basicTransformerBlock(m: Module, x: Value, fwd: Forward, heads: number, extras: BlockExtras): Value {
  const norm = { eps: LAYER_NORM_EPS };
  const n1 = layerNorm(m.at('norm1'), x, norm); // "input to self-attention" (F_s)
  let h = add(crossAttention(m.at('attn1'), n1, n1, heads, extras.selfAdapter, extras.selfKeyValue), x);
  if (extras.afterSelfAttention) h = extras.afterSelfAttention(h);
  const n2 = layerNorm(m.at('norm2'), h, norm); // "input to cross-attention" (F_c)
  h = add(crossAttention(m.at('attn2'), n2, fwd.text, heads, extras.crossAdapter, extras.crossKeyValue), h);
  extras.record?.(n1, n2);
  return add(feedForward(m.at('ff'), layerNorm(m.at('norm3'), h, norm)), h);
}

/** Transformer2DModel (conv proj_in/proj_out, SD1.5's use_linear_projection false). [B,C,H,W] → same */
function transformer2d(m: Module, x: Value, fwd: Forward, heads: number): Value {
  const [b, c, height, width] = x.shape;
  let h = groupNorm(m.at('norm'), x, { groups: fwd.config.normGroups, eps: TRANSFORMER_NORM_EPS });
  h = conv2d(m.at('proj_in'), h);
  h = transpose(reshape(h, [b, c, mulDims(height, width)]), [0, 2, 1]); // tokens [B,H·W,C], index y·W + x
  const extras = fwd.extras.block(m.path, c as number, heads);
  for (let k = 0; k < fwd.config.transformerDepth; k++) h = basicTransformerBlock(m.at(`transformer_blocks.${k}`), h, fwd, heads, extras);
  h = reshape(transpose(h, [0, 2, 1]), x.shape);
  return add(conv2d(m.at('proj_out'), h), x);
}

/** Downsample2D (UNet): 3×3 conv, stride 2, padding 1. [B,C,H,W] → [B,C,⌈H/2⌉,⌈W/2⌉] */
function downsample(m: Module, x: Value): Value {
  return conv2d(m.at('conv'), x, { stride: 2, pad: 1 });
}

/**
 * Upsample2D: nearest to the size of the next skip tensor, then 3×3 conv. That size is 2× except for latents
 * not divisible by 8, where diffusers passes `upsample_size` (§1.4); for an exact 2× both agree.
 */
function upsample(m: Module, x: Value, nextSkip: Value): Value {
  return conv2d(m.at('conv'), resizeNearest(x, { like: nextSkip }), { pad: 1 });
}

/** CrossAttnDownBlock2D / DownBlock2D: resnets (+ transformers), then a downsampler except on the last level. */
export function downBlock(m: Module, h: Value, level: number, fwd: Forward, skips: Value[]): Value {
  const { config } = fwd;
  for (let j = 0; j < config.layersPerBlock; j++) {
    h = resnetBlock(m.at(`resnets.${j}`), h, fwd);
    if (config.attentionLevels[level]) h = transformer2d(m.at(`attentions.${j}`), h, fwd, config.heads[level]);
    skips.push(h);
  }
  if (level < config.blockOutChannels.length - 1) {
    h = downsample(m.at('downsamplers.0'), h);
    skips.push(h);
  }
  return h;
}

/** UNetMidBlock2DCrossAttn: resnet, transformer, resnet. */
export function midBlock(m: Module, h: Value, fwd: Forward): Value {
  const heads = fwd.config.heads[fwd.config.heads.length - 1];
  h = resnetBlock(m.at('resnets.0'), h, fwd);
  h = transformer2d(m.at('attentions.0'), h, fwd, heads);
  return resnetBlock(m.at('resnets.1'), h, fwd);
}

/** CrossAttnUpBlock2D / UpBlock2D: per layer concat([h, skip]) → resnet (+ transformer); upsampler except last. */
export function upBlock(m: Module, h: Value, index: number, fwd: Forward, skips: Value[]): Value {
  const { config } = fwd;
  const level = config.blockOutChannels.length - 1 - index; // the mirrored down level
  for (let j = 0; j <= config.layersPerBlock; j++) {
    const skip = skips.pop() as Value;
    h = resnetBlock(m.at(`resnets.${j}`), concat([h, skip], 1), fwd);
    if (config.attentionLevels[level]) h = transformer2d(m.at(`attentions.${j}`), h, fwd, config.heads[level]);
  }
  if (index < config.blockOutChannels.length - 1) h = upsample(m.at('upsamplers.0'), h, skips[skips.length - 1]);
  return h;
}
