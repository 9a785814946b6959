// Op vocabulary, part 1: element-wise maths and tensor plumbing (reshape, transpose, concat, slice,
// split, resize, cast, softmax, clamp, argMax, gatherNd) plus small constants. Raw ONNX op names live
// only here and in ops-nn.ts (style.md §4).
import type { Value, Shape, Dim } from './graph-builder.ts';
import type { GraphBuilder } from './graph-builder.ts';
import { BuildError, shapeError } from './graph-builder.ts';
import type { DType } from './onnx-proto.ts';
import { product, formatShape, mulDims } from './dims.ts';
import { f32ToF16, f32ToBf16 } from './half.ts';

// ---------- constants ----------

export function int64Const(g: GraphBuilder, values: readonly number[], dims: readonly number[] = [values.length]): Value {
  const key = `i64:${dims.join(',')}:${values.join(',')}`;
  let v = g.memo.get(key);
  if (!v) {
    const data = new BigInt64Array(values.map((x) => BigInt(x)));
    v = g.constant('int64', dims, new Uint8Array(data.buffer), 'const');
    g.memo.set(key, v);
  }
  return v;
}

/** A float constant in the given dtype (default: the graph's compute type). */
export function floatConst(g: GraphBuilder, values: ArrayLike<number>, dims: readonly number[], dtype?: DType): Value {
  const type = dtype ?? g.compute;
  let bytes: Uint8Array;
  if (type === 'float32') bytes = new Uint8Array(Float32Array.from(values).buffer);
  else if (type === 'float16') bytes = new Uint8Array(Uint16Array.from(Array.from(values, f32ToF16)).buffer);
  else if (type === 'bfloat16') bytes = new Uint8Array(Uint16Array.from(Array.from(values, f32ToBf16)).buffer);
  else throw new BuildError(`floatConst: ${type} is not a float type`);
  return g.constant(type, dims, bytes, 'const');
}

function scalarLike(like: Value, x: number): Value {
  const key = `scalar:${like.dtype}:${x}`;
  let v = like.graph.memo.get(key);
  if (!v) {
    v = floatConst(like.graph, [x], [], like.dtype);
    like.graph.memo.set(key, v);
  }
  return v;
}

// ---------- element-wise ----------

/** NumPy broadcasting with symbolic dims; throws naming the op and both shapes. */
export function broadcastShape(op: string, a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw shapeError(op, 'shapes do not broadcast', a, b);
  }
  return out;
}

function binary(opType: string, a: Value, b: Value | number): Value {
  const rhs = typeof b === 'number' ? scalarLike(a, b) : b;
  if (a.dtype !== rhs.dtype) throw new BuildError(`${a.scope}/${opType}: dtypes differ: ${a.dtype} vs ${rhs.dtype}`);
  const shape = broadcastShape(`${a.scope}/${opType}`, a.shape, rhs.shape);
  return a.graph.addNode({ opType, inputs: [a, rhs], outputs: [{ shape, dtype: a.dtype }], scope: a.scope })[0];
}

export const add = (a: Value, b: Value | number): Value => binary('Add', a, b);
export const sub = (a: Value, b: Value | number): Value => binary('Sub', a, b);
export const mul = (a: Value, b: Value | number): Value => binary('Mul', a, b);
export const div = (a: Value, b: Value | number): Value => binary('Div', a, b);

export function unary(opType: 'Sigmoid' | 'Exp' | 'Log' | 'Neg' | 'Sqrt' | 'Erf' | 'Cos' | 'Sin' | 'Tanh', x: Value): Value {
  return x.graph.addNode({ opType, inputs: [x], outputs: [{ shape: x.shape, dtype: x.dtype }], scope: x.scope })[0];
}

export function clamp(x: Value, min: number, max: number): Value {
  const g = x.graph;
  return g.addNode({
    opType: 'Clip', inputs: [x, scalarLike(x, min), scalarLike(x, max)],
    outputs: [{ shape: x.shape, dtype: x.dtype }], scope: x.scope,
  })[0];
}

/** a > b element-wise (broadcasting), a bool tensor for `where`. */
export function greater(a: Value, b: Value | number): Value {
  const rhs = typeof b === 'number' ? scalarLike(a, b) : b;
  const shape = broadcastShape(`${a.scope}/Greater`, a.shape, rhs.shape);
  return a.graph.addNode({ opType: 'Greater', inputs: [a, rhs], outputs: [{ shape, dtype: 'bool' }], scope: a.scope })[0];
}

/** Element-wise choice: `whenTrue` where cond holds, else `whenFalse` (broadcasting; the chosen values are copied bitwise). */
export function where(cond: Value, whenTrue: Value, whenFalse: Value): Value {
  if (cond.dtype !== 'bool') throw new BuildError(`${cond.scope}/Where: the condition must be bool, got ${cond.dtype}`);
  if (whenTrue.dtype !== whenFalse.dtype) throw new BuildError(`${whenTrue.scope}/Where: dtypes differ: ${whenTrue.dtype} vs ${whenFalse.dtype}`);
  const node = `${whenTrue.scope}/Where`;
  const shape = broadcastShape(node, broadcastShape(node, cond.shape, whenTrue.shape), whenFalse.shape);
  return whenTrue.graph.addNode({ opType: 'Where', inputs: [cond, whenTrue, whenFalse], outputs: [{ shape, dtype: whenTrue.dtype }], scope: whenTrue.scope })[0];
}

export function cast(x: Value, dtype: DType): Value {
  return x.graph.cast(x, dtype);
}

export function softmax(x: Value, axis = -1): Value {
  return x.graph.addNode({
    opType: 'Softmax', inputs: [x], attributes: { axis }, outputs: [{ shape: x.shape, dtype: x.dtype }], scope: x.scope,
  })[0];
}

export function matmul(a: Value, b: Value): Value {
  const node = `${a.scope}/MatMul`;
  if (a.shape.length < 2 || b.shape.length < 2) throw shapeError(node, 'matmul needs rank ≥ 2', a.shape, b.shape);
  if (a.shape[a.shape.length - 1] !== b.shape[b.shape.length - 2]) {
    throw shapeError(node, 'inner dimensions differ', a.shape, b.shape);
  }
  const batch = broadcastShape(node, a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, a.shape[a.shape.length - 2], b.shape[b.shape.length - 1]];
  return a.graph.addNode({ opType: 'MatMul', inputs: [a, b], outputs: [{ shape, dtype: a.dtype }], scope: a.scope })[0];
}

// ---------- shape plumbing ----------

function shapeOfDim(g: GraphBuilder, dim: string): Value {
  const key = `dim:${dim}`;
  let v = g.memo.get(key);
  if (!v) {
    const src = g.dimSources.get(dim);
    if (!src) throw new BuildError(`no tensor in graph ${g.name} carries the size '${dim}' needed by a reshape`);
    v = g.addNode({
      opType: 'Shape', inputs: [src.value], attributes: { start: src.axis, end: src.axis + 1 },
      outputs: [{ shape: [1], dtype: 'int64' }], scope: `shape.${dim}`,
    })[0];
    g.memo.set(key, v);
  }
  return v;
}

/** Reshape to a fully spelled (possibly symbolic) shape; the element counts must agree. */
export function reshape(x: Value, shape: Shape): Value {
  const g = x.graph;
  const node = `${x.scope}/Reshape`;
  if (product(x.shape) !== product(shape)) throw shapeError(node, 'element counts differ', x.shape, shape);
  const plain: number[] = [];
  const runtime: string[] = [];
  shape.forEach((d, i) => {
    if (typeof d === 'number') plain.push(d);
    else if (d === x.shape[i]) plain.push(0); // copy this axis from the input
    else {
      plain.push(-1);
      runtime.push(d);
    }
  });
  let target: Value;
  if (runtime.length <= 1) target = int64Const(g, plain);
  else {
    // Several new symbolic sizes: assemble the target from Shape slices of tensors that carry them.
    const pieces = shape.map((d, i) =>
      typeof d === 'string' && plain[i] === -1 && g.dimSources.has(d) ? shapeOfDim(g, d) : int64Const(g, [plain[i]]));
    const unresolved = shape.filter((d, i) => typeof d === 'string' && plain[i] === -1 && !g.dimSources.has(d));
    if (unresolved.length > 1) throw new BuildError(`${node}: cannot express ${formatShape(shape)} at run time`);
    target = g.addNode({
      opType: 'Concat', inputs: pieces, attributes: { axis: 0 }, outputs: [{ shape: [shape.length], dtype: 'int64' }],
      scope: x.scope,
    })[0];
  }
  return g.addNode({ opType: 'Reshape', inputs: [x, target], outputs: [{ shape, dtype: x.dtype }], scope: x.scope })[0];
}

/** Broadcasts x to a (possibly symbolic) shape of the same rank, as ONNX Expand (e.g. [1,S,C] → [B,S,C]). */
export function expand(x: Value, shape: Shape): Value {
  const g = x.graph;
  const node = `${x.scope}/Expand`;
  if (shape.length !== x.shape.length) throw shapeError(node, 'ranks differ', x.shape, shape);
  broadcastShape(node, x.shape, shape);
  const pieces = shape.map((d) => (typeof d === 'number' ? int64Const(g, [d]) : shapeOfDim(g, d)));
  const target = g.addNode({
    opType: 'Concat', inputs: pieces, attributes: { axis: 0 }, outputs: [{ shape: [shape.length], dtype: 'int64' }], scope: x.scope,
  })[0];
  return g.addNode({ opType: 'Expand', inputs: [x, target], outputs: [{ shape, dtype: x.dtype }], scope: x.scope })[0];
}

export function transpose(x: Value, perm: readonly number[]): Value {
  if (perm.length !== x.shape.length) throw shapeError(`${x.scope}/Transpose`, 'perm rank differs', x.shape, perm);
  const shape = perm.map((p) => x.shape[p]);
  return x.graph.addNode({
    opType: 'Transpose', inputs: [x], attributes: { perm: [...perm] }, outputs: [{ shape, dtype: x.dtype }], scope: x.scope,
  })[0];
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Concatenation along `axis`; `resultDim` names the new axis size when it is a sum of different symbolic sizes
 *  (the dims vocabulary has no sums, e.g. generation tokens + reference tokens). */
export function concat(values: readonly Value[], axis: number, resultDim?: string): Value {
  const [first] = values;
  const ax = normAxis(axis, first.shape.length);
  for (const v of values) {
    const ok = v.shape.length === first.shape.length && v.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!ok) throw shapeError(`${first.scope}/Concat`, `shapes differ outside axis ${axis}`, first.shape, v.shape);
  }
  const total = resultDim ?? concatDim(values.map((v) => v.shape[ax]));
  const shape = first.shape.map((d, i) => (i === ax ? total : d));
  return first.graph.addNode({
    opType: 'Concat', inputs: [...values], attributes: { axis }, outputs: [{ shape, dtype: first.dtype }], scope: first.scope,
  })[0];
}

function concatDim(dims: Dim[]): Dim {
  if (dims.every((d) => typeof d === 'number')) return (dims as number[]).reduce((x, y) => x + y, 0);
  if (dims.every((d) => d === dims[0])) return mulDims(dims.length, dims[0]);
  throw new BuildError(`concat of sizes ${dims.join(', ')} along the concat axis is not supported`);
}

/** x[..., start:end, ...] along one axis (numeric bounds). */
export function slice(x: Value, axis: number, start: number, end: number): Value {
  const g = x.graph;
  const ax = normAxis(axis, x.shape.length);
  const d = x.shape[ax];
  if (typeof d === 'number' && (start < 0 || end > d || start >= end)) {
    throw new BuildError(`${x.scope}/Slice: range ${start}:${end} is outside axis ${axis} of ${formatShape(x.shape)}`);
  }
  const shape = x.shape.map((s, i) => (i === ax ? end - start : s));
  return g.addNode({
    opType: 'Slice', inputs: [x, int64Const(g, [start]), int64Const(g, [end]), int64Const(g, [ax])],
    outputs: [{ shape, dtype: x.dtype }], scope: x.scope,
  })[0];
}

export function split(x: Value, axis: number, sizes: readonly number[]): Value[] {
  const g = x.graph;
  const ax = normAxis(axis, x.shape.length);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (x.shape[ax] !== total) throw shapeError(`${x.scope}/Split`, `sizes ${sizes.join('+')} do not fill axis ${axis}`, x.shape, sizes);
  return g.addNode({
    opType: 'Split', inputs: [x, int64Const(g, sizes)], attributes: { axis: ax },
    outputs: sizes.map((s) => ({ shape: x.shape.map((d, i) => (i === ax ? s : d)), dtype: x.dtype })), scope: x.scope,
  });
}

/**
 * Nearest-neighbour upsampling of [B,C,H,W], as PyTorch `interpolate(mode='nearest')`: source index =
 * floor(dst · in/out) (asymmetric + floor). Either an integer scale or the spatial size of `like`.
 */
export function resizeNearest(x: Value, to: { scale: number } | { like: Value }): Value {
  const g = x.graph;
  const attributes = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
  if ('scale' in to) {
    const shape = [x.shape[0], x.shape[1], mulDims(x.shape[2], to.scale), mulDims(x.shape[3], to.scale)];
    const scales = floatConst(g, [1, 1, to.scale, to.scale], [4], 'float32');
    return g.addNode({ opType: 'Resize', inputs: [x, null, scales], attributes, outputs: [{ shape, dtype: x.dtype }], scope: x.scope })[0];
  }
  const { like } = to;
  const hw = g.addNode({
    opType: 'Shape', inputs: [like], attributes: { start: 2, end: 4 }, outputs: [{ shape: [2], dtype: 'int64' }], scope: x.scope,
  })[0];
  const nc = g.addNode({
    opType: 'Shape', inputs: [x], attributes: { start: 0, end: 2 }, outputs: [{ shape: [2], dtype: 'int64' }], scope: x.scope,
  })[0];
  const sizes = g.addNode({
    opType: 'Concat', inputs: [nc, hw], attributes: { axis: 0 }, outputs: [{ shape: [4], dtype: 'int64' }], scope: x.scope,
  })[0];
  const shape = [x.shape[0], x.shape[1], like.shape[2], like.shape[3]];
  return g.addNode({ opType: 'Resize', inputs: [x, null, null, sizes], attributes, outputs: [{ shape, dtype: x.dtype }], scope: x.scope })[0];
}

/** Index of the maximum along an axis (kept as a size-1 axis), int64. */
export function argMax(x: Value, axis: number): Value {
  const ax = normAxis(axis, x.shape.length);
  const shape = x.shape.map((d, i) => (i === ax ? 1 : d));
  return x.graph.addNode({
    opType: 'ArgMax', inputs: [x], attributes: { axis: ax, keepdims: 1 }, outputs: [{ shape, dtype: 'int64' }], scope: x.scope,
  })[0];
}

/** ONNX GatherND: e.g. data [B,S,C], indices [B,1], batchDims 1 → [B,C] (one row per batch item). */
export function gatherNd(data: Value, indices: Value, batchDims: number): Value {
  const k = indices.shape[indices.shape.length - 1];
  if (typeof k !== 'number') throw new BuildError(`${data.scope}/GatherND: last index dim must be numeric`);
  const shape = [...indices.shape.slice(0, -1), ...data.shape.slice(batchDims + k)];
  return data.graph.addNode({
    opType: 'GatherND', inputs: [data, indices], attributes: { batch_dims: batchDims },
    outputs: [{ shape, dtype: data.dtype }], scope: data.scope,
  })[0];
}
