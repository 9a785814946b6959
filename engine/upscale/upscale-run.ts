// ImageUpscaleWithModel's work: the model's graph (cached on disk), a session for the duration of the call
// (ComfyUI likewise moves the model to the device and back for each upscale), the image run tile by tile.
import { createSession } from '../onnx/index.ts';
import type { Device } from '../onnx/index.ts';
import type { ImageBatch } from '../image/index.ts';
import type { Tensor } from '../tensor/index.ts';
import type { UpscaleModel } from './upscale-model.ts';
import { upscaleModelPath } from './upscale-model.ts';
import { upscaleTiled } from './tiled.ts';

/** ComfyUI's tile and overlap (input pixels). */
export const UPSCALE_TILE = 512;
export const UPSCALE_OVERLAP = 32;
/**
 * Most output pixels (all batch items) one call may produce: 2^27 ≈ 134 M, 1.6 GB as float32 RGB — a batch of
 * two 2048 px images at 4×. Larger requests are refused before any work instead of exhausting memory.
 */
export const MAX_UPSCALE_OUTPUT_PIXELS = 2 ** 27;

export interface UpscaleRunOptions {
  /** Graph cache folder. */
  cacheDir: string;
  device?: Device;
  threads?: number;
  tileSize?: number;
  overlap?: number;
  onTile?: (done: number, total: number) => void;
  log?: (message: string) => void;
}

export async function upscaleImage(model: UpscaleModel, image: ImageBatch, options: UpscaleRunOptions): Promise<ImageBatch> {
  const { scale, unshuffle } = model.arch;
  const outPixels = image.batch * image.height * scale * image.width * scale;
  if (outPixels > MAX_UPSCALE_OUTPUT_PIXELS) {
    throw new RangeError(`upscaling ${image.batch} image(s) of ${image.width}x${image.height} by ${scale}x would make ${(outPixels / 1e6).toFixed(0)} M pixels; at most ${(MAX_UPSCALE_OUTPUT_PIXELS / 1e6).toFixed(0)} M are produced in one call (scale the image down first, or upscale fewer images at once)`);
  }
  const started = performance.now();
  const { path, built } = upscaleModelPath(options.cacheDir, model);
  if (built) options.log?.(`built upscale graph in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const session = await createSession(path, { device: options.device ?? 'auto', threads: options.threads ?? 0 });
  try {
    const run = async (tile: Tensor) => (await session.run({ image: tile })).upscaled;
    return await upscaleTiled(run, image, {
      scale, unshuffle, tileSize: options.tileSize ?? UPSCALE_TILE, overlap: options.overlap ?? UPSCALE_OVERLAP, onTile: options.onTile,
      onRetry: (failed, next) => options.log?.(`out of memory with ${failed} px tiles; trying ${next} px`),
    });
  } finally {
    await session.release();
  }
}
