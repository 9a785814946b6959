// Resamples a square region of one IMAGE item to size×size in one separable pass per axis:
// area averaging (exact pixel coverage) when shrinking, bilinear when enlarging. Source indices
// outside the image are clamped, which repeats the edge pixels. Both filters have non-negative
// weights, so the output stays in the input's 0..1 range.
import type { ImageBatch } from '../image/index.ts';

/** A square in an item's pixels, top-left corner (x, y); it may reach outside the image. */
export interface SquareRegion {
  x: number;
  y: number;
  size: number;
}

/** For each output position, `taps` source indices (already clamped) and weights. */
interface AxisTaps {
  taps: number;
  index: Int32Array;
  weight: Float32Array;
}

const clamp = (value: number, max: number): number => (value < 0 ? 0 : value > max ? max : value);

function axisTaps(start: number, length: number, outSize: number, sourceSize: number): AxisTaps {
  const step = length / outSize;
  const taps = step > 1 ? Math.ceil(step) + 1 : 2;
  const index = new Int32Array(outSize * taps);
  const weight = new Float32Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    if (step > 1) {
      // Output pixel o covers [from, to) of the source; each source pixel weighs its overlap.
      const from = start + o * step;
      const to = from + step;
      for (let t = 0, p = Math.floor(from); p < to && t < taps; t++, p++) {
        index[o * taps + t] = clamp(p, sourceSize - 1);
        weight[o * taps + t] = (Math.min(p + 1, to) - Math.max(p, from)) / step;
      }
    } else {
      const centre = start + (o + 0.5) * step - 0.5;
      const p = Math.floor(centre);
      const t = centre - p;
      index[o * taps] = clamp(p, sourceSize - 1);
      index[o * taps + 1] = clamp(p + 1, sourceSize - 1);
      weight[o * taps] = 1 - t;
      weight[o * taps + 1] = t;
    }
  }
  return { taps, index, weight };
}

/** The region of batch item `item`, resampled to [size, size, 3] float32. */
export function resampleSquare(image: ImageBatch, item: number, region: SquareRegion, size: number): Float32Array {
  const { width, height } = image;
  const xs = axisTaps(region.x, region.size, size, width);
  const ys = axisTaps(region.y, region.size, size, height);
  // Only the source rows the vertical pass reads: a contiguous, clamped range.
  let firstRow = height;
  let lastRow = -1;
  for (let i = 0; i < ys.index.length; i++) {
    if (ys.weight[i] === 0) continue;
    firstRow = Math.min(firstRow, ys.index[i]);
    lastRow = Math.max(lastRow, ys.index[i]);
  }
  const rowCount = lastRow - firstRow + 1;
  const source = image.data.subarray(item * width * height * 3, (item + 1) * width * height * 3);
  const rows = new Float32Array(rowCount * size * 3);
  for (let r = 0; r < rowCount; r++) {
    const rowStart = (firstRow + r) * width * 3;
    for (let o = 0; o < size; o++) {
      let red = 0, green = 0, blue = 0;
      for (let t = 0; t < xs.taps; t++) {
        const w = xs.weight[o * xs.taps + t];
        if (w === 0) continue;
        const at = rowStart + xs.index[o * xs.taps + t] * 3;
        red += w * source[at];
        green += w * source[at + 1];
        blue += w * source[at + 2];
      }
      const to = (r * size + o) * 3;
      rows[to] = red;
      rows[to + 1] = green;
      rows[to + 2] = blue;
    }
  }
  const out = new Float32Array(size * size * 3);
  for (let o = 0; o < size; o++) {
    for (let t = 0; t < ys.taps; t++) {
      const w = ys.weight[o * ys.taps + t];
      if (w === 0) continue;
      const from = (ys.index[o * ys.taps + t] - firstRow) * size * 3;
      const to = o * size * 3;
      for (let k = 0; k < size * 3; k++) out[to + k] += w * rows[from + k];
    }
  }
  return out;
}
