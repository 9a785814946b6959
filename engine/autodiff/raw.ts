// The few raw ONNX nodes the backward rules need beyond engine/onnx's vocabulary (reductions, Pad,
// ConvTranspose, Conv with dilations). Static (numeric) shapes only: training graphs have fixed sizes.
import type { Value } from '../onnx/index.ts';
import { BuildError, int64Const } from '../onnx/index.ts';

export function dims(v: Value): number[] {
  return v.shape.map((d) => {
    if (typeof d !== 'number') throw new BuildError(`autodiff: ${v.name} has symbolic shape ${v.shape.join('x')}; training graphs need fixed sizes`);
    return d;
  });
}

function reduce(op: 'ReduceSum' | 'ReduceMean', x: Value, axes: readonly number[], keepdims: boolean): Value {
  const d = dims(x);
  const ax = axes.map((a) => (a < 0 ? a + d.length : a));
  const shape = keepdims ? d.map((s, i) => (ax.includes(i) ? 1 : s)) : d.filter((_, i) => !ax.includes(i));
  if (op === 'ReduceSum') {
    return x.graph.addNode({
      opType: op, inputs: [x, int64Const(x.graph, ax)], attributes: { keepdims: keepdims ? 1 : 0 },
      outputs: [{ shape, dtype: x.dtype }], scope: x.scope,
    })[0];
  }
  // ReduceMean takes axes as an input from opset 18.
  return x.graph.addNode({
    opType: op, inputs: [x, int64Const(x.graph, ax)], attributes: { keepdims: keepdims ? 1 : 0 },
    outputs: [{ shape, dtype: x.dtype }], scope: x.scope,
  })[0];
}

export const reduceSum = (x: Value, axes: readonly number[], keepdims = true): Value => reduce('ReduceSum', x, axes, keepdims);
export const reduceMean = (x: Value, axes: readonly number[], keepdims = true): Value => reduce('ReduceMean', x, axes, keepdims);

/** Zero padding: `before`/`after` per axis. */
export function padZeros(x: Value, before: readonly number[], after: readonly number[]): Value {
  const d = dims(x);
  const shape = d.map((s, i) => s + before[i] + after[i]);
  return x.graph.addNode({
    opType: 'Pad', inputs: [x, int64Const(x.graph, [...before, ...after])], attributes: { mode: 'constant' },
    outputs: [{ shape, dtype: x.dtype }], scope: x.scope,
  })[0];
}

export interface Conv2dAttrs {
  strides: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  dilations?: [number, number];
}

export function conv(x: Value, w: Value, b: Value | null, a: Conv2dAttrs): Value {
  const [n, , h, wd] = dims(x);
  const [co, , kh, kw] = dims(w);
  const dl = a.dilations ?? [1, 1];
  const oh = Math.floor((h + a.pads[0] + a.pads[2] - ((kh - 1) * dl[0] + 1)) / a.strides[0]) + 1;
  const ow = Math.floor((wd + a.pads[1] + a.pads[3] - ((kw - 1) * dl[1] + 1)) / a.strides[1]) + 1;
  return x.graph.addNode({
    opType: 'Conv', inputs: b ? [x, w, b] : [x, w],
    attributes: { kernel_shape: [kh, kw], strides: a.strides, pads: a.pads, dilations: dl },
    outputs: [{ shape: [n, co, oh, ow], dtype: x.dtype }], scope: x.scope,
  })[0];
}

/** The input gradient of a Conv: ConvTranspose of dy with the same weight, sized back to `inHW`. */
export function convTranspose(dy: Value, w: Value, a: Conv2dAttrs, inHW: [number, number]): Value {
  const [n, , oh, ow] = dims(dy);
  const [, ci, kh, kw] = dims(w);
  const [s0, s1] = a.strides;
  const outPad = [
    inHW[0] - ((oh - 1) * s0 + kh - a.pads[0] - a.pads[2]),
    inHW[1] - ((ow - 1) * s1 + kw - a.pads[1] - a.pads[3]),
  ];
  if (outPad.some((p, i) => p < 0 || p >= a.strides[i])) throw new BuildError(`autodiff: ConvTranspose cannot restore ${inHW.join('x')}`);
  return dy.graph.addNode({
    opType: 'ConvTranspose', inputs: [dy, w],
    attributes: { kernel_shape: [kh, kw], strides: a.strides, pads: a.pads, output_padding: outPad },
    outputs: [{ shape: [n, ci, inHW[0], inHW[1]], dtype: dy.dtype }], scope: dy.scope,
  })[0];
}
