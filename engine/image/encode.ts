// One IMAGE batch item → PNG bytes, quantised as ComfyUI's SaveImage does
// (np.clip(255. * i, 0, 255).astype(np.uint8): float32 product, then truncation), with tEXt chunks.
import sharp from 'sharp';
import type { ImageBatch } from './image-batch.ts';
import { insertPngTextChunks } from './png-text.ts';

export interface EncodePngOptions {
  /** keyword → text, written as tEXt chunks in this order. */
  text?: ReadonlyArray<readonly [string, string]>;
  /** zlib level: ComfyUI uses 4 for SaveImage and 1 for PreviewImage. */
  compressionLevel?: number;
}

/** 8-bit RGB bytes of batch item `index`. NaN becomes 0 (numpy's cast is undefined there). */
export function quantizeItem(image: ImageBatch, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= image.batch) {
    throw new Error(`batch index ${index} is outside 0..${image.batch - 1}`);
  }
  const size = image.height * image.width * 3;
  const source = image.data.subarray(index * size, (index + 1) * size);
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const scaled = Math.fround(source[i] * 255);
    bytes[i] = scaled >= 255 ? 255 : scaled > 0 ? Math.trunc(scaled) : 0;
  }
  return bytes;
}

export async function encodePng(image: ImageBatch, index: number, options: EncodePngOptions = {}): Promise<Buffer> {
  const pixels = quantizeItem(image, index);
  const png = await sharp(pixels, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel: options.compressionLevel ?? 4 })
    .toBuffer();
  return options.text && options.text.length > 0 ? insertPngTextChunks(png, options.text) : png;
}
