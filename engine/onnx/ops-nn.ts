// Op vocabulary, part 2: layers that read weights from a Module (conv2d, linear, groupNorm, layerNorm,
// embedding), activations and attention. Kernel facts they rely on are in README.md (measured).
import type { Value, WeightSource } from './graph-builder.ts';
import { BuildError, Module, shapeError } from './graph-builder.ts';
import { floatConst, int64Const, mul, add, unary, reshape, transpose, broadcastShape, slice, concat } from './ops-tensor.ts';
import { convOutDim, divDim, product } from './dims.ts';

/** Checks a weight's shape; `input` (when given) is the activation it must fit, for the message. */
function expectWeight(node: string, w: Value, expected: ReadonlyArray<number | undefined>, input?: Value): void {
  const ok = w.shape.length === expected.length && expected.every((d, i) => d === undefined || d === w.shape[i]);
  if (ok) return;
  const wanted = `[${expected.map((d) => d ?? '?').join(',')}]`;
  if (input) throw shapeError(node, `weight (needs ${wanted}) does not fit the input: weight vs input`, w.shape, input.shape);
  throw shapeError(node, `weight has the wrong shape: found vs needed`, w.shape, expected.map((d) => d ?? '?'));
}

export interface ConvOptions {
  stride?: number;
  /** Same padding on every side, or [top, left, bottom, right]. */
  pad?: number | [number, number, number, number];
}

/** The graph input of a network with LoRA branches: one strength per stacked LoRA (its slot). */
export const LORA_STRENGTHS_INPUT = 'lora_strengths';

/**
 * The LoRA additions to the layer `m` applied to x (source.lowRank): Σ strength[slot]·scale·up(down(x)),
 * each branch two small layers of the same kind as the main one (down takes the main conv's stride/padding,
 * up is 1×1). Strengths are the graph input `lora_strengths`; null when the layer has none.
 */
function lowRankDelta(m: Module, x: Value, layer: (branch: Module, input: Value, first: boolean) => Value): Value | null {
  const name = m.path === '' ? 'weight' : `${m.path}.weight`;
  const branches = m.source.lowRank?.(name) ?? [];
  let total: Value | null = null;
  for (const [i, b] of branches.entries()) {
    const g = x.graph;
    let strengths = g.memo.get(LORA_STRENGTHS_INPUT);
    if (!strengths) {
      strengths = g.input(LORA_STRENGTHS_INPUT, 'float32', [b.slots]);
      g.memo.set(LORA_STRENGTHS_INPUT, strengths);
    }
    const part = (weight: string): Module => {
      const source: WeightSource = { has: (n) => n.endsWith('.weight'), weight: () => m.source.weight(weight) };
      return new Module(g, source, `${m.path}.lora${i}_${weight === b.down ? 'down' : 'up'}`, m.namePrefix);
    };
    // The strength scales the rank-wide activation (r channels), not the layer-wide output.
    const s = mul(slice(strengths, 0, b.slot, b.slot + 1), floatConst(g, [b.scale], [1], strengths.dtype));
    const low = layer(part(b.down), x, true);
    const scaled = layer(part(b.up), mul(low, s), false);
    total = total ? add(total, scaled) : scaled;
  }
  return total;
}

/** Conv2d with `weight` [Cout,Cin,kh,kw] and optional `bias` [Cout] under m. x: [B,Cin,H,W]. */
export function conv2d(m: Module, x: Value, options: ConvOptions = {}): Value {
  const y = plainConv2d(m, x, options);
  const delta = lowRankDelta(m, x, (part, input, first) => plainConv2d(part, input, first ? options : {}));
  return delta ? add(y, delta) : y;
}

function plainConv2d(m: Module, x: Value, options: ConvOptions): Value {
  const node = `${m.scope}/Conv`;
  const w = m.param('weight');
  if (x.shape.length !== 4) throw shapeError(node, 'input must be [B,C,H,W]', x.shape, w.shape);
  expectWeight(node, w, [undefined, x.shape[1] as number, undefined, undefined], x);
  const [cout, , kh, kw] = w.shape as number[];
  const stride = options.stride ?? 1;
  const p = options.pad ?? 0;
  const pads = typeof p === 'number' ? [p, p, p, p] : p;
  const inputs = [x, w];
  if (m.hasParam('bias')) {
    const b = m.param('bias');
    expectWeight(`${m.scope}/Conv bias`, b, [cout]);
    inputs.push(b);
  }
  const shape = [x.shape[0], cout, convOutDim(x.shape[2], kh, stride, pads[0] + pads[2]), convOutDim(x.shape[3], kw, stride, pads[1] + pads[3])];
  return x.graph.addNode({
    opType: 'Conv', inputs, attributes: { kernel_shape: [kh, kw], strides: [stride, stride], pads },
    outputs: [{ shape, dtype: x.dtype }], scope: m.scope,
  })[0];
}

/** PyTorch Linear: y = x·Wᵀ + b, `weight` [out,in], optional `bias` [out]. x: [..., in]. */
export function linear(m: Module, x: Value): Value {
  const y = plainLinear(m, x);
  const delta = lowRankDelta(m, x, (part, input) => plainLinear(part, input));
  return delta ? add(y, delta) : y;
}

function plainLinear(m: Module, x: Value): Value {
  const node = `${m.scope}/MatMul`;
  const w = m.param('weight');
  expectWeight(node, w, [undefined, x.shape[x.shape.length - 1] as number], x);
  // Transpose of an initializer is constant-folded when the session loads (README.md).
  const wt = transpose(w, [1, 0]);
  let y = x.graph.addNode({
    opType: 'MatMul', inputs: [x, wt], outputs: [{ shape: [...x.shape.slice(0, -1), w.shape[0]], dtype: x.dtype }], scope: m.scope,
  })[0];
  if (m.hasParam('bias')) {
    const b = m.param('bias');
    expectWeight(`${m.scope}/Add bias`, b, [w.shape[0] as number]);
    y = add(y, b);
  }
  return y;
}

export interface NormOptions {
  eps: number;
}

/**
 * GroupNorm over [B,C,...] with `weight`/`bias` [C]: Reshape [B,G,-1] → InstanceNormalization →
 * Reshape back → ·γ + β. GroupNormalization-21 has no CPU kernel (expanded into ~28 nodes); this form
 * is exact to 1.9e-6 and fast (sd15-reference.md §7.3).
 */
export function groupNorm(m: Module, x: Value, options: NormOptions & { groups: number }): Value {
  const g = x.graph;
  const node = `${m.scope}/GroupNorm`;
  const c = x.shape[1];
  if (typeof c !== 'number' || c % options.groups !== 0) {
    throw new BuildError(`${node}: ${c} channels cannot be split into ${options.groups} groups (input ${x.shape.join('x')})`);
  }
  const gamma = m.param('weight');
  const beta = m.param('bias');
  expectWeight(node, gamma, [c]);
  expectWeight(node, beta, [c]);
  // Statistics in float32 even in a float16 graph: a group of 512² × 40 values overflows fp16 sums.
  const stats = x.dtype === 'float32' ? x : g.cast(x, 'float32');
  const grouped = g.addNode({
    opType: 'Reshape', inputs: [stats, int64Const(g, [0, options.groups, -1])],
    outputs: [{ shape: [x.shape[0], options.groups, divDim(product(x.shape.slice(1)), options.groups)], dtype: 'float32' }],
    scope: m.scope,
  })[0];
  const ones = floatConst(g, new Array<number>(options.groups).fill(1), [options.groups], 'float32');
  const zeros = floatConst(g, new Array<number>(options.groups).fill(0), [options.groups], 'float32');
  const normed = g.addNode({
    opType: 'InstanceNormalization', inputs: [grouped, ones, zeros], attributes: { epsilon: { float: options.eps } },
    outputs: [{ shape: grouped.shape, dtype: 'float32' }], scope: m.scope,
  })[0];
  const shapeOfX = g.addNode({ opType: 'Shape', inputs: [x], outputs: [{ shape: [x.shape.length], dtype: 'int64' }], scope: m.scope })[0];
  const backF32 = g.addNode({ opType: 'Reshape', inputs: [normed, shapeOfX], outputs: [{ shape: x.shape, dtype: 'float32' }], scope: m.scope })[0];
  const back = x.dtype === 'float32' ? backF32 : g.cast(backF32, x.dtype);
  const affineShape = [c, ...x.shape.slice(2).map(() => 1)];
  return add(mul(back, reshape(gamma, affineShape)), reshape(beta, affineShape));
}

/** LayerNorm over the last axis with `weight`/`bias` [C]. */
export function layerNorm(m: Module, x: Value, options: NormOptions): Value {
  const c = x.shape[x.shape.length - 1] as number;
  const gamma = m.param('weight');
  const beta = m.param('bias');
  expectWeight(`${m.scope}/LayerNormalization`, gamma, [c]);
  expectWeight(`${m.scope}/LayerNormalization`, beta, [c]);
  return x.graph.addNode({
    opType: 'LayerNormalization', inputs: [x, gamma, beta], attributes: { axis: -1, epsilon: { float: options.eps } },
    outputs: [{ shape: x.shape, dtype: x.dtype }], scope: m.scope,
  })[0];
}

/** Embedding lookup: `weight` [N,C] gathered by int64 ids [...] → [..., C]. */
export function embedding(m: Module, ids: Value): Value {
  const w = m.param('weight');
  if (w.shape.length !== 2) throw shapeError(`${m.scope}/Gather`, 'embedding weight must be [N,C]', w.shape, ['N', 'C']);
  return ids.graph.addNode({
    opType: 'Gather', inputs: [w, ids], attributes: { axis: 0 }, outputs: [{ shape: [...ids.shape, w.shape[1]], dtype: w.dtype }], scope: m.scope,
  })[0];
}

/** embedding() over the weight's rows followed by `extra`'s [E,C] (ids ≥ N pick those: textual inversion). */
export function embeddingWithExtra(m: Module, ids: Value, extra: Value): Value {
  const w = m.param('weight');
  if (w.shape.length !== 2 || extra.shape[1] !== w.shape[1]) throw shapeError(`${m.scope}/Gather`, 'extra rows must be as wide as the embedding', w.shape, extra.shape);
  const table = concat([w, extra], 0);
  return ids.graph.addNode({
    opType: 'Gather', inputs: [table, ids], attributes: { axis: 0 }, outputs: [{ shape: [...ids.shape, w.shape[1]], dtype: w.dtype }], scope: m.scope,
  })[0];
}

export function silu(x: Value): Value {
  return mul(x, unary('Sigmoid', x));
}

/** Exact (erf) GELU, ONNX Gelu-20. */
export function gelu(x: Value): Value {
  return x.graph.addNode({
    opType: 'Gelu', inputs: [x], attributes: { approximate: 'none' }, outputs: [{ shape: x.shape, dtype: x.dtype }], scope: x.scope,
  })[0];
}

/** CLIP's quick_gelu: x·sigmoid(1.702x). */
export function quickGelu(x: Value): Value {
  return mul(x, unary('Sigmoid', mul(x, 1.702)));
}

export interface AttentionOptions {
  heads: number;
  /** Softmax scale; default 1/sqrt(head_dim). */
  scale?: number;
  /** Token i attends only to tokens 0..i (CLIP text encoder): MultiHeadAttention's `unidirectional`. */
  causal?: boolean;
}

/**
 * Multi-head scaled-dot-product attention on projected q [B,S,D], k [B,L,D], v [B,L,Dv] → [B,S,Dv],
 * as com.microsoft.MultiHeadAttention: fused on CPU and CUDA, ~4× faster and ~10× lighter than
 * MatMul→Softmax→MatMul at 4096 tokens (sd15-reference.md §7.6).
 */
export function attention(q: Value, k: Value, v: Value, options: AttentionOptions): Value {
  const node = `${q.scope}/MultiHeadAttention`;
  const [b, s, d] = q.shape;
  if (q.shape.length !== 3 || k.shape.length !== 3 || v.shape.length !== 3) throw shapeError(node, 'q, k, v must be [B,S,D]', q.shape, k.shape);
  if (k.shape[2] !== d) throw shapeError(node, 'query and key widths differ', q.shape, k.shape);
  if (k.shape[1] !== v.shape[1]) throw shapeError(node, 'key and value lengths differ', k.shape, v.shape);
  broadcastShape(node, [b], [k.shape[0]]);
  if (typeof d !== 'number' || d % options.heads !== 0) throw new BuildError(`${node}: width ${d} is not divisible by ${options.heads} heads`);
  const scale = options.scale ?? 1 / Math.sqrt(d / options.heads);
  const inputs: Array<Value | null> = [q, k, v];
  return q.graph.addNode({
    opType: 'MultiHeadAttention', domain: 'com.microsoft', inputs,
    attributes: { num_heads: options.heads, scale: { float: scale }, unidirectional: options.causal ? 1 : undefined },
    outputs: [{ shape: [b, s, v.shape[2]], dtype: q.dtype }], scope: q.scope,
  })[0];
}
