// CLIP ViT-L/14 text encoder as an ONNX graph. Reference: Hugging Face transformers `CLIPTextModel`
// (models/clip/modeling_clip.py: CLIPTextEmbeddings, CLIPEncoderLayer, CLIPAttention, CLIPMLP), which
// diffusers' StableDiffusionPipeline uses; sd15-reference.md §4.1. Weight names are HF's (`text_model.*`).
import {
  GraphBuilder, Module, embedding, embeddingWithExtra, layerNorm, linear, attention, quickGelu, add, argMax, gatherNd,
} from '../../onnx/index.ts';
import type { Value, ComputeType } from '../../onnx/index.ts';
import type { Checkpoint } from '../checkpoint/checkpoint.ts';
import type { ClipTextConfig } from '../checkpoint/config.ts';

export const CLIP_TEXT_GRAPH_VERSION = 'clip-text-1';

export interface ClipTextOptions {
  /**
   * Also output `hidden_state`: the output of this encoder layer with the final LayerNorm applied,
   * counted like ComfyUI's CLIPSetLastLayer (-1 = last layer, -2 = penultimate = "clip skip 2").
   */
  stopAtLayer?: number;
  /** Also output `pooled_output` [B,C]: last_hidden_state at the first EOS token (argmax of ids). */
  pooled?: boolean;
  /** Also output `hidden_states.<i>` for i = 0…layers: the embeddings, then each encoder layer's output
   *  before the final LayerNorm (transformers' output_hidden_states; parity checks use them). */
  hiddenStates?: boolean;
  /** Also take `extra_embeddings` [n, C] (textual inversion): ids from the vocabulary size on pick its rows. */
  extraEmbeddings?: number;
  compute?: ComputeType;
}

// ---------- blocks ----------

/** CLIPTextEmbeddings: token_embedding(ids) + position_embedding(0..S-1). [B,S] → [B,S,C] */
function embeddings(m: Module, inputIds: Value, extra?: Value): Value {
  const tokens = extra ? embeddingWithExtra(m.at('token_embedding'), inputIds, extra) : embedding(m.at('token_embedding'), inputIds);
  // Positions are always 0..S-1 in order (position_ids buffers in checkpoints are ignored, §2.2).
  return add(tokens, m.at('position_embedding').param('weight'));
}

/** CLIPAttention: causal multi-head self-attention; q/k/v/out projections all have bias. */
function selfAttention(m: Module, x: Value, config: ClipTextConfig): Value {
  const q = linear(m.at('q_proj'), x);
  const k = linear(m.at('k_proj'), x);
  const v = linear(m.at('v_proj'), x);
  return linear(m.at('out_proj'), attention(q, k, v, { heads: config.heads, causal: true }));
}

/** CLIPMLP: fc1 → quick_gelu → fc2. */
function mlp(m: Module, x: Value): Value {
  return linear(m.at('fc2'), quickGelu(linear(m.at('fc1'), x)));
}

/** CLIPEncoderLayer (pre-LayerNorm). [B,S,C] → [B,S,C] */
function encoderLayer(m: Module, x: Value, config: ClipTextConfig): Value {
  const eps = { eps: config.layerNormEps };
  const h = add(x, selfAttention(m.at('self_attn'), layerNorm(m.at('layer_norm1'), x, eps), config));
  return add(h, mlp(m.at('mlp'), layerNorm(m.at('layer_norm2'), h, eps)));
}

// ---------- model ----------

/**
 * Graph inputs: `input_ids` int64 [B, maxPositions]. Outputs: `last_hidden_state` [B,S,C] (after
 * final_layer_norm), plus `hidden_state` and `pooled_output` per options.
 */
export function buildClipTextGraph(checkpoint: Checkpoint, options: ClipTextOptions = {}): GraphBuilder {
  const config = checkpoint.config.clip;
  const stop = options.stopAtLayer ?? -1;
  if (!Number.isInteger(stop) || stop > -1 || stop < -config.layers) {
    throw new RangeError(`stopAtLayer ${stop} is out of range: use -1 (last layer) to -${config.layers}`);
  }
  const g = new GraphBuilder({ name: 'clip_text', compute: options.compute });
  const model = new Module(g, checkpoint.textEncoder, 'text_model');
  const finalNorm = (x: Value) => layerNorm(model.at('final_layer_norm'), x, { eps: config.layerNormEps });

  // 1. embeddings  [B,S] → [B,S,C]
  const inputIds = g.input('input_ids', 'int64', ['B', config.maxPositions]);
  const extra = options.extraEmbeddings ? g.input('extra_embeddings', 'float32', [options.extraEmbeddings, config.hiddenSize]) : undefined;
  let hidden = embeddings(model.at('embeddings'), inputIds, extra);
  const everyHidden: Value[] = [hidden];
  // 2. encoder layers; keep the one CLIPSetLastLayer asks for (-1 → index layers-1)
  let kept: Value | null = null;
  for (let i = 0; i < config.layers; i++) {
    hidden = encoderLayer(model.at(`encoder.layers.${i}`), hidden, config);
    everyHidden.push(hidden);
    if (i === config.layers + stop) kept = hidden;
  }
  // 3. final LayerNorm and outputs  [B,S,C]
  const last = finalNorm(hidden);
  g.output(last, 'last_hidden_state');
  if (options.stopAtLayer !== undefined && kept) g.output(stop === -1 ? last : finalNorm(kept), 'hidden_state');
  if (options.pooled) g.output(gatherNd(last, argMax(inputIds, 1), 1), 'pooled_output');
  if (options.hiddenStates) everyHidden.forEach((h, i) => g.output(h, `hidden_states.${i}`));
  return g;
}
