// Encodes small RGB previews (live sampling previews) as JPEG for the websocket's binary frames.
import sharp from 'sharp';

/** Previews are upscaled to at least this many pixels on the short side so the editor shows something. */
const MIN_PREVIEW_SIDE = 64;

export async function encodePreviewJpeg(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const scale = Math.max(1, Math.ceil(MIN_PREVIEW_SIDE / Math.min(width, height)));
  const jpeg = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(width * scale, height * scale, { kernel: 'nearest' })
    .jpeg({ quality: 85 })
    .toBuffer();
  return new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
}
