import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { deflateSync } from 'node:zlib';
import { configuredMaxPixels, decodeImage, DEFAULT_MAX_PIXELS, ImageDecodeError, MAX_DECODE_PIXELS_ENV } from './decode.ts';
import { crc32 } from './png-text.ts';

const f32 = Math.fround;

test('RGB PNG: NHWC float32 of byte/255, mask is 64x64 zeros', async () => {
  const bytes = Buffer.from([0, 51, 255, 10, 20, 30, 128, 129, 130, 1, 2, 254]);
  const png = await sharp(bytes, { raw: { width: 2, height: 2, channels: 3 } }).png().toBuffer();
  const { image, mask } = await decodeImage(png);
  assert.deepEqual([image.batch, image.height, image.width, image.channels], [1, 2, 2, 3]);
  assert.deepEqual([...image.data], [...bytes].map((b) => f32(b / 255)));
  assert.deepEqual([mask.batch, mask.height, mask.width], [1, 64, 64]);
  assert.ok(mask.data.every((v) => v === 0));
});

test('RGBA PNG: mask = 1 - alpha at full size', async () => {
  const rgba = Buffer.from([255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 128]);
  const png = await sharp(rgba, { raw: { width: 3, height: 1, channels: 4 } }).png().toBuffer();
  const { image, mask } = await decodeImage(png);
  assert.deepEqual([mask.batch, mask.height, mask.width], [1, 1, 3]);
  assert.deepEqual([...mask.data], [0, 1, f32(1 - f32(128 / 255))]);
  assert.deepEqual([...image.data.subarray(0, 3)], [1, 0, 0]);
});

test('grayscale PNG becomes RGB with equal channels', async () => {
  const png = await sharp(Buffer.from([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
  const { image } = await decodeImage(png);
  assert.equal(image.channels, 3);
  assert.deepEqual([...image.data.subarray(3, 6)], [f32(100 / 255), f32(100 / 255), f32(100 / 255)]);
});

test('16-bit PNG keeps its precision (value / 65535)', async () => {
  const values = new Uint16Array([0, 1, 257, 1000, 30000, 65535]);
  const png = await sharp(values, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
  const { image } = await decodeImage(png);
  assert.deepEqual([...image.data], [...values].map((v) => f32(v / 65535)));
  assert.notEqual(image.data[1], 0); // 1/65535 would be lost at 8 bits
});

test('CMYK JPEG is converted to sRGB', async () => {
  const rgb = Buffer.alloc(8 * 8 * 3);
  for (let i = 0; i < 64; i++) rgb.set([200, 30, 60], i * 3);
  const jpeg = await sharp(rgb, { raw: { width: 8, height: 8, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
  assert.equal((await sharp(jpeg).metadata()).space, 'cmyk');
  const { image } = await decodeImage(jpeg);
  assert.equal(image.channels, 3);
  const [r, g, b] = image.data;
  // Colour-managed round trip through CMYK is not exact; it must stay clearly red.
  assert.ok(r > 0.7 && g < 0.2 && b < 0.35, `got ${r} ${g} ${b}`);
});

test('EXIF orientation 6 is applied (4x2 stored → 2x4 decoded)', async () => {
  const rgb = Buffer.alloc(4 * 2 * 3, 0);
  rgb.set([255, 255, 255], 0); // top-left pixel white
  const jpeg = await sharp(rgb, { raw: { width: 4, height: 2, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
  const { image } = await decodeImage(jpeg);
  assert.deepEqual([image.height, image.width], [4, 2]);
  // Orientation 6 = rotate 90° clockwise: the stored top-left lands top-right.
  assert.ok(image.data[(0 * 2 + 1) * 3] > 0.8, 'top-right should be white');
  assert.ok(image.data[0] < 0.2, 'top-left should be dark');
});

test('animated GIF frames become a batch', async () => {
  const frames = Buffer.alloc(4 * 6 * 4);
  for (let p = 0; p < 24; p++) frames.set([p < 12 ? 0 : 255, 0, 0, 255], p * 4);
  const gif = await sharp(frames, { raw: { width: 4, height: 6, channels: 4, pageHeight: 3 } }).gif().toBuffer();
  const { image, mask } = await decodeImage(gif);
  assert.deepEqual([image.batch, image.height, image.width], [2, 3, 4]);
  assert.equal(image.data[0], 0);
  assert.equal(image.data[12 * 3], 1);
  assert.equal(mask.batch, 2);
});

test('a header claiming a huge size is refused before decoding (pixel bomb)', async () => {
  const png = await sharp(Buffer.alloc(3, 0), { raw: { width: 1, height: 1, channels: 3 } }).png().toBuffer();
  const bomb = Buffer.from(png);
  bomb.writeUInt32BE(100000, 16); // IHDR width
  bomb.writeUInt32BE(100000, 20); // IHDR height
  bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)), 29);
  await assert.rejects(decodeImage(bomb, { label: 'bomb.png' }), (error: unknown) => {
    return error instanceof ImageDecodeError && /bomb\.png is 100000x100000 = 10000000000 pixels, more than the decode limit/.test(error.message);
  });
  await assert.rejects(decodeImage(png, { maxPixels: 0 }), ImageDecodeError);
});

test('bytes that are not an image give a clear ImageDecodeError', async () => {
  await assert.rejects(decodeImage(Buffer.from('hello, not an image'), { label: 'notes.png' }), (error: unknown) => {
    return error instanceof ImageDecodeError && error.message.startsWith('notes.png is not an image we can read');
  });
});

/** A little-endian, uncompressed RGB8 multi-page TIFF whose pages have the given sizes. */
function multiPageTiff(pages: Array<{ width: number; height: number; value: number }>): Buffer {
  const header = Buffer.alloc(8);
  header.write('II', 0, 'latin1');
  header.writeUInt16LE(42, 2);
  const parts: Buffer[] = [header];
  let position = 8;
  const placed = pages.map(({ width, height, value }) => {
    const pixels = Buffer.alloc(width * height * 3, value);
    const pixelsAt = position;
    parts.push(pixels);
    position += pixels.length + (pixels.length % 2);
    if (pixels.length % 2) parts.push(Buffer.alloc(1));
    const bitsAt = position;
    parts.push(Buffer.from([8, 0, 8, 0, 8, 0]));
    position += 6;
    return { width, height, pixelsAt, bitsAt, bytes: pixels.length };
  });
  const ifdSize = 2 + 10 * 12 + 4;
  placed.forEach((page, index) => {
    const ifd = Buffer.alloc(ifdSize);
    const entries: Array<[number, number, number, number]> = [
      [256, 4, 1, page.width], [257, 4, 1, page.height], [258, 3, 3, page.bitsAt], [259, 3, 1, 1], [262, 3, 1, 2],
      [273, 4, 1, page.pixelsAt], [277, 3, 1, 3], [278, 4, 1, page.height], [279, 4, 1, page.bytes], [284, 3, 1, 1],
    ];
    ifd.writeUInt16LE(entries.length, 0);
    entries.forEach(([tag, type, count, value], i) => {
      ifd.writeUInt16LE(tag, 2 + i * 12);
      ifd.writeUInt16LE(type, 4 + i * 12);
      ifd.writeUInt32LE(count, 6 + i * 12);
      if (type === 3 && count === 1) ifd.writeUInt16LE(value, 10 + i * 12);
      else ifd.writeUInt32LE(value, 10 + i * 12);
    });
    const ifdAt = position + index * ifdSize;
    if (index === 0) header.writeUInt32LE(ifdAt, 4);
    ifd.writeUInt32LE(index + 1 < placed.length ? ifdAt + ifdSize : 0, ifdSize - 4);
    parts.push(ifd);
  });
  return Buffer.concat(parts);
}

test('multi-page TIFF: pages of the first page size form the batch, others are skipped (as ComfyUI)', async () => {
  const same = await decodeImage(multiPageTiff([{ width: 2, height: 2, value: 10 }, { width: 2, height: 2, value: 200 }]));
  assert.deepEqual([same.image.batch, same.image.height, same.image.width], [2, 2, 2]);
  assert.deepEqual([same.image.data[0], same.image.data[12]], [f32(10 / 255), f32(200 / 255)]);
  const mixed = await decodeImage(multiPageTiff([{ width: 2, height: 2, value: 10 }, { width: 3, height: 1, value: 200 }, { width: 2, height: 2, value: 90 }]));
  assert.deepEqual([mixed.image.batch, mixed.image.height, mixed.image.width], [2, 2, 2]);
  assert.deepEqual([mixed.image.data[0], mixed.image.data[12]], [f32(10 / 255), f32(90 / 255)]);
  assert.deepEqual([mixed.mask.batch, mixed.mask.height], [2, 64]);
});

test('embedded ICC profiles are ignored like Pillow does: a P3-tagged JPEG yields its stored values', async () => {
  const rgb = Buffer.alloc(4 * 4 * 3);
  for (let i = 0; i < 16; i++) rgb.set([200, 30, 60], i * 3);
  const p3 = await sharp(rgb, { raw: { width: 4, height: 4, channels: 3 } }).withIccProfile('p3').jpeg({ quality: 100 }).toBuffer();
  const stored = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
  const { image } = await decodeImage(p3);
  assert.deepEqual([...image.data.subarray(0, 3)], [...stored.subarray(0, 3)].map((b) => f32(b / 255)));
  assert.notEqual(stored[0], 200); // the profile really changed the stored numbers
});

test('grey + alpha gives grey RGB and a full-size mask; 16-bit alpha keeps precision', async () => {
  const png = await sharp(Buffer.from([10, 255, 20, 0]), { raw: { width: 2, height: 1, channels: 2 } }).png().toBuffer();
  const { image, mask } = await decodeImage(png);
  assert.deepEqual([...image.data], [10, 10, 10, 20, 20, 20].map((b) => f32(b / 255)));
  assert.deepEqual([...mask.data], [0, 1]);
  const png16 = await sharp(new Uint16Array([1000, 65535, 2000, 1]), { raw: { width: 2, height: 1, channels: 2 } }).toColourspace('grey16').png().toBuffer();
  const decoded16 = await decodeImage(png16);
  assert.deepEqual([...decoded16.mask.data], [0, f32(1 - f32(1 / 65535))]);
});

test('a truncated JPEG still loads, as ComfyUI retries with LOAD_TRUNCATED_IMAGES', async () => {
  const rgb = Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7) & 255));
  const jpeg = await sharp(rgb, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
  const { image } = await decodeImage(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
  assert.deepEqual([image.batch, image.height, image.width], [1, 64, 64]);
});

/** A valid PNG whose header claims width×height, with a few bytes of pixel data (issue #12 item 5:
 *  a 746 KB 16000x16000 PNG took RSS to 3.9 GB, inside ComfyUI's 16384² limit). */
function claimedPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

test('a 16000x16000 image is refused by the default decode limit before any pixel memory is taken', async () => {
  const before = process.memoryUsage().rss;
  const started = Date.now();
  await assert.rejects(decodeImage(claimedPng(16000, 16000), { label: 'huge.png' }), (error: unknown) => {
    return error instanceof ImageDecodeError && /huge\.png is 16000x16000 = 256000000 pixels, more than the decode limit of 33554432.*--max-decode-pixels/.test(error.message);
  });
  assert.ok(Date.now() - started < 2000, `refusing took ${Date.now() - started} ms`);
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(grown < 100, `RSS grew by ${grown.toFixed(0)} MiB`);
});

test('INVGRAPH_MAX_DECODE_PIXELS sets the limit for the process', async () => {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).png().toBuffer();
  assert.equal(configuredMaxPixels(), DEFAULT_MAX_PIXELS);
  process.env[MAX_DECODE_PIXELS_ENV] = '63';
  try {
    assert.equal(configuredMaxPixels(), 63);
    await assert.rejects(decodeImage(png), /8x8 = 64 pixels, more than the decode limit of 63/);
  } finally {
    delete process.env[MAX_DECODE_PIXELS_ENV];
  }
  assert.equal((await decodeImage(png)).image.width, 8);
});
