// Tiled VAE decoding for images too large to decode in one piece: the latent is cut into overlapping
// tiles, each decoded alone, and the pixels blended with weights that ramp up linearly across the overlap
// (ComfyUI's VAEDecodeTiled idea). Peak memory follows the tile, not the image. Tiles normalise on their
// own statistics (GroupNorm), so seams are softened by the overlap rather than removed exactly.
import type { ImageBatch } from '../../image/index.ts';
import { makeImageBatch } from '../../image/index.ts';
import type { Tensor } from '../../tensor/index.ts';
import type { SdRuntime, RuntimeLog } from '../runtime.ts';
import type { SdVae } from '../wire-types.ts';

const FACTOR = 8; // pixels per latent cell (SD1.5 VAE)

export interface TileOptions {
  /** Tile side in pixels (a multiple of 8). */
  tileSize: number;
  /** Overlap between neighbouring tiles in pixels (a multiple of 8, smaller than the tile). */
  overlap: number;
  /** Called after each tile (done, total). */
  onTile?: (done: number, total: number) => void;
}

/** Start offsets of tiles of `tile` cells with `overlap` cells over `size` cells; the last tile ends flush. */
export function tileStarts(size: number, tile: number, overlap: number): number[] {
  if (tile >= size) return [0];
  const starts: number[] = [];
  for (let start = 0; ; start += tile - overlap) {
    if (start + tile >= size) {
      starts.push(size - tile);
      return starts;
    }
    starts.push(start);
  }
}

/** Blend weight along one axis of a tile: ramps over the overlap on sides that have a neighbour. */
function ramp(position: number, length: number, overlap: number, hasBefore: boolean, hasAfter: boolean): number {
  let weight = 1;
  if (hasBefore && overlap > 0) weight = Math.min(weight, (position + 0.5) / overlap);
  if (hasAfter && overlap > 0) weight = Math.min(weight, (length - position - 0.5) / overlap);
  return weight;
}

function checkTiles(options: TileOptions): void {
  const { tileSize, overlap } = options;
  if (tileSize % FACTOR !== 0 || overlap % FACTOR !== 0 || tileSize < 64 || overlap < 0 || overlap >= tileSize) {
    throw new RangeError(`tile_size ${tileSize} and overlap ${overlap}: both must be multiples of 8, tile_size ≥ 64 and overlap < tile_size`);
  }
}

/** Decodes batch item `b` of a [B,4,h,w] latent tile by tile; returns it as one IMAGE item. */
async function decodeItem(run: (tile: Tensor) => Promise<Tensor>, latent: Tensor, b: number, options: TileOptions): Promise<ImageBatch> {
  const [, channels, h, w] = latent.dims;
  const [tile, overlap] = [options.tileSize / FACTOR, options.overlap / FACTOR];
  const rows = tileStarts(h, Math.min(tile, h), overlap);
  const cols = tileStarts(w, Math.min(tile, w), overlap);
  const [height, width] = [h * FACTOR, w * FACTOR];
  const sum = new Float32Array(height * width * 3);
  const weights = new Float32Array(height * width);
  let done = 0;
  for (const [ri, top] of rows.entries()) {
    for (const [ci, left] of cols.entries()) {
      const [th, tw] = [Math.min(tile, h), Math.min(tile, w)];
      const cells = new Float32Array(channels * th * tw);
      for (let c = 0; c < channels; c++) {
        for (let y = 0; y < th; y++) {
          const from = ((b * channels + c) * h + top + y) * w + left;
          cells.set(latent.data.subarray(from, from + tw), (c * th + y) * tw);
        }
      }
      const pixels = await run({ dims: [1, channels, th, tw], data: cells }); // [1,3,8th,8tw], raw
      const [ph, pw] = [th * FACTOR, tw * FACTOR];
      for (let y = 0; y < ph; y++) {
        const wy = ramp(y, ph, options.overlap, ri > 0, ri < rows.length - 1);
        for (let x = 0; x < pw; x++) {
          const weight = wy * ramp(x, pw, options.overlap, ci > 0, ci < cols.length - 1);
          const target = (top * FACTOR + y) * width + left * FACTOR + x;
          weights[target] += weight;
          for (let k = 0; k < 3; k++) sum[target * 3 + k] += weight * pixels.data[(k * ph + y) * pw + x];
        }
      }
      options.onTile?.(++done, rows.length * cols.length);
    }
  }
  const image = makeImageBatch(1, height, width);
  for (let i = 0; i < height * width; i++) {
    for (let k = 0; k < 3; k++) {
      const v = (sum[i * 3 + k] / weights[i] + 1) / 2;
      image.data[i * 3 + k] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return image;
}

export async function decodeLatentTiled(runtime: SdRuntime, vae: SdVae, latent: Tensor, options: TileOptions, log?: RuntimeLog): Promise<ImageBatch> {
  checkTiles(options);
  const session = await runtime.networkSession(vae.checkpoint, { kind: 'vae-decoder' }, log);
  const run = async (tile: Tensor) => (await session.run({ latent: tile })).image;
  const items: ImageBatch[] = [];
  for (let b = 0; b < latent.dims[0]; b++) items.push(await decodeItem(run, latent, b, options));
  const all = makeImageBatch(items.length, items[0].height, items[0].width);
  items.forEach((item, b) => all.data.set(item.data, b * item.data.length));
  return all;
}
