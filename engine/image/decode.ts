// Image file → IMAGE + MASK as ComfyUI's LoadImage builds them (nodes.py LoadImage.load_image):
// EXIF orientation applied, RGB in 0..1, MASK = 1 - alpha (64x64 zeros without alpha), frames of
// an animated/multi-page file as a batch. Decoding is sharp (libvips).
import sharp from 'sharp';
import type { Metadata } from 'sharp';
import type { ImageBatch, MaskBatch } from './image-batch.ts';
import { makeImageBatch, makeMaskBatch } from './image-batch.ts';

/** The bytes are not an image we can decode, or are larger than the decode limit allows. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}

/** Counts the pixels of all frames together. A decoded pixel costs 12 bytes as float RGB (more
 *  while converting), so ComfyUI's 16384² let a 746 KB PNG take 4 GB (issue #12 item 5); 2^25
 *  (e.g. 8192x4096, a 32-megapixel photo) stays near 400 MB. `INVGRAPH_MAX_DECODE_PIXELS`
 *  (set by `--max-decode-pixels`) changes it for this process and the execution processes it starts (they inherit the environment). */
export const DEFAULT_MAX_PIXELS = 2 ** 25;

export const MAX_DECODE_PIXELS_ENV = 'INVGRAPH_MAX_DECODE_PIXELS';

/** The decode limit in force: the environment's when set (validated by the CLI), else the default. */
export function configuredMaxPixels(): number {
  const text = process.env[MAX_DECODE_PIXELS_ENV];
  const value = text === undefined ? NaN : Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_MAX_PIXELS;
}

export interface DecodeOptions {
  maxPixels?: number;
  /** Named in error messages (e.g. the file name). */
  label?: string;
}

export interface DecodedImage {
  image: ImageBatch;
  mask: MaskBatch;
}

interface RawPixels {
  data: Uint8Array | Uint16Array;
  width: number;
  /** Height of one frame. */
  height: number;
  frames: number;
  channels: number;
  /** 255 or 65535. */
  maxValue: number;
}

async function readMetadata(input: Uint8Array, label: string, maxPixels: number): Promise<Metadata> {
  let metadata: Metadata;
  try {
    metadata = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new ImageDecodeError(`${label} is not an image we can read (${(error as Error).message}); use PNG, JPEG, WebP, GIF, TIFF or AVIF.`);
  }
  const frames = metadata.pages ?? 1;
  const pixels = (metadata.width ?? 0) * (metadata.height ?? 0) * frames;
  if (pixels > maxPixels) {
    const size = `${metadata.width}x${metadata.height}${frames > 1 ? ` x ${frames} frames` : ''}`;
    throw new ImageDecodeError(`${label} is ${size} = ${pixels} pixels, more than the decode limit of ${maxPixels}; use a smaller image, or raise the limit with --max-decode-pixels (env ${MAX_DECODE_PIXELS_ENV}).`);
  }
  return metadata;
}

interface PageOptions {
  sixteenBit: boolean;
  maxPixels: number;
  /** Which page to decode; undefined = all pages as one strip (they must share a size). */
  page: number | undefined;
}

/** Decodes to sRGB (CMYK and grey converted), 16-bit kept as 16-bit, alpha kept if present.
 *  (choice) Embedded ICC profiles are ignored, as Pillow does in ComfyUI, so pixel values
 *  match ComfyUI's; CMYK still goes through sharp's CMYK → sRGB conversion. */
async function decodePages(input: Uint8Array, options: PageOptions): Promise<RawPixels> {
  const { sixteenBit, maxPixels, page } = options;
  const all = page === undefined;
  // The pixel check already ran on all frames; sharp's own limit guards against lying headers.
  // failOn 'none': ComfyUI (node_helpers.pillow) retries with LOAD_TRUNCATED_IMAGES, so a cut-off
  // file still loads there, with its missing part filled in.
  const source = { limitInputPixels: maxPixels, ignoreIcc: true, failOn: 'none' as const };
  let pipeline = sharp(input, { ...source, ...(all ? { animated: true } : { page }) });
  // Orientation is an EXIF tag of still images; rotating a frame strip would scramble frames.
  if (!all) pipeline = pipeline.autoOrient();
  pipeline = pipeline.toColourspace(sixteenBit ? 'rgb16' : 'srgb');
  const { data, info } = await pipeline.raw(sixteenBit ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  const frames = all ? (info.pages ?? 1) : 1;
  // Uint16Array needs an even byte offset; copy in the rare case the buffer is not aligned.
  const bytes = sixteenBit && data.byteOffset % 2 !== 0 ? Buffer.from(data) : data;
  const pixels = sixteenBit ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { data: pixels, width: info.width, height: info.height / frames, frames, channels: info.channels, maxValue: sixteenBit ? 65535 : 255 };
}

/** Pages of differing sizes cannot be read as one strip: decode each and, as ComfyUI does,
 *  keep those with the first page's size. */
async function decodeEachPage(input: Uint8Array, pages: number, options: Omit<PageOptions, 'page'>): Promise<RawPixels> {
  const kept: RawPixels[] = [];
  for (let page = 0; page < pages; page++) {
    const frame = await decodePages(input, { ...options, page });
    const first = kept[0];
    if (first && (frame.width !== first.width || frame.height !== first.height || frame.channels !== first.channels)) continue;
    kept.push(frame);
  }
  const first = kept[0];
  const data = first.maxValue === 65535 ? new Uint16Array(first.data.length * kept.length) : new Uint8Array(first.data.length * kept.length);
  kept.forEach((frame, i) => data.set(frame.data, i * first.data.length));
  return { ...first, data, frames: kept.length };
}

async function decodeRaw(input: Uint8Array, metadata: Metadata, maxPixels: number): Promise<RawPixels> {
  const options = { sixteenBit: metadata.depth === 'ushort', maxPixels };
  const pages = metadata.pages ?? 1;
  if (pages <= 1) return decodePages(input, { ...options, page: 0 });
  try {
    return await decodePages(input, { ...options, page: undefined });
  } catch {
    // libvips refuses a strip of pages with different sizes ("page 1 differs from page 0").
    return decodeEachPage(input, pages, options);
  }
}

function toBatches(raw: RawPixels): DecodedImage {
  const { width, height, frames, channels, maxValue, data } = raw;
  const image = makeImageBatch(frames, height, width);
  const count = frames * height * width;
  const hasAlpha = channels === 4;
  const mask = hasAlpha ? makeMaskBatch(frames, height, width) : makeMaskBatch(frames, 64, 64);
  for (let p = 0; p < count; p++) {
    // float32 division as ComfyUI's numpy `astype(float32) / 255.0`.
    image.data[p * 3] = Math.fround(data[p * channels] / maxValue);
    image.data[p * 3 + 1] = Math.fround(data[p * channels + 1] / maxValue);
    image.data[p * 3 + 2] = Math.fround(data[p * channels + 2] / maxValue);
    if (hasAlpha) mask.data[p] = Math.fround(1 - Math.fround(data[p * channels + 3] / maxValue));
  }
  return { image, mask };
}

/** Decodes an image file's bytes. Throws ImageDecodeError for non-images and pixel bombs. */
export async function decodeImage(input: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const label = options.label ?? 'the image';
  const maxPixels = options.maxPixels ?? configuredMaxPixels();
  const metadata = await readMetadata(input, label, maxPixels);
  let raw: RawPixels;
  try {
    raw = await decodeRaw(input, metadata, maxPixels);
  } catch (error) {
    throw new ImageDecodeError(`${label} could not be decoded (${(error as Error).message}); the file may be damaged or truncated.`);
  }
  if (raw.channels !== 3 && raw.channels !== 4) {
    throw new ImageDecodeError(`${label} decoded to ${raw.channels} channels; only RGB and RGBA images are supported.`);
  }
  return toBatches(raw);
}
