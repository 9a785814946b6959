// Runs an upscaler over an IMAGE tile by tile (ComfyUI's ImageUpscaleWithModel: 512 px tiles overlapping by
// 32 px, the tile halved on out-of-memory down to 128), so memory follows the tile and not the image: a
// 2048 px input costs what a 512 px one does, plus the output. Overlaps are blended with weights that are
// zero for the quarter of the overlap next to a tile's inner edge (where the network saw zero padding
// instead of the neighbouring pixels), then ramp linearly to one across its middle half; so a model whose
// receptive field reaches less than a quarter of the overlap gives exactly the untiled result, and deeper
// ones get a smooth, seamless hand-over.
import type { ImageBatch } from '../image/index.ts';
import { makeImageBatch } from '../image/index.ts';
import type { Tensor } from '../tensor/index.ts';

export interface TiledOptions {
  /** Output pixels per input pixel. */
  scale: number;
  /** The model takes the image pixel-unshuffled by this factor (Real-ESRGAN x2 / x1); 1 = not. */
  unshuffle: number;
  /** Tile side and overlap in input pixels (ComfyUI: 512 and 32). */
  tileSize: number;
  overlap: number;
  /** Smallest tile tried after out-of-memory errors (ComfyUI: 128). */
  minTileSize?: number;
  /** After each tile: tiles done and in all (the total grows when a tile size is retried). */
  onTile?: (done: number, total: number) => void;
  /** Called when a tile size ran out of memory and the next, halved, is tried. */
  onRetry?: (failedTile: number, nextTile: number, error: Error) => void;
}

/** Start offsets of tiles of `tile` px with `overlap` px over `size` px; the last ends flush. */
export function tileStarts(size: number, tile: number, overlap: number): number[] {
  if (tile >= size) return [0];
  const starts: number[] = [];
  for (let start = 0; ; start += tile - overlap) {
    if (start + tile >= size) return [...starts, size - tile];
    starts.push(start);
  }
}

/** Blend weight at `d` output px from an inner tile edge, for an overlap of `overlap` output px. */
function edgeWeight(d: number, overlap: number): number {
  if (overlap <= 0) return 1;
  const w = (d + 0.5 - overlap / 4) / (overlap / 2);
  return w <= 0 ? 0 : w >= 1 ? 1 : w;
}

/** Weights along one axis of a tile of `length` output px with neighbours before and/or after. */
function axisWeights(length: number, overlap: number, before: boolean, after: boolean): Float32Array {
  return Float32Array.from({ length }, (_, p) => (before ? edgeWeight(p, overlap) : 1) * (after ? edgeWeight(length - 1 - p, overlap) : 1));
}

/** Mirror index (torch 'reflect' padding) for padding past the bottom / right edge. */
function reflect(i: number, size: number): number {
  if (i < size) return i;
  return Math.max(0, 2 * size - 2 - i);
}

/** The planar [3, h, w] tile at (top, left) of item `b`, read with reflection past the image's edges. */
function cutTile(image: ImageBatch, b: number, top: number, left: number, th: number, tw: number): Float32Array {
  const { height, width } = image;
  const out = new Float32Array(3 * th * tw);
  for (let y = 0; y < th; y++) {
    const sy = reflect(top + y, height);
    for (let x = 0; x < tw; x++) {
      const src = ((b * height + sy) * width + reflect(left + x, width)) * 3;
      for (let c = 0; c < 3; c++) out[(c * th + y) * tw + x] = image.data[src + c];
    }
  }
  return out;
}

/** torch.pixel_unshuffle of a planar [C, h, w]: channel c·r² + i·r + j holds pixel (r·y + i, r·x + j). */
export function pixelUnshuffle(planes: Float32Array, channels: number, h: number, w: number, r: number): Float32Array {
  if (r === 1) return planes;
  const [oh, ow] = [h / r, w / r];
  const out = new Float32Array(planes.length);
  for (let c = 0; c < channels; c++) for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) {
    const oc = (c * r + i) * r + j;
    for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) out[(oc * oh + y) * ow + x] = planes[(c * h + r * y + i) * w + r * x + j];
  }
  return out;
}

/** Is this error onnxruntime (or V8) failing to allocate? Only those make a smaller tile worth trying. */
export function isOutOfMemory(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /out of memory|failed to allocate|bad_alloc|allocation failed|Array buffer allocation/i.test(message);
}

interface TileGrid { th: number; tw: number; rows: number[]; cols: number[]; rowOverlap: number; colOverlap: number }

/** Where the tiles of one item go for a tile size (input px, padded to a multiple of the unshuffle factor). */
function tileGrid(image: ImageBatch, tileSize: number, options: TiledOptions): TileGrid {
  const r = options.unshuffle;
  const align = (n: number) => Math.max(r, n - (n % r));
  // Pad to a multiple of the unshuffle factor (by reflection, as spandrel does), cut it off again at the end.
  const [height, width] = [Math.ceil(image.height / r) * r, Math.ceil(image.width / r) * r];
  const [th, tw] = [Math.min(align(tileSize), height), Math.min(align(tileSize), width)];
  const overlap = options.overlap - (options.overlap % r);
  const [rowOverlap, colOverlap] = [Math.min(overlap, th - r), Math.min(overlap, tw - r)];
  return { th, tw, rows: tileStarts(height, th, rowOverlap), cols: tileStarts(width, tw, colOverlap), rowOverlap, colOverlap };
}

/** One batch item, tile by tile, blended into `out` (the item's [H·s, W·s, 3] slice, zeroed by the caller). */
async function upscaleItem(run: (tile: Tensor) => Promise<Tensor>, image: ImageBatch, b: number, out: Float32Array, grid: TileGrid, options: TiledOptions, progress: { done: number; total: number }): Promise<void> {
  const { scale, unshuffle: r } = options;
  const { th, tw, rows, cols, rowOverlap, colOverlap } = grid;
  const [outH, outW] = [image.height * scale, image.width * scale];
  const weights = new Float32Array(outH * outW);
  for (const [ri, top] of rows.entries()) {
    const wy = axisWeights(th * scale, rowOverlap * scale, ri > 0, ri < rows.length - 1);
    for (const [ci, left] of cols.entries()) {
      const wx = axisWeights(tw * scale, colOverlap * scale, ci > 0, ci < cols.length - 1);
      const input = pixelUnshuffle(cutTile(image, b, top, left, th, tw), 3, th, tw, r);
      const result = await run({ dims: [1, 3 * r * r, th / r, tw / r], data: input });
      const [ph, pw] = [th * scale, tw * scale];
      if (result.dims[2] !== ph || result.dims[3] !== pw) throw new Error(`the upscale model returned a ${result.dims.join('x')} tile for a ${th}x${tw} one at scale ${scale}`);
      for (let y = 0; y < ph; y++) {
        const oy = top * scale + y;
        if (oy >= outH || wy[y] === 0) continue;
        for (let x = 0; x < pw; x++) {
          const ox = left * scale + x;
          const weight = wy[y] * wx[x];
          if (ox >= outW || weight === 0) continue;
          const target = oy * outW + ox;
          weights[target] += weight;
          for (let c = 0; c < 3; c++) out[target * 3 + c] += weight * result.data[(c * ph + y) * pw + x];
        }
      }
      progress.done++;
      options.onTile?.(progress.done, progress.total);
    }
  }
  for (let i = 0; i < weights.length; i++) {
    for (let c = 0; c < 3; c++) {
      const v = out[i * 3 + c] / weights[i];
      out[i * 3 + c] = v > 0 ? (v < 1 ? v : 1) : 0; // ComfyUI clamps the result to [0, 1] (NaN → 0)
    }
  }
}

/** Upscales every item of `image` by `run` (the model's session), tile by tile; the result is clamped to [0, 1]. */
export async function upscaleTiled(run: (tile: Tensor) => Promise<Tensor>, image: ImageBatch, options: TiledOptions): Promise<ImageBatch> {
  const { scale } = options;
  if (!(options.tileSize >= 8) || !(options.overlap >= 0) || options.overlap >= options.tileSize) {
    throw new RangeError(`tile size ${options.tileSize} and overlap ${options.overlap}: the tile must be at least 8 px and larger than the overlap`);
  }
  const result = makeImageBatch(image.batch, image.height * scale, image.width * scale);
  const itemLength = result.height * result.width * 3;
  const progress = { done: 0, total: 0 };
  for (let b = 0; b < image.batch; b++) {
    const out = result.data.subarray(b * itemLength, (b + 1) * itemLength);
    for (let tile = options.tileSize; ; tile = Math.floor(tile / 2)) {
      const grid = tileGrid(image, tile, options);
      // Progress over the whole batch at this tile size (ComfyUI counts all steps up front too).
      progress.total = progress.done + (image.batch - b) * grid.rows.length * grid.cols.length;
      try {
        out.fill(0);
        await upscaleItem(run, image, b, out, grid, options, progress);
        break;
      } catch (err) {
        const next = Math.floor(tile / 2);
        if (!isOutOfMemory(err) || next < (options.minTileSize ?? 128) || next <= options.overlap) throw err;
        options.onRetry?.(tile, next, err as Error);
      }
    }
  }
  return result;
}
