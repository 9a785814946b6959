// Tests only: the upscaler networks written out the plain way (nested loops, no ONNX), from the tensors of
// demo-weights.ts under BasicSR / SRVGGNetCompact names, to check the graphs against.
import type { TensorToWrite } from '../onnx/index.ts';
import { referenceConv3x3, referenceNearest } from '../onnx/test-helpers.ts';
import type { Planes } from '../onnx/test-helpers.ts';

export type { Planes };

type Weights = Record<string, TensorToWrite>;

function f32(weights: Weights, key: string): Float32Array {
  const t = weights[key];
  if (!t) throw new Error(`reference: no tensor ${key}`);
  return t.data as Float32Array;
}

const conv = referenceConv3x3;

const map = (x: Planes, f: (v: number, channel: number) => number): Planes => {
  const per = x.h * x.w;
  return { ...x, data: x.data.map((v, i) => f(v, Math.floor(i / per))) };
};
const lrelu = (x: Planes) => map(x, (v) => (v >= 0 ? v : 0.2 * v));
const axpy = (a: Planes, s: number, b: Planes): Planes => ({ ...b, data: b.data.map((v, i) => a.data[i] * s + v) });
const cat = (xs: Planes[]): Planes => {
  const data = new Float32Array(xs.reduce((n, x) => n + x.data.length, 0));
  let at = 0;
  for (const x of xs) { data.set(x.data, at); at += x.data.length; }
  return { c: xs.reduce((n, x) => n + x.c, 0), h: xs[0].h, w: xs[0].w, data };
};

const nearest = referenceNearest;

/** ESRGAN RRDBNet; `unshuffle` pixel-unshuffles the input first (Real-ESRGAN x2 / x1). */
export function referenceEsrgan(weights: Weights, x: Planes, blocks: number, upsamples: number, unshuffle = 1): Planes {
  let input = x;
  if (unshuffle > 1) {
    const r = unshuffle;
    const [h, w] = [x.h / r, x.w / r];
    const data = new Float32Array(x.data.length);
    for (let c = 0; c < x.c; c++) for (let y = 0; y < x.h; y++) for (let xx = 0; xx < x.w; xx++) {
      const oc = c * r * r + (y % r) * r + (xx % r);
      data[(oc * h + Math.floor(y / r)) * w + Math.floor(xx / r)] = x.data[(c * x.h + y) * x.w + xx];
    }
    input = { c: x.c * r * r, h, w, data };
  }
  const fea = conv(weights, 'conv_first', input);
  let trunk = fea;
  for (let b = 0; b < blocks; b++) {
    let h = trunk;
    for (let d = 1; d <= 3; d++) {
      const feats = [h];
      for (let c = 1; c <= 4; c++) feats.push(lrelu(conv(weights, `body.${b}.rdb${d}.conv${c}`, cat(feats))));
      h = axpy(conv(weights, `body.${b}.rdb${d}.conv5`, cat(feats)), 0.2, h);
    }
    trunk = axpy(h, 0.2, trunk);
  }
  let h = axpy(conv(weights, 'conv_body', trunk), 1, fea);
  for (let u = 1; u <= upsamples; u++) h = lrelu(conv(weights, `conv_up${u}`, nearest(h, 2)));
  return conv(weights, 'conv_last', lrelu(conv(weights, 'conv_hr', h)));
}

/** SRVGGNetCompact with PReLU. */
export function referenceCompact(weights: Weights, x: Planes, convs: number, scale: number): Planes {
  let h = x;
  for (let i = 0; i <= convs; i++) {
    const slope = f32(weights, `body.${2 * i + 1}.weight`);
    h = map(conv(weights, `body.${2 * i}`, h), (v, c) => (v >= 0 ? v : slope[c] * v));
  }
  h = conv(weights, `body.${2 * convs + 2}`, h);
  // pixel shuffle: channel c·s² + i·s + j → pixel (s·y + i, s·x + j) of channel c
  const [oh, ow] = [x.h * scale, x.w * scale];
  const shuffled = new Float32Array(3 * oh * ow);
  for (let c = 0; c < 3; c++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    const src = c * scale * scale + (y % scale) * scale + (xx % scale);
    shuffled[(c * oh + y) * ow + xx] = h.data[(src * x.h + Math.floor(y / scale)) * x.w + Math.floor(xx / scale)];
  }
  return axpy({ c: 3, h: oh, w: ow, data: shuffled }, 1, nearest(x, scale));
}
