// ImageScale / comfy.utils.common_upscale: optional centre crop to the target aspect, then a
// resize on the float data. nearest-exact, bilinear, bicubic and area follow
// torch.nn.functional.interpolate (align_corners=False, no antialias; area = adaptive average
// pooling); lanczos follows ComfyUI's detour through 8-bit Pillow (Image.LANCZOS, fixed point).
// All are separable: one pass along x, one along y, with a weight table per axis.
import type { ImageBatch } from './image-batch.ts';
import { makeImageBatch } from './image-batch.ts';
import { quantizeItem } from './encode.ts';

export const SCALE_METHODS = ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'] as const;
export type ScaleMethod = (typeof SCALE_METHODS)[number];
export const CROP_MODES = ['disabled', 'center'] as const;
export type CropMode = (typeof CROP_MODES)[number];

/** For each output position, `taps` source indices and weights (unused taps have weight 0). */
interface AxisWeights {
  outSize: number;
  taps: number;
  index: Int32Array;
  weight: Float64Array;
}

function axisWeights(outSize: number, taps: number, fill: (i: number, put: (tap: number, index: number, weight: number) => void) => void): AxisWeights {
  const index = new Int32Array(outSize * taps);
  const weight = new Float64Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    fill(i, (tap, at, w) => {
      index[i * taps + tap] = at;
      weight[i * taps + tap] = w;
    });
  }
  return { outSize, taps, index, weight };
}

// torch computes the scale in float32: (float)in / out.
const torchScale = (inSize: number, outSize: number): number => Math.fround(inSize / outSize);

function nearestExactWeights(inSize: number, outSize: number): AxisWeights {
  const scale = torchScale(inSize, outSize);
  return axisWeights(outSize, 1, (i, put) => put(0, Math.min(Math.floor(Math.fround((i + 0.5) * scale)), inSize - 1), 1));
}

function bilinearWeights(inSize: number, outSize: number): AxisWeights {
  const scale = torchScale(inSize, outSize);
  return axisWeights(outSize, 2, (i, put) => {
    const source = Math.max(Math.fround(Math.fround(scale * (i + 0.5)) - 0.5), 0);
    const i0 = Math.floor(source);
    const lambda = Math.min(Math.max(Math.fround(source - i0), 0), 1);
    put(0, i0, 1 - lambda);
    put(1, i0 < inSize - 1 ? i0 + 1 : i0, lambda);
  });
}

// Keys' cubic convolution with A = -0.75, as torch's upsample_bicubic2d.
const A = -0.75;
const cubicNear = (x: number): number => ((A + 2) * x - (A + 3)) * x * x + 1;
const cubicFar = (x: number): number => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;

function bicubicWeights(inSize: number, outSize: number): AxisWeights {
  const scale = torchScale(inSize, outSize);
  return axisWeights(outSize, 4, (i, put) => {
    const source = Math.fround(Math.fround(scale * (i + 0.5)) - 0.5);
    const i0 = Math.floor(source);
    const t = Math.fround(source - i0);
    const weights = [cubicFar(t + 1), cubicNear(t), cubicNear(1 - t), cubicFar(2 - t)];
    for (let k = 0; k < 4; k++) put(k, Math.min(Math.max(i0 - 1 + k, 0), inSize - 1), weights[k]);
  });
}

/** adaptive_avg_pool: output i averages inputs floor(i*in/out) .. ceil((i+1)*in/out) - 1. */
function areaWeights(inSize: number, outSize: number): AxisWeights {
  const taps = Math.ceil(inSize / outSize) + 1;
  return axisWeights(outSize, taps, (i, put) => {
    const start = Math.floor((i * inSize) / outSize);
    const end = Math.floor(((i + 1) * inSize + outSize - 1) / outSize);
    for (let x = start; x < end; x++) put(x - start, x, 1 / (end - start));
  });
}

const PRECISION_BITS = 22; // Pillow's 8-bit resampler: 32 - 8 - 2
const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
const lanczos3 = (x: number): number => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0);

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for LANCZOS: fixed-point integer weights. */
function lanczosWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 3 * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  return axisWeights(outSize, taps, (i, put) => {
    const center = (i + 0.5) * scale;
    const min = Math.max(Math.trunc(center - support + 0.5), 0);
    const count = Math.min(Math.trunc(center + support + 0.5), inSize) - min;
    const raw: number[] = [];
    for (let x = 0; x < count; x++) raw.push(lanczos3((x + min - center + 0.5) / filterScale));
    const total = raw.reduce((s, w) => s + w, 0);
    raw.forEach((w, x) => {
      const normal = total !== 0 ? w / total : w;
      put(x, min + x, Math.trunc(normal * 2 ** PRECISION_BITS + (normal < 0 ? -0.5 : 0.5)));
    });
  });
}

/** Resamples along one axis of data laid out as [outer, inSize, inner]. With `fixedPoint`, the
 *  weights are Pillow integers and values 0..255 are rounded and clipped as Pillow does. */
function resampleAxis(source: Float32Array, outer: number, inSize: number, inner: number, weights: AxisWeights, fixedPoint: boolean): Float32Array {
  const { outSize, taps, index, weight } = weights;
  const out = new Float32Array(outer * outSize * inner);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < outSize; i++) {
      acc.fill(fixedPoint ? 2 ** (PRECISION_BITS - 1) : 0);
      for (let t = 0; t < taps; t++) {
        const w = weight[i * taps + t];
        if (w === 0) continue;
        const from = (o * inSize + index[i * taps + t]) * inner;
        for (let k = 0; k < inner; k++) acc[k] += w * source[from + k];
      }
      const to = (o * outSize + i) * inner;
      for (let k = 0; k < inner; k++) {
        out[to + k] = fixedPoint ? Math.min(Math.max(Math.floor(acc[k] / 2 ** PRECISION_BITS), 0), 255) : acc[k];
      }
    }
  }
  return out;
}

const WEIGHTS: Record<ScaleMethod, (inSize: number, outSize: number) => AxisWeights> = {
  'nearest-exact': nearestExactWeights,
  bilinear: bilinearWeights,
  bicubic: bicubicWeights,
  area: areaWeights,
  lanczos: lanczosWeights,
};

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** common_upscale's centre crop: trims the longer side so the aspect matches width/height. */
function cropCenter(image: ImageBatch, width: number, height: number): ImageBatch {
  const oldAspect = image.width / image.height;
  const newAspect = width / height;
  let x = 0;
  let y = 0;
  if (oldAspect > newAspect) x = roundHalfEven((image.width - image.width * (newAspect / oldAspect)) / 2);
  else if (oldAspect < newAspect) y = roundHalfEven((image.height - image.height * (oldAspect / newAspect)) / 2);
  if (x === 0 && y === 0) return image;
  const cropW = image.width - 2 * x;
  const cropH = image.height - 2 * y;
  const out = makeImageBatch(image.batch, cropH, cropW);
  for (let b = 0; b < image.batch; b++) {
    for (let row = 0; row < cropH; row++) {
      const from = ((b * image.height + row + y) * image.width + x) * 3;
      out.data.set(image.data.subarray(from, from + cropW * 3), ((b * cropH + row) * cropW) * 3);
    }
  }
  return out;
}

/** Pillow resizes 8-bit images: quantise as ComfyUI's lanczos() does, resample, back to 0..1. */
function lanczosResize(image: ImageBatch, width: number, height: number): ImageBatch {
  let data: Float32Array = new Float32Array(image.data.length);
  const itemSize = image.height * image.width * 3;
  for (let b = 0; b < image.batch; b++) data.set(quantizeItem(image, b), b * itemSize);
  if (width !== image.width) data = resampleAxis(data, image.batch * image.height, image.width, 3, lanczosWeights(image.width, width), true);
  if (height !== image.height) data = resampleAxis(data, image.batch, image.height, width * 3, lanczosWeights(image.height, height), true);
  for (let i = 0; i < data.length; i++) data[i] = Math.fround(data[i] / 255);
  return makeImageBatch(image.batch, height, width, data);
}

/** comfy.utils.common_upscale for IMAGE: resize to exactly width x height. */
export function resizeImage(image: ImageBatch, width: number, height: number, method: ScaleMethod, crop: CropMode): ImageBatch {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resize target must be positive integers, got ${width}x${height}`);
  }
  const source = crop === 'center' ? cropCenter(image, width, height) : image;
  if (method === 'lanczos') return lanczosResize(source, width, height);
  const horizontal = WEIGHTS[method](source.width, width);
  const vertical = WEIGHTS[method](source.height, height);
  const rows = resampleAxis(source.data, source.batch * source.height, source.width, 3, horizontal, false);
  const data = resampleAxis(rows, source.batch, source.height, width * 3, vertical, false);
  return makeImageBatch(source.batch, height, width, data);
}

/** ImageScale.upscale: a 0 side follows the aspect ratio, both 0 returns the input unchanged. */
export function scaleImage(image: ImageBatch, options: { width: number; height: number; method: ScaleMethod; crop: CropMode }): ImageBatch {
  let { width, height } = options;
  if (width === 0 && height === 0) return image;
  if (width === 0) width = Math.max(1, roundHalfEven((image.width * height) / image.height));
  else if (height === 0) height = Math.max(1, roundHalfEven((image.height * width) / image.width));
  return resizeImage(image, width, height, options.method, options.crop);
}

/** The torch.nn.functional.interpolate methods on channel planes ([planes, height, width], e.g. a
 *  latent's B·C planes): what common_upscale does to LATENT and MASK values. */
export function resizePlanes(data: Float32Array, planes: number, height: number, width: number, outHeight: number, outWidth: number, method: Exclude<ScaleMethod, 'lanczos'>): Float32Array {
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth < 1 || outHeight < 1) {
    throw new Error(`resize target must be positive integers, got ${outWidth}x${outHeight}`);
  }
  const rows = resampleAxis(data, planes * height, width, 1, WEIGHTS[method](width, outWidth), false);
  return resampleAxis(rows, planes, height, outWidth, WEIGHTS[method](height, outHeight), false);
}
