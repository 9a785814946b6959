// The training graph of one transformer block with the Embedded Attention Adapter in the paper's
// additive form (inv-adapter.md §3): the block's own weights are frozen graph inputs (never
// differentiated), the adapter's six tensors per block (§5 keys) are the only parameters. Forward +
// loss + adapter gradients are one graph. This is the block-level building piece of the UNet training
// step; the full UNet step (every block, resnets, timestep embedding) is not built yet.
import type { Value } from '../onnx/index.ts';
import { GraphBuilder } from '../onnx/index.ts';
import { Tape, ad } from '../autodiff/index.ts';

export interface BlockDims {
  batch: number;
  /** Image tokens s (a square grid) and width d. */
  tokens: number;
  width: number;
  heads: number;
  /** Aggregated reference tokens s_c (a square grid). */
  aggTokens: number;
  textTokens: number;
  textWidth: number;
}

/** Frozen weights of a diffusers BasicTransformerBlock, name → shape. */
export function frozenShapes(d: BlockDims): Record<string, number[]> {
  const w = d.width;
  return {
    'norm1.weight': [w], 'norm1.bias': [w],
    'attn1.to_q.weight': [w, w], 'attn1.to_k.weight': [w, w], 'attn1.to_v.weight': [w, w],
    'attn1.to_out.0.weight': [w, w], 'attn1.to_out.0.bias': [w],
    'norm2.weight': [w], 'norm2.bias': [w],
    'attn2.to_q.weight': [w, w], 'attn2.to_k.weight': [w, d.textWidth], 'attn2.to_v.weight': [w, d.textWidth],
    'attn2.to_out.0.weight': [w, w], 'attn2.to_out.0.bias': [w],
    'norm3.weight': [w], 'norm3.bias': [w],
    'ff.net.0.proj.weight': [8 * w, w], 'ff.net.0.proj.bias': [8 * w],
    'ff.net.2.weight': [w, 4 * w], 'ff.net.2.bias': [w],
  };
}

/** Adapter tensors of one block (§5 keys without the block prefix), name → shape. */
export function adapterShapes(d: BlockDims): Record<string, number[]> {
  const w = d.width;
  return {
    'self.to_k.weight': [w, w], 'self.to_v.weight': [w, w],
    'cross.to_k.weight': [w, w], 'cross.to_v.weight': [w, w],
    'cross.aggregate.weight': [d.aggTokens, d.tokens], 'cross.aggregate.bias': [d.aggTokens],
  };
}

/** Activations fed per step: x, text C, reference features F_s / F_c, and the regression target. */
export function dataShapes(d: BlockDims): Record<string, number[]> {
  return {
    x: [d.batch, d.tokens, d.width], context: [d.batch, d.textTokens, d.textWidth],
    ref_self: [d.batch, d.tokens, d.width], ref_cross: [d.batch, d.tokens, d.width], target: [d.batch, d.tokens, d.width],
  };
}

/** The block's forward with the adapter at strength σ (taped: gradients reach only `adapter`). */
export function eaaBlockForward(
  t: Tape, d: BlockDims, f: Record<string, Value>, a: Record<string, Value>, io: Record<string, Value>, sigma: number,
): Value {
  const lin = (x: Value, key: string, bias = true): Value => ad.linear(t, x, f[`${key}.weight`], bias ? f[`${key}.bias`] : null);
  const norm = (x: Value, key: string): Value => ad.layerNorm(t, x, f[`${key}.weight`], f[`${key}.bias`], 1e-5);
  const { x } = io;
  const n1 = norm(x, 'norm1');
  const q1 = lin(n1, 'attn1.to_q', false);
  const os = ad.attention(t, q1, lin(n1, 'attn1.to_k', false), lin(n1, 'attn1.to_v', false), d.heads);
  const osp = ad.attention(t, q1, ad.linear(t, io.ref_self, a['self.to_k.weight'], null), ad.linear(t, io.ref_self, a['self.to_v.weight'], null), d.heads);
  const x1 = ad.add(t, x, lin(ad.add(t, os, ad.mul(t, osp, sigma)), 'attn1.to_out.0'));
  const n2 = norm(x1, 'norm2');
  const q2 = lin(n2, 'attn2.to_q', false);
  const oc = ad.attention(t, q2, lin(io.context, 'attn2.to_k', false), lin(io.context, 'attn2.to_v', false), d.heads);
  // G = A·F_c + a: token aggregation over the sequence axis, [B, s_c, d].
  const agg = ad.add(t, ad.matmul(t, a['cross.aggregate.weight'], io.ref_cross), ad.reshape(t, a['cross.aggregate.bias'], [d.aggTokens, 1]));
  const ocp = ad.attention(t, q2, ad.linear(t, agg, a['cross.to_k.weight'], null), ad.linear(t, agg, a['cross.to_v.weight'], null), d.heads);
  const x2 = ad.add(t, x1, lin(ad.add(t, oc, ad.mul(t, ocp, sigma)), 'attn2.to_out.0'));
  const ff = lin(ad.geglu(t, lin(norm(x2, 'norm3'), 'ff.net.0.proj')), 'ff.net.2');
  return ad.add(t, x2, ff);
}

/** One graph: loss = mean((block(x) − target)²) and d loss / d(each adapter tensor), as `grad.<name>`. */
export function buildEaaBlockStep(d: BlockDims, sigma = 1): GraphBuilder {
  const g = new GraphBuilder({ name: 'eaa-block-train-step' });
  const t = new Tape(g);
  const frozen = Object.fromEntries(Object.entries(frozenShapes(d)).map(([k, s]) => [k, g.input(`frozen.${k}`, 'float32', s)]));
  const adapter = Object.fromEntries(Object.entries(adapterShapes(d)).map(([k, s]) => [k, t.param(g.input(`adapter.${k}`, 'float32', s))]));
  const io = Object.fromEntries(Object.entries(dataShapes(d)).map(([k, s]) => [k, g.input(k, 'float32', s)]));
  const loss = ad.mseLoss(t, eaaBlockForward(t, d, frozen, adapter, io, sigma), io.target);
  const names = Object.keys(adapter);
  const grads = t.gradients(loss, names.map((n) => adapter[n]));
  g.output(loss, 'loss');
  names.forEach((n, i) => g.output(grads[i], `grad.${n}`));
  return g;
}

/** §6 initialisation: W_k/W_v from the block's attn1, A = adaptive average pooling of the token grid, a = 0. */
export function initialAdapter(d: BlockDims, frozen: Record<string, Float32Array>): Record<string, Float32Array> {
  const side = Math.round(Math.sqrt(d.tokens));
  const aggSide = Math.round(Math.sqrt(d.aggTokens));
  if (side * side !== d.tokens || aggSide * aggSide !== d.aggTokens) throw new Error('initialAdapter: token counts must be square grids');
  const A = new Float32Array(d.aggTokens * d.tokens);
  for (let oy = 0; oy < aggSide; oy++) for (let ox = 0; ox < aggSide; ox++) {
    // PyTorch adaptive_avg_pool2d bins: [floor(o·in/out), ceil((o+1)·in/out)); nearest when upsampling.
    const y0 = Math.floor((oy * side) / aggSide); const y1 = Math.max(y0 + 1, Math.ceil(((oy + 1) * side) / aggSide));
    const x0 = Math.floor((ox * side) / aggSide); const x1 = Math.max(x0 + 1, Math.ceil(((ox + 1) * side) / aggSide));
    const n = (y1 - y0) * (x1 - x0);
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) A[(oy * aggSide + ox) * d.tokens + y * side + x] = 1 / n;
  }
  return {
    'self.to_k.weight': Float32Array.from(frozen['attn1.to_k.weight']), 'self.to_v.weight': Float32Array.from(frozen['attn1.to_v.weight']),
    'cross.to_k.weight': Float32Array.from(frozen['attn1.to_k.weight']), 'cross.to_v.weight': Float32Array.from(frozen['attn1.to_v.weight']),
    'cross.aggregate.weight': A, 'cross.aggregate.bias': new Float32Array(d.aggTokens),
  };
}
