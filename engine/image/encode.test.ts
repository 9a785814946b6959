import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { encodePng, quantizeItem } from './encode.ts';
import { decodeImage } from './decode.ts';
import { makeImageBatch } from './image-batch.ts';
import { readPngTextChunks } from './png-text.ts';

test('quantizeItem truncates like numpy astype(uint8) after clipping', () => {
  const image = makeImageBatch(1, 1, 3, new Float32Array([0.999, 1.5, -0.2, 0.5, NaN, 1, Math.fround(51 / 255), 0, 0]));
  assert.deepEqual([...quantizeItem(image, 0)], [254, 255, 0, 127, 0, 255, 51, 0, 0]);
  assert.throws(() => quantizeItem(image, 1), /batch index 1/);
});

test('every byte value survives decode → encode unchanged', async () => {
  const bytes = Buffer.from(Array.from({ length: 256 * 3 }, (_, i) => i % 256));
  const png = await sharp(bytes, { raw: { width: 256, height: 1, channels: 3 } }).png().toBuffer();
  const { image } = await decodeImage(png);
  const again = await encodePng(image, 0);
  const { data } = await sharp(again).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([...data], [...bytes]);
});

test('encodePng picks the batch item and writes the text chunks', async () => {
  const image = makeImageBatch(2, 1, 1, new Float32Array([0, 0, 0, 1, 1, 1]));
  const png = await encodePng(image, 1, { text: [['prompt', '{"a": 1.0}'], ['workflow', '{}']], compressionLevel: 1 });
  assert.deepEqual(readPngTextChunks(png), { prompt: '{"a": 1.0}', workflow: '{}' });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  assert.deepEqual([...data], [255, 255, 255]);
});
