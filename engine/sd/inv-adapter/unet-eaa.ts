// Embedded Attention Adapter inside the UNet graph, in its two modes: with an adapter file, the paper's
// additive form (inv-adapter.md §3; file format §5) — the reference features F_s / F_c as graph inputs and the
// adapter weights read in place; without one, the training-free reference attention of §5 — one softmax over
// the generation's and the reference's attn1 keys, the reference logits biased by ln σ. σ per batch row (and
// side) is a graph input either way, so gating needs no rebuild.
import {
  Module, linear, attention, matmul, add, mul, reshape, expand, slice, concat, clamp, unary, greater, where, floatConst,
  openSafetensors, safetensorsSource, checkpointFingerprint,
} from '../../onnx/index.ts';
import type { GraphBuilder, Value, WeightSource } from '../../onnx/index.ts';
import type { UnetConfig } from '../checkpoint/config.ts';
import type { BlockExtras, AttentionParts } from '../unet/unet-layers.ts';
import { transformerBlocks, requireOneTransformerBlock } from '../unet/unet-blocks.ts';
import { defineGraphPatch } from '../unet/graph-patch.ts';
import { EAA_INPUT } from './eaa-io.ts';

/**
 * UnetVariant `eaa`: the Embedded Attention Adapter. Extra inputs (names: eaa-io.ts): `eaa.<block>.self` [1,R,C] —
 * the reference branch's F_s (as recorded by `recordFeatures` on a batch-1 pass), `eaa.sigma_self` [B] — σ per
 * row, so CFG rows and start/end gating need no rebuild — and `eaa.block_weights` [blocks]. With an adapter file
 * (the paper's additive form, §3) also `eaa.<block>.cross` [1,s,C] and `eaa.sigma_cross` [B]; the reference token
 * count s is the file's. Without one (training-free reference attention, §5) R is free per block (any reference
 * size) and there is no cross side. Either way σ = 0 gives the base output bitwise: O + 0·O_p = O for finite O_p
 * (additive), and the original attention result is selected where σ = 0 (reference attention).
 */
export interface EaaVariant {
  /** Adapter .safetensors (inv-adapter.md §5); its weights are read in place as external data. Absent: the
   *  training-free reference attention of §5. */
  adapterPath?: string;
  /** Also takes `eaa.mask.level<l>` [1,S_l,1] per resolution level: the adapter acts token by token in
   *  proportion to it (an attention mask: where in the image the identity acts). */
  masked?: boolean;
}

export interface EaaAdapter {
  path: string;
  source: WeightSource;
  /** Aggregated cross tokens s_c. */
  tokens: number;
  /** Reference tokens s per block (columns of its aggregate matrix). */
  referenceTokens: Map<string, number>;
}

export class EaaAdapterError extends Error {}

function expectShape(path: string, key: string, found: readonly number[] | undefined, wanted: readonly number[]): void {
  if (!found) throw new EaaAdapterError(`adapter ${path} has no tensor '${key}'; it is not an Inv-Adapter file for this model`);
  if (found.length !== wanted.length || found.some((d, i) => d !== wanted[i])) {
    throw new EaaAdapterError(
      `adapter ${path}: '${key}' is [${found.join(',')}] but this model needs [${wanted.join(',')}]; the adapter was made for another base model`,
    );
  }
}

/** Opens an adapter file and checks every key against the UNet's blocks (first mismatch named). */
export function openEaaAdapter(path: string, config: UnetConfig): EaaAdapter {
  const file = openSafetensors(path);
  if (file.metadata.format !== 'inv-adapter') {
    throw new EaaAdapterError(`${path} is not an Inv-Adapter file (__metadata__.format is ${JSON.stringify(file.metadata.format)}, expected "inv-adapter")`);
  }
  const shapeOf = (key: string) => file.tensors.get(key)?.shape;
  const first = transformerBlocks(config)[0];
  const tokens = shapeOf(`${first.name}.cross.aggregate.bias`)?.[0] ?? 0;
  const referenceTokens = new Map<string, number>();
  for (const { name, width } of transformerBlocks(config)) {
    for (const key of ['self.to_k', 'self.to_v', 'cross.to_k', 'cross.to_v']) expectShape(path, `${name}.${key}.weight`, shapeOf(`${name}.${key}.weight`), [width, width]);
    expectShape(path, `${name}.cross.aggregate.bias`, shapeOf(`${name}.cross.aggregate.bias`), [tokens]);
    const aggregate = shapeOf(`${name}.cross.aggregate.weight`);
    expectShape(path, `${name}.cross.aggregate.weight`, aggregate, [tokens, aggregate?.[1] ?? 0]);
    referenceTokens.set(name, aggregate![1]);
  }
  return { path, source: safetensorsSource(file), tokens, referenceTokens };
}

/** MHA(query, F·W_kᵀ, F·W_vᵀ): the block's query over reference tokens (batch 1, shared by every row). */
function referenceAttention(m: Module, query: Value, features: Value, heads: number): Value {
  const key = linear(m.at('to_k'), features); // [1,s,C]
  const value = linear(m.at('to_v'), features);
  const rows = [query.shape[0], key.shape[1], key.shape[2]];
  // MultiHeadAttention needs equal batch sizes for q, k and v (onnxruntime 1.30).
  return attention(query, expand(key, rows), expand(value, rows), { heads });
}

/** Token aggregation G = A·F_c + a over the sequence axis: [1,s,C] → [1,s_c,C]. */
function aggregate(m: Module, features: Value): Value {
  const weight = m.param('weight'); // [s_c,s]
  const bias = m.param('bias'); // [s_c], added to every channel of its row
  return add(matmul(weight, features), reshape(bias, [bias.shape[0], 1]));
}

/** σ per row [B] times an adapter term [B,S,C]. */
function scaleRows(term: Value, sigma: Value): Value {
  return mul(term, reshape(sigma, [sigma.shape[0], 1, 1]));
}

export interface EaaBlock {
  block: string;
  /** Position in the canonical block order (its entry in `sigma.blockWeights`). */
  index: number;
  width: number;
  heads: number;
  /** σ per row and side [B], and the per-block factors [blocks]. */
  sigma: { self: Value; cross: Value; blockWeights: Value };
  /** The attention mask of this block's level, [1,S,1] for S query tokens (masked variant only). */
  mask?: (tokens: Value['shape'][number]) => Value;
}

/** Inputs `eaa.<block>.self` / `.cross` and the σ-scaled adapter terms for one transformer block. */
export function eaaBlockExtras(g: GraphBuilder, adapter: EaaAdapter, b: EaaBlock): BlockExtras {
  const s = adapter.referenceTokens.get(b.block);
  if (s === undefined) throw new EaaAdapterError(`adapter ${adapter.path} has no weights for block ${b.block}`);
  const m = new Module(g, adapter.source, b.block, 'eaa.');
  const selfFeatures = g.input(EAA_INPUT.features(b.block, 'self'), 'float32', [1, s, b.width]);
  const crossFeatures = g.input(EAA_INPUT.features(b.block, 'cross'), 'float32', [1, s, b.width]);
  // σ_b = σ·w_b per row: w_b = 1 leaves σ bit-identical, w_b = 0 turns the block's adapter off exactly.
  const weight = slice(b.sigma.blockWeights, 0, b.index, b.index + 1);
  const sigmaSelf = mul(b.sigma.self, weight);
  const sigmaCross = mul(b.sigma.cross, weight);
  // The mask multiplies the adapter term per query token (1 keeps it bit-identical, 0 removes it).
  const masked = (term: Value, query: Value) => (b.mask ? mul(term, b.mask(query.shape[1])) : term);
  return {
    selfAdapter: ({ query, out }: AttentionParts) => add(out, scaleRows(masked(referenceAttention(m.at('self'), query, selfFeatures, b.heads), query), sigmaSelf)),
    crossAdapter: ({ query, out }: AttentionParts) => add(out, scaleRows(masked(referenceAttention(m.at('cross'), query, aggregate(m.at('cross.aggregate'), crossFeatures), b.heads), query), sigmaCross)),
  };
}

export interface ReferenceBlock extends Omit<EaaBlock, 'sigma'> {
  sigma: { self: Value; blockWeights: Value };
}

/** Smallest σ that enters ln σ (σ = 0 itself selects the original result, so its bias never matters; finite
 *  biases keep 0·bias products in the attention's dot products finite). */
const minSigma = (v: Value): number => (v.dtype === 'float32' ? 1e-30 : 1e-4);

/**
 * Per head, append `extra` channels to x [B,N,C] (C = heads·hd): [B,N,heads·(hd+extra)]. `channels` is
 * [B or 1, N or 1, 1, extra] (broadcast to every head).
 */
function appendHeadChannels(x: Value, heads: number, channels: Value): Value {
  const [batch, tokens, width] = x.shape;
  const hd = (width as number) / heads;
  const extra = channels.shape[3] as number;
  const split = reshape(x, [batch, tokens, heads, hd]);
  const joined = concat([split, expand(channels, [batch, tokens, heads, extra])], 3);
  return reshape(joined, [batch, tokens, heads * (hd + extra)]);
}

/**
 * Training-free reference attention (inv-adapter.md §5), self side of one block: K = [K_gen ; F_s W_k],
 * V = [V_gen ; F_s W_v] with the block's own attn1 weights, logits of the reference keys biased by
 * ln(σ·w_b·m) — σ per row, w_b the block weight, m the mask per query token — and ONE softmax over both.
 * The bias enters the dot products through extra head channels: the query gets [1, ln m] (or [1]),
 * reference keys [√hd·ln(σ·w_b), √hd] and generation keys zeros, so that scale·(q·k) gains exactly
 * ln σ_b + ln m on reference keys and nothing on generation keys. Where σ·w_b·m = 0 the original attention
 * result is selected, so σ = 0 is the base model bitwise. Input `eaa.<block>.self` [1,R_b,C] with R_b free:
 * the reference may have another size than the generation.
 */
export function referenceBlockExtras(g: GraphBuilder, b: ReferenceBlock): BlockExtras {
  const features = g.input(EAA_INPUT.features(b.block, 'self'), 'float32', [1, `R${b.index}`, b.width]);
  const weight = slice(b.sigma.blockWeights, 0, b.index, b.index + 1);
  const sigmaRow = mul(b.sigma.self, weight); // [B]
  const hd = b.width / b.heads;
  const rootHd = Math.sqrt(hd);
  return {
    selfAdapter: ({ query, key, value, out, project }: AttentionParts) => {
      const [batch, tokens] = query.shape;
      const mask = b.mask?.(tokens); // [1,S,1]
      const rows = reshape(sigmaRow, [sigmaRow.shape[0], 1, 1]); // [B,1,1]
      const gate = mask ? mul(rows, mask) : rows; // σ·w_b·m per row and query token, [B,S or 1,1]
      const ref = project(features); // [1,R,C] each
      const refTokens = ref.key.shape[1];
      const lnSigma = mul(unary('Log', clamp(rows, minSigma(rows), 3.0e38)), rootHd); // [B,1,1]
      const one = floatConst(g, [1], [1, 1, 1, 1]);
      const rootConst = floatConst(g, [rootHd], [1, 1, 1, 1]);
      const queryChannels = mask
        ? concat([expand(one, [1, tokens, 1, 1]), reshape(unary('Log', clamp(mask, minSigma(mask), 3.0e38)), [1, tokens, 1, 1])], 3)
        : one;
      const refChannels = mask
        ? concat([reshape(lnSigma, [batch, 1, 1, 1]), expand(rootConst, [batch, 1, 1, 1])], 3)
        : reshape(lnSigma, [batch, 1, 1, 1]);
      const extra = mask ? 2 : 1;
      const zeros = floatConst(g, new Array<number>(extra).fill(0), [1, 1, 1, extra]);
      const q = appendHeadChannels(query, b.heads, expand(queryChannels, [1, tokens, 1, extra]));
      const kGen = appendHeadChannels(key, b.heads, zeros);
      const kRef = appendHeadChannels(expand(ref.key, [batch, refTokens, b.width]), b.heads, expand(refChannels, [batch, 1, 1, extra]));
      const joinedDim = `T${b.index}`;
      const k = concat([kGen, kRef], 1, joinedDim);
      const v = concat([value, expand(ref.value, [batch, refTokens, b.width])], 1, joinedDim);
      const joint = attention(q, k, v, { heads: b.heads, scale: 1 / rootHd });
      return where(greater(gate, 0), joint, out);
    },
  };
}

/** The `eaa` graph patch: σ inputs shared by every block, then each block's adapter terms. */
export const eaaGraphPatch = defineGraphPatch({
  name: 'eaa',
  check: (config, _spec: EaaVariant) => requireOneTransformerBlock(config),
  fingerprints: (spec) => (spec.adapterPath ? [checkpointFingerprint(openSafetensors(spec.adapterPath))] : []),
  build(g, config, spec) {
    const adapter = spec.adapterPath ? openEaaAdapter(spec.adapterPath, config) : null;
    const blocks = transformerBlocks(config);
    const names = blocks.map((b) => b.name);
    const sigma = {
      self: g.input(EAA_INPUT.sigmaSelf, 'float32', ['B']),
      // No cross side without an adapter file (inv-adapter.md §5, training-free mode).
      cross: adapter ? g.input(EAA_INPUT.sigmaCross, 'float32', ['B']) : null,
      // One factor per transformer block (canonical order), multiplying both sides' σ: per-block strength.
      blockWeights: g.input(EAA_INPUT.blockWeights, 'float32', [blocks.length]),
    };
    // One mask input per resolution level, declared when a block of that level first asks (its token dim).
    const masks = new Map<number, Value>();
    const maskFor = (level: number, tokens: Value['shape'][number]): Value => {
      let mask = masks.get(level);
      if (!mask) {
        mask = g.input(EAA_INPUT.mask(level), 'float32', [1, tokens, 1]);
        masks.set(level, mask);
      }
      return mask;
    };
    const levels = new Map(blocks.map((b) => [b.name, b.level]));
    return {
      block(block, width, heads) {
        const index = names.indexOf(block);
        const level = levels.get(block) ?? 0;
        const mask = spec.masked ? (tokens: Value['shape'][number]) => maskFor(level, tokens) : undefined;
        if (adapter && sigma.cross) return eaaBlockExtras(g, adapter, { block, index, width, heads, sigma: { ...sigma, cross: sigma.cross }, mask });
        return referenceBlockExtras(g, { block, index, width, heads, sigma, mask });
      },
    };
  },
});
