// Differentiable ops: each builds its forward with engine/onnx's vocabulary and records a backward rule
// made of inference ops (the input gradient of Conv is a ConvTranspose, of MatMul two MatMuls, ...).
// Names mirror engine/onnx so a network can be written once against either set.
import type { Value } from '../onnx/index.ts';
import * as o from '../onnx/index.ts';
import type { Tape } from './tape.ts';
import { dims, reduceSum, reduceMean, padZeros, conv, convTranspose } from './raw.ts';
import type { Conv2dAttrs } from './raw.ts';

/** Sums a broadcast gradient back to the shape of the operand it came from. */
export function unbroadcast(dy: Value, target: Value): Value {
  const d = dims(dy);
  const t = dims(target);
  const lead = d.length - t.length;
  const axes: number[] = [];
  d.forEach((s, i) => {
    if (i < lead || (t[i - lead] === 1 && s !== 1)) axes.push(i);
  });
  const summed = axes.length ? reduceSum(dy, axes, true) : dy;
  return dims(summed).length === t.length && dims(summed).every((s, i) => s === t[i]) ? summed : o.reshape(summed, t);
}

// ---------- element-wise ----------

export function add(t: Tape, a: Value, b: Value): Value {
  return t.record(o.add(a, b), [a, b], (dy, n) => [n[0] ? unbroadcast(dy, a) : null, n[1] ? unbroadcast(dy, b) : null]);
}

export function sub(t: Tape, a: Value, b: Value): Value {
  return t.record(o.sub(a, b), [a, b], (dy, n) => [n[0] ? unbroadcast(dy, a) : null, n[1] ? unbroadcast(o.unary('Neg', dy), b) : null]);
}

export function mul(t: Tape, a: Value, b: Value | number): Value {
  if (typeof b === 'number') return t.record(o.mul(a, b), [a], (dy) => [o.mul(dy, b)]);
  return t.record(o.mul(a, b), [a, b], (dy, n) => [n[0] ? unbroadcast(o.mul(dy, b), a) : null, n[1] ? unbroadcast(o.mul(dy, a), b) : null]);
}

export function sigmoid(t: Tape, x: Value): Value {
  const y = o.unary('Sigmoid', x);
  return t.record(y, [x], (dy) => [o.mul(dy, o.mul(y, o.sub(o.floatConst(x.graph, [1], [], x.dtype), y)))]);
}

/** SiLU x·σ(x); d/dx = σ(x)·(1 + x·(1 − σ(x))). */
export function silu(t: Tape, x: Value): Value {
  const s = o.unary('Sigmoid', x);
  const one = o.floatConst(x.graph, [1], [], x.dtype);
  return t.record(o.mul(x, s), [x], (dy) => [o.mul(dy, o.mul(s, o.add(one, o.mul(x, o.sub(one, s)))))]);
}

/** Exact GELU; d/dx = Φ(x) + x·φ(x). */
export function gelu(t: Tape, x: Value): Value {
  const g = x.graph;
  return t.record(o.gelu(x), [x], (dy) => {
    const cdf = o.mul(o.add(o.unary('Erf', o.mul(x, Math.SQRT1_2)), o.floatConst(g, [1], [], x.dtype)), 0.5);
    const pdf = o.mul(o.unary('Exp', o.mul(o.mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [o.mul(dy, o.add(cdf, o.mul(x, pdf)))];
  });
}

/** GEGLU (SD's feed-forward): a·gelu(gate) where [a, gate] = split of the last axis in halves. */
export function geglu(t: Tape, x: Value): Value {
  const d = dims(x);
  const half = d[d.length - 1] / 2;
  return mul(t, slice(t, x, -1, 0, half), gelu(t, slice(t, x, -1, half, 2 * half)));
}

// ---------- linear algebra ----------

function swapLast(x: Value): Value {
  const r = x.shape.length;
  return o.transpose(x, [...Array(r - 2).keys(), r - 1, r - 2]);
}

export function matmul(t: Tape, a: Value, b: Value): Value {
  return t.record(o.matmul(a, b), [a, b], (dy, n) => [
    n[0] ? unbroadcast(o.matmul(dy, swapLast(b)), a) : null,
    n[1] ? unbroadcast(o.matmul(swapLast(a), dy), b) : null,
  ]);
}

/** PyTorch Linear y = x·Wᵀ + b with W [out,in]. */
export function linear(t: Tape, x: Value, w: Value, b: Value | null): Value {
  const y = matmul(t, x, transpose(t, w, [1, 0]));
  return b ? add(t, y, b) : y;
}

export interface ConvOptions {
  stride?: number;
  pad?: number | [number, number, number, number];
}

/**
 * Conv2d. dx = ConvTranspose(dy, W); dW = Conv of xᵀ [Cin,B,H,W] with dyᵀ [Cout,B,Ho,Wo] as the kernel,
 * dilated by the stride (then cropped to the kernel size); db = Σ dy over batch and space.
 */
export function conv2d(t: Tape, x: Value, w: Value, b: Value | null, options: ConvOptions = {}): Value {
  const s = options.stride ?? 1;
  const p = options.pad ?? 0;
  const attrs: Conv2dAttrs = { strides: [s, s], pads: typeof p === 'number' ? [p, p, p, p] : p };
  const [, , h, wd] = dims(x);
  const y = conv(x, w, b, attrs);
  return t.record(y, [x, w, b], (dy, n) => {
    const dx = n[0] ? convTranspose(dy, w, attrs, [h, wd]) : null;
    let dw: Value | null = null;
    if (n[1]) {
      const [, , kh, kw] = dims(w);
      const full = conv(o.transpose(x, [1, 0, 2, 3]), o.transpose(dy, [1, 0, 2, 3]), null, { strides: [1, 1], pads: attrs.pads, dilations: [s, s] });
      const [, , fh, fw] = dims(full);
      const cropped = fh === kh && fw === kw ? full : o.slice(o.slice(full, 2, 0, kh), 3, 0, kw);
      dw = o.transpose(cropped, [1, 0, 2, 3]);
    }
    const db = n[2] ? reduceSum(dy, [0, 2, 3], false) : null;
    return [dx, dw, db];
  });
}

// ---------- normalisation and softmax ----------

export function softmax(t: Tape, x: Value, axis = -1): Value {
  const y = o.softmax(x, axis);
  return t.record(y, [x], (dy) => [o.mul(y, o.sub(dy, reduceSum(o.mul(dy, y), [axis], true)))]);
}

/**
 * (x − mean)/√(var + eps) over the last axis, built from plain ops so the statistics are at hand for the
 * backward rule: dx = inv·(dŷ − mean(dŷ) − ŷ·mean(dŷ·ŷ)).
 */
export function normalizeLastAxis(t: Tape, x: Value, eps: number): Value {
  const mean = reduceMean(x, [-1]);
  const xc = o.sub(x, mean);
  const inv = o.div(o.floatConst(x.graph, [1], [], x.dtype), o.unary('Sqrt', o.add(reduceMean(o.mul(xc, xc), [-1]), eps)));
  const xhat = o.mul(xc, inv);
  return t.record(xhat, [x], (dy) => [
    o.mul(inv, o.sub(o.sub(dy, reduceMean(dy, [-1])), o.mul(xhat, reduceMean(o.mul(dy, xhat), [-1])))),
  ]);
}

/** LayerNorm over the last axis with γ, β [C]. */
export function layerNorm(t: Tape, x: Value, gamma: Value, beta: Value, eps: number): Value {
  return add(t, mul(t, normalizeLastAxis(t, x, eps), gamma), beta);
}

/** GroupNorm of [B,C,...] in `groups` groups with γ, β [C]. */
export function groupNorm(t: Tape, x: Value, gamma: Value, beta: Value, groups: number, eps: number): Value {
  const d = dims(x);
  const grouped = reshape(t, x, [d[0], groups, d.slice(1).reduce((a, b) => a * b, 1) / groups]);
  const normed = reshape(t, normalizeLastAxis(t, grouped, eps), d);
  const affine = [d[1], ...d.slice(2).map(() => 1)];
  return add(t, mul(t, normed, reshape(t, gamma, affine)), reshape(t, beta, affine));
}

// ---------- shape plumbing ----------

export function reshape(t: Tape, x: Value, shape: readonly number[]): Value {
  const from = dims(x);
  return t.record(o.reshape(x, [...shape]), [x], (dy) => [o.reshape(dy, from)]);
}

export function transpose(t: Tape, x: Value, perm: readonly number[]): Value {
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return t.record(o.transpose(x, perm), [x], (dy) => [o.transpose(dy, inverse)]);
}

export function slice(t: Tape, x: Value, axis: number, start: number, end: number): Value {
  const d = dims(x);
  const ax = axis < 0 ? axis + d.length : axis;
  return t.record(o.slice(x, ax, start, end), [x], (dy) => {
    const before = d.map((_, i) => (i === ax ? start : 0));
    const after = d.map((s, i) => (i === ax ? s - end : 0));
    return [padZeros(dy, before, after)];
  });
}

export function concat(t: Tape, values: readonly Value[], axis: number): Value {
  const ax = axis < 0 ? axis + values[0].shape.length : axis;
  const y = o.concat(values, ax);
  return t.record(y, values, (dy, n) => {
    let at = 0;
    return values.map((v, i) => {
      const size = dims(v)[ax];
      const part = n[i] ? o.slice(dy, ax, at, at + size) : null;
      at += size;
      return part;
    });
  });
}

/** Nearest 2× (any integer) upsampling; the gradient sums each s×s block back onto its source pixel. */
export function upsampleNearest(t: Tape, x: Value, scale: number): Value {
  const [b, c, h, w] = dims(x);
  return t.record(o.resizeNearest(x, { scale }), [x], (dy) => [
    reduceSum(o.reshape(dy, [b, c, h, scale, w, scale]), [3, 5], false),
  ]);
}

// ---------- attention and losses ----------

/** Multi-head attention on projected q [B,S,D], k [B,L,D], v [B,L,Dv], as MatMul→Softmax→MatMul. */
export function attention(t: Tape, q: Value, k: Value, v: Value, heads: number): Value {
  const split = (x: Value): Value => {
    const [b, s, d] = dims(x);
    return transpose(t, reshape(t, x, [b, s, heads, d / heads]), [0, 2, 1, 3]);
  };
  const [b, s] = dims(q);
  const dv = dims(v)[2];
  const scale = 1 / Math.sqrt(dims(q)[2] / heads);
  const scores = mul(t, matmul(t, split(q), transpose(t, split(k), [0, 1, 3, 2])), scale);
  const out = matmul(t, softmax(t, scores, -1), split(v));
  return reshape(t, transpose(t, out, [0, 2, 1, 3]), [b, s, dv]);
}

/** Mean over every element of (a − b)², a scalar [] (the spec's MSE losses). */
export function mseLoss(t: Tape, a: Value, b: Value): Value {
  const diff = sub(t, a, b);
  const sq = mul(t, diff, diff);
  const n = dims(sq).reduce((x, y) => x * y, 1);
  const all = dims(sq).map((_, i) => i);
  return t.record(reduceMean(sq, all, false), [sq], (dy) => [o.mul(spread(dy, dims(sq)), 1 / n)]);
}

/** Σ of every element, a scalar []. */
export function sumAll(t: Tape, x: Value): Value {
  const d = dims(x);
  return t.record(reduceSum(x, d.map((_, i) => i), false), [x], (dy) => [spread(dy, d)]);
}

/** A scalar gradient spread over a shape (Reshape to rank-many 1s, then Expand). */
function spread(dy: Value, shape: readonly number[]): Value {
  return o.expand(o.reshape(dy, shape.map(() => 1)), [...shape]);
}
