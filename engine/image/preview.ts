// Encodes small RGB previews (live sampling previews) as JPEG for the websocket's binary frames.
import sharp from 'sharp';

/** Previews are upscaled to at least this many pixels on the short side so the editor shows something. */
const MIN_PREVIEW_SIDE = 64;

/** JPEG of an RGB preview: small ones scaled up (nearest) to MIN_PREVIEW_SIDE on the short side, ones larger
 *  than `maxSide` scaled down to fit it. */
export async function encodePreviewJpeg(rgb: Uint8Array, width: number, height: number, options: { maxSide?: number } = {}): Promise<Uint8Array> {
  let image = sharp(rgb, { raw: { width, height, channels: 3 } });
  const longSide = Math.max(width, height);
  if (options.maxSide !== undefined && longSide > options.maxSide) {
    image = image.resize({ width: options.maxSide, height: options.maxSide, fit: 'inside' });
  } else {
    const scale = Math.max(1, Math.ceil(MIN_PREVIEW_SIDE / Math.min(width, height)));
    if (scale > 1) image = image.resize(width * scale, height * scale, { kernel: 'nearest' });
  }
  const jpeg = await image.jpeg({ quality: 85 }).toBuffer();
  return new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
}
