// Ops the upscaler networks need beyond engine/onnx's vocabulary: LeakyReLU, PReLU and pixel shuffle.
// Kept here (not in ops-nn.ts) while the upscalers are their only users; each checks its shapes like the
// shared ops do, and node names follow the same `<scope>/<OpType>` rule.
import { BuildError, mulDims, reshape } from '../onnx/index.ts';
import type { Value } from '../onnx/index.ts';

/** max(x, 0) + slope·min(x, 0) (ESRGAN: slope 0.2). */
export function leakyRelu(x: Value, slope: number): Value {
  return x.graph.addNode({
    opType: 'LeakyRelu', inputs: [x], attributes: { alpha: { float: slope } }, outputs: [{ shape: x.shape, dtype: x.dtype }], scope: x.scope,
  })[0];
}

/** PReLU with one learned slope per channel: `slope` [C] for x [B,C,H,W] (torch nn.PReLU(C)). */
export function prelu(x: Value, slope: Value): Value {
  const c = x.shape[1];
  if (x.shape.length !== 4 || slope.shape.length !== 1 || slope.shape[0] !== c) {
    throw new BuildError(`${slope.scope}/PRelu: slope ${JSON.stringify(slope.shape)} does not fit input ${JSON.stringify(x.shape)} (needs [C] for [B,C,H,W])`);
  }
  return x.graph.addNode({
    opType: 'PRelu', inputs: [x, reshape(slope, [c, 1, 1])], outputs: [{ shape: x.shape, dtype: x.dtype }], scope: slope.scope,
  })[0];
}

/** torch.pixel_shuffle: [B, C·r², H, W] → [B, C, r·H, r·W] (ONNX DepthToSpace in CRD order is the same). */
export function pixelShuffle(x: Value, r: number): Value {
  const c = x.shape[1];
  if (x.shape.length !== 4 || typeof c !== 'number' || c % (r * r) !== 0) {
    throw new BuildError(`${x.scope}/DepthToSpace: ${JSON.stringify(x.shape)} has no channel count divisible by ${r * r}`);
  }
  const shape = [x.shape[0], c / (r * r), mulDims(x.shape[2], r), mulDims(x.shape[3], r)];
  return x.graph.addNode({
    opType: 'DepthToSpace', inputs: [x], attributes: { blocksize: r, mode: 'CRD' }, outputs: [{ shape, dtype: x.dtype }], scope: x.scope,
  })[0];
}

