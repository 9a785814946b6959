// Embedded Attention Adapter inside the UNet graph (inv-adapter.md §3; file format §5): per transformer
// block, the reference features F_s / F_c as graph inputs, adapter weights read in place from the adapter
// file, and σ per batch row and side as inputs, so gating needs no rebuild.
import { Module, linear, attention, matmul, add, mul, reshape, expand, slice, openSafetensors, safetensorsSource } from '../../onnx/index.ts';
import type { GraphBuilder, Value, WeightSource } from '../../onnx/index.ts';
import type { UnetConfig } from '../checkpoint/config.ts';
import type { BlockExtras } from '../unet/unet-layers.ts';
import { transformerBlocks } from '../unet/unet-blocks.ts';

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
  const selfFeatures = g.input(`eaa.${b.block}.self`, 'float32', [1, s, b.width]);
  const crossFeatures = g.input(`eaa.${b.block}.cross`, 'float32', [1, s, b.width]);
  // σ_b = σ·w_b per row: w_b = 1 leaves σ bit-identical, w_b = 0 turns the block's adapter off exactly.
  const weight = slice(b.sigma.blockWeights, 0, b.index, b.index + 1);
  const sigmaSelf = mul(b.sigma.self, weight);
  const sigmaCross = mul(b.sigma.cross, weight);
  // The mask multiplies the adapter term per query token (1 keeps it bit-identical, 0 removes it).
  const masked = (term: Value, query: Value) => (b.mask ? mul(term, b.mask(query.shape[1])) : term);
  return {
    selfAdapter: (query) => scaleRows(masked(referenceAttention(m.at('self'), query, selfFeatures, b.heads), query), sigmaSelf),
    crossAdapter: (query) => scaleRows(masked(referenceAttention(m.at('cross'), query, aggregate(m.at('cross.aggregate'), crossFeatures), b.heads), query), sigmaCross),
  };
}
