// Test helpers for engine/onnx: build a graph over weights written to a temp .safetensors file, run it
// on the CPU, and plain-JS reference maths to compare against.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, Module } from './graph-builder.ts';
import type { ComputeType } from './graph-builder.ts';
import { writeSafetensors, openSafetensors, safetensorsSource } from './safetensors.ts';
import type { TensorToWrite } from './safetensors.ts';
import { saveModel } from './model-file.ts';
import { createSession } from './session.ts';
import type { Feed } from './session.ts';
import type { Tensor } from '../tensor/index.ts';

const created: string[] = [];

/** A fresh temp folder, removed when the test process exits. */
export function tempDir(prefix = 'invgraph-test-'): string {
  if (created.length === 0) process.once('exit', () => created.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Deterministic pseudo-random values in [-1, 1). */
export function noise(n: number, seed = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

export async function runGraph(
  weights: Record<string, TensorToWrite>,
  build: (g: GraphBuilder, root: Module) => void,
  feeds: Record<string, Feed>,
  compute: ComputeType = 'float32',
): Promise<Record<string, Tensor>> {
  const dir = tempDir();
  writeSafetensors(join(dir, 'w.safetensors'), weights);
  const g = new GraphBuilder({ name: 'test', compute });
  build(g, new Module(g, safetensorsSource(openSafetensors(join(dir, 'w.safetensors'))), ''));
  const session = await createSession(saveModel(g, join(dir, 'graph')), { device: 'cpu', threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** NCHW convolution; pads [top, left, bottom, right]. */
export function refConv(x: Float32Array, [b, c, h, w]: number[], wt: Float32Array, [co, , kh, kw]: number[], bias: Float32Array | null, stride: number, pads: number[]): { data: Float32Array; dims: number[] } {
  const oh = Math.floor((h + pads[0] + pads[2] - kh) / stride) + 1;
  const ow = Math.floor((w + pads[1] + pads[3] - kw) / stride) + 1;
  const out = new Float32Array(b * co * oh * ow);
  for (let n = 0; n < b; n++) for (let o = 0; o < co; o++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let acc = bias ? bias[o] : 0;
    for (let i = 0; i < c; i++) for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = y * stride + ky - pads[0];
      const ix = xx * stride + kx - pads[1];
      if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
      acc += x[((n * c + i) * h + iy) * w + ix] * wt[((o * c + i) * kh + ky) * kw + kx];
    }
    out[((n * co + o) * oh + y) * ow + xx] = acc;
  }
  return { data: out, dims: [b, co, oh, ow] };
}

export function refGroupNorm(x: Float32Array, [b, c, ...rest]: number[], groups: number, gamma: Float32Array, beta: Float32Array, eps: number): Float32Array {
  const inner = rest.reduce((p, q) => p * q, 1);
  const per = (c / groups) * inner;
  const out = new Float32Array(x.length);
  for (let n = 0; n < b; n++) for (let gi = 0; gi < groups; gi++) {
    const start = (n * c + gi * (c / groups)) * inner;
    let mean = 0;
    for (let i = 0; i < per; i++) mean += x[start + i];
    mean /= per;
    let v = 0;
    for (let i = 0; i < per; i++) v += (x[start + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / per + eps);
    for (let i = 0; i < per; i++) {
      const ch = gi * (c / groups) + Math.floor(i / inner);
      out[start + i] = (x[start + i] - mean) * inv * gamma[ch] + beta[ch];
    }
  }
  return out;
}

/** q [B,S,D], k/v [B,L,D] → [B,S,D]. */
export function refAttention(q: Float32Array, k: Float32Array, v: Float32Array, [b, s, d]: number[], l: number, heads: number, causal: boolean): Float32Array {
  const hd = d / heads;
  const out = new Float32Array(b * s * d);
  for (let n = 0; n < b; n++) for (let h = 0; h < heads; h++) for (let i = 0; i < s; i++) {
    const scores: number[] = [];
    for (let j = 0; j < l; j++) {
      let dot = 0;
      for (let e = 0; e < hd; e++) dot += q[(n * s + i) * d + h * hd + e] * k[(n * l + j) * d + h * hd + e];
      scores.push(causal && j > i ? -Infinity : dot / Math.sqrt(hd));
    }
    const m = Math.max(...scores);
    const p = scores.map((x) => Math.exp(x - m));
    const z = p.reduce((a, c) => a + c, 0);
    for (let e = 0; e < hd; e++) {
      let acc = 0;
      for (let j = 0; j < l; j++) acc += (p[j] / z) * v[(n * l + j) * d + h * hd + e];
      out[(n * s + i) * d + h * hd + e] = acc;
    }
  }
  return out;
}

/** Channel planes [C,H,W] for the plain reference networks of tests. */
export interface Planes { c: number; h: number; w: number; data: Float32Array }

/** Plain 3×3 convolution, zero padding 1, of `x` with `weights[name.weight]` (+ `name.bias` when present). */
export function referenceConv3x3(weights: Record<string, TensorToWrite>, name: string, x: Planes): Planes {
  const w = weights[`${name}.weight`]?.data as Float32Array | undefined;
  if (!w) throw new Error(`reference: no tensor ${name}.weight`);
  const bias = weights[`${name}.bias`]?.data as Float32Array | undefined;
  const co = weights[`${name}.weight`].shape[0];
  const out = new Float32Array(co * x.h * x.w);
  for (let o = 0; o < co; o++) for (let y = 0; y < x.h; y++) for (let xx = 0; xx < x.w; xx++) {
    let acc = bias ? bias[o] : 0;
    for (let i = 0; i < x.c; i++) for (let ky = -1; ky <= 1; ky++) for (let kx = -1; kx <= 1; kx++) {
      const [iy, ix] = [y + ky, xx + kx];
      if (iy < 0 || ix < 0 || iy >= x.h || ix >= x.w) continue;
      acc += x.data[(i * x.h + iy) * x.w + ix] * w[((o * x.c + i) * 3 + ky + 1) * 3 + kx + 1];
    }
    out[(o * x.h + y) * x.w + xx] = acc;
  }
  return { c: co, h: x.h, w: x.w, data: out };
}

/** Plain nearest-neighbour upsampling by an integer factor. */
export function referenceNearest(x: Planes, s: number): Planes {
  const [h, w] = [x.h * s, x.w * s];
  const data = new Float32Array(x.c * h * w);
  for (let c = 0; c < x.c; c++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) data[(c * h + y) * w + xx] = x.data[(c * x.h + Math.floor(y / s)) * x.w + Math.floor(xx / s)];
  return { c: x.c, h, w, data };
}
