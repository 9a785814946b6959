// ControlNet hint preprocessors that need no model weights: Canny edges as ComfyUI's Canny node computes them
// (kornia.filters.canny: grayscale, 5×5 Gaussian σ 1, unnormalised Sobel, non-max suppression, hysteresis) and
// a depth-style normalisation (luminance, min-max, optional invert). IMAGE in, IMAGE out (gray in all 3 channels).
import type { ImageBatch } from './image-batch.ts';
import { makeImageBatch } from './image-batch.ts';

const f32 = Math.fround;

/** kornia rgb_to_grayscale weights for float images (ITU-R BT.601). */
function luminance(image: ImageBatch, item: number): Float32Array {
  const plane = image.height * image.width;
  const src = image.data.subarray(item * plane * 3, (item + 1) * plane * 3);
  const gray = new Float32Array(plane);
  for (let p = 0; p < plane; p++) gray[p] = f32(f32(f32(0.299 * src[3 * p]) + f32(0.587 * src[3 * p + 1])) + f32(0.114 * src[3 * p + 2]));
  return gray;
}

/** A single-channel plane written to all 3 channels of item `item`. */
function putGray(out: ImageBatch, item: number, gray: Float32Array): void {
  const plane = out.height * out.width;
  for (let p = 0; p < plane; p++) out.data.fill(gray[p], (item * plane + p) * 3, (item * plane + p) * 3 + 3);
}

/** Index after padding: reflect (…2,1,|0,1,2…) or replicate (…0,0,|0,1,2…). */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  let k = i;
  while (k < 0 || k >= n) k = k < 0 ? -k : 2 * (n - 1) - k;
  return k;
}
const replicateIndex = (i: number, n: number): number => Math.min(Math.max(i, 0), n - 1);

/** 5×5 Gaussian blur, σ 1, reflect padding (kornia gaussian_blur2d), as two separable passes. */
function gaussianBlur(gray: Float32Array, height: number, width: number): Float32Array {
  const taps = [-2, -1, 0, 1, 2].map((x) => Math.exp(-0.5 * x * x));
  const total = taps.reduce((a, b) => a + b, 0);
  const kernel = taps.map((t) => f32(t / total));
  const rows = new Float32Array(gray.length);
  const out = new Float32Array(gray.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let k = 0; k < 5; k++) acc += kernel[k] * gray[y * width + reflectIndex(x + k - 2, width)];
      rows[y * width + x] = acc;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let k = 0; k < 5; k++) acc += kernel[k] * rows[reflectIndex(y + k - 2, height) * width + x];
      out[y * width + x] = acc;
    }
  }
  return out;
}

/** Neighbour offsets [dy, dx] of kornia's 8 NMS directions (0 = right, then clockwise in image coordinates). */
const DIRECTIONS: ReadonlyArray<readonly [number, number]> = [[0, 1], [1, 1], [1, 0], [1, -1], [0, -1], [-1, -1], [-1, 0], [-1, 1]];

/** Python/torch round(): halves to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Gradient magnitude after non-maximum suppression along the gradient direction (rounded to 45°). */
function suppressedMagnitude(blurred: Float32Array, height: number, width: number): Float32Array {
  const at = (y: number, x: number) => blurred[replicateIndex(y, height) * width + replicateIndex(x, width)];
  const magnitude = new Float32Array(blurred.length);
  const direction = new Uint8Array(blurred.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Sobel [[-1,0,1],[-2,0,2],[-1,0,1]] and its transpose, unnormalised (kornia canny: normalized=False).
      const gx = at(y - 1, x + 1) - at(y - 1, x - 1) + 2 * (at(y, x + 1) - at(y, x - 1)) + at(y + 1, x + 1) - at(y + 1, x - 1);
      const gy = at(y + 1, x - 1) - at(y - 1, x - 1) + 2 * (at(y + 1, x) - at(y - 1, x)) + at(y + 1, x + 1) - at(y - 1, x + 1);
      magnitude[y * width + x] = Math.sqrt(gx * gx + gy * gy + 1e-6);
      const degrees = f32((180 * Math.atan2(gy, gx)) / Math.PI);
      direction[y * width + x] = ((roundHalfEven(degrees / 45) % 8) + 8) % 8;
    }
  }
  // Outside the image counts as 0 (zero-padded convolution).
  const value = (y: number, x: number) => (y < 0 || y >= height || x < 0 || x >= width ? 0 : magnitude[y * width + x]);
  const out = new Float32Array(blurred.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const m = magnitude[y * width + x];
      const [dy, dx] = DIRECTIONS[direction[y * width + x]];
      if (m - value(y + dy, x + dx) > 0 && m - value(y - dy, x - dx) > 0) out[y * width + x] = m;
    }
  }
  return out;
}

/** Double threshold (strict >), then hysteresis: pixels above `low` that are 8-connected, through such pixels,
 *  to one above `high` become edges (1); the rest 0. Same fixed point as kornia's iterated 3×3 dilation. */
export function hysteresisEdges(magnitude: Float32Array, height: number, width: number, low: number, high: number): Float32Array {
  const edges = new Float32Array(magnitude.length);
  const stack: number[] = [];
  magnitude.forEach((m, p) => {
    if (m > high) {
      edges[p] = 1;
      stack.push(p);
    }
  });
  while (stack.length > 0) {
    const p = stack.pop() as number;
    const y = Math.floor(p / width);
    const x = p % width;
    for (const [dy, dx] of DIRECTIONS) {
      const ny = y + dy;
      const nx = x + dx;
      if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
      const q = ny * width + nx;
      if (edges[q] === 0 && magnitude[q] > low) {
        edges[q] = 1;
        stack.push(q);
      }
    }
  }
  return edges;
}

export interface CannyOptions {
  /** Thresholds on the unnormalised Sobel magnitude of 0..1 images, 0 < low ≤ high < 1 (ComfyUI: 0.4, 0.8). */
  lowThreshold: number;
  highThreshold: number;
}

export class PreprocessError extends Error {}

/** Canny edge map per image: 1 on edges, 0 elsewhere, in all three channels. */
export function cannyEdges(image: ImageBatch, options: CannyOptions): ImageBatch {
  const { lowThreshold: low, highThreshold: high } = options;
  if (!(low > 0 && high < 1 && low <= high)) {
    throw new PreprocessError(`Canny thresholds must satisfy 0 < low_threshold ≤ high_threshold < 1; got low ${low}, high ${high}`);
  }
  const out = makeImageBatch(image.batch, image.height, image.width);
  for (let b = 0; b < image.batch; b++) {
    const blurred = gaussianBlur(luminance(image, b), image.height, image.width);
    const magnitude = suppressedMagnitude(blurred, image.height, image.width);
    putGray(out, b, hysteresisEdges(magnitude, image.height, image.width, low, high));
  }
  return out;
}

/**
 * Depth-style hint from an image (no depth model): luminance, min-max normalised per image to 0..1
 * (a constant image gives 0, or 1 inverted), optionally inverted (1 − v, so dark = near becomes bright as depth maps are).
 */
export function depthStyle(image: ImageBatch, options: { invert: boolean }): ImageBatch {
  const out = makeImageBatch(image.batch, image.height, image.width);
  for (let b = 0; b < image.batch; b++) {
    const gray = luminance(image, b);
    let min = Infinity;
    let max = -Infinity;
    for (const v of gray) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const range = max - min;
    for (let p = 0; p < gray.length; p++) {
      const v = range > 0 ? (gray[p] - min) / range : 0;
      gray[p] = options.invert ? 1 - v : v;
    }
    putGray(out, b, gray);
  }
  return out;
}
