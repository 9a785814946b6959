import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { crc32, insertPngTextChunks, readPngTextChunks, PngFormatError } from './png-text.ts';

async function tinyPng(): Promise<Buffer> {
  return sharp(Buffer.alloc(2 * 2 * 3, 100), { raw: { width: 2, height: 2, channels: 3 } }).png().toBuffer();
}

function chunkList(png: Buffer): Array<{ type: string; crcOk: boolean }> {
  const list: Array<{ type: string; crcOk: boolean }> = [];
  for (let offset = 8; offset < png.length; ) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const crc = png.readUInt32BE(offset + 8 + length);
    list.push({ type, crcOk: crc === crc32(png.subarray(offset + 4, offset + 8 + length)) });
    offset += 12 + length;
  }
  return list;
}

function rawChunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

test('crc32 matches the PNG/zlib CRC', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  const zlibCrc = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (zlibCrc) {
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 37) & 0xff));
    assert.equal(crc32(bytes), zlibCrc(bytes));
  }
});

test('tEXt chunks go right after IHDR, in order, with valid CRCs, and read back exactly', async () => {
  const png = await tinyPng();
  const prompt = '{"3": {"inputs": {"seed": 18446744073709551615, "cfg": 8.0}}}';
  const out = insertPngTextChunks(png, [['prompt', prompt], ['workflow', '{"nodes": []}'], ['extra', 'caf\u00e9']]);
  const chunks = chunkList(out);
  assert.deepEqual(chunks.slice(0, 4).map((c) => c.type), ['IHDR', 'tEXt', 'tEXt', 'tEXt']);
  assert.ok(chunks.every((c) => c.crcOk));
  assert.deepEqual(readPngTextChunks(out), { prompt, workflow: '{"nodes": []}', extra: 'caf\u00e9' });
  const { width } = await sharp(out).metadata();
  assert.equal(width, 2);
});

test('zTXt and iTXt (plain and compressed) are read too', async () => {
  const png = await tinyPng();
  const ztxt = rawChunk('zTXt', Buffer.concat([Buffer.from('z\0\0', 'latin1'), zlib.deflateSync(Buffer.from('zipped text', 'latin1'))]));
  const itxt = rawChunk('iTXt', Buffer.concat([Buffer.from('i\0\0\0en\0I\0', 'latin1'), Buffer.from('\u2603 snow', 'utf8')]));
  const itxtZ = rawChunk('iTXt', Buffer.concat([Buffer.from('iz\0\x01\0\0\0', 'latin1'), zlib.deflateSync(Buffer.from('\u00fcber', 'utf8'))]));
  const withText = Buffer.concat([png.subarray(0, 33), ztxt, itxt, itxtZ, png.subarray(33)]);
  assert.deepEqual(readPngTextChunks(withText), { z: 'zipped text', i: '\u2603 snow', iz: '\u00fcber' });
});

test('bad input gives PngFormatError', async () => {
  assert.throws(() => readPngTextChunks(Buffer.from('not a png at all')), PngFormatError);
  const png = await tinyPng();
  assert.throws(() => readPngTextChunks(png.subarray(0, png.length - 20)), PngFormatError);
  assert.throws(() => insertPngTextChunks(png, [['', 'x']]), PngFormatError);
  assert.throws(() => insertPngTextChunks(png, [['k', '\u2603']]), PngFormatError);
  assert.deepEqual(readPngTextChunks(png), {});
});
