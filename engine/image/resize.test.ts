import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resizeImage, scaleImage, roundHalfEven } from './resize.ts';
import type { ScaleMethod } from './resize.ts';
import { makeImageBatch } from './image-batch.ts';
import type { ImageBatch } from './image-batch.ts';

/** A 1-row image whose three channels all hold `values` (grey). */
function row(values: number[]): ImageBatch {
  return makeImageBatch(1, 1, values.length, Float32Array.from(values.flatMap((v) => [v, v, v])));
}
function column(values: number[]): ImageBatch {
  return makeImageBatch(1, values.length, 1, Float32Array.from(values.flatMap((v) => [v, v, v])));
}
function red(image: ImageBatch): number[] {
  return Array.from({ length: image.data.length / 3 }, (_, i) => image.data[i * 3]);
}
function assertClose(actual: number[], expected: number[], tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tolerance, `index ${i}: ${v} vs ${expected[i]} (all: ${actual})`));
}

test('nearest-exact picks floor((i + 0.5) * in/out) as torch does', () => {
  assertClose(red(resizeImage(row([0, 1]), 5, 1, 'nearest-exact', 'disabled')), [0, 0, 1, 1, 1]);
  assertClose(red(resizeImage(row([10, 20, 30]), 2, 1, 'nearest-exact', 'disabled')), [10, 30]);
});

test('bilinear (align_corners=False) matches torch on [0, 1] → 4', () => {
  assertClose(red(resizeImage(row([0, 1]), 4, 1, 'bilinear', 'disabled')), [0, 0.25, 0.75, 1]);
  assertClose(red(resizeImage(column([0, 1]), 1, 4, 'bilinear', 'disabled')), [0, 0.25, 0.75, 1]);
});

test('bicubic uses Keys A=-0.75 with clamped edges and may overshoot (not clamped)', () => {
  // Hand-derived from the cubic convolution weights at t = 0.75, 0.25, 0.75, 0.25.
  assertClose(red(resizeImage(row([0, 1]), 4, 1, 'bicubic', 'disabled')), [-0.10546875, 0.2265625, 0.7734375, 1.10546875]);
});

test('area is adaptive average pooling', () => {
  assertClose(red(resizeImage(row([0, 3, 6]), 2, 1, 'area', 'disabled')), [1.5, 4.5]);
  assertClose(red(resizeImage(row([1, 2, 3, 4]), 2, 1, 'area', 'disabled')), [1.5, 3.5]);
  assertClose(red(resizeImage(column([1, 2, 3, 4]), 1, 1, 'area', 'disabled')), [2.5]);
});

test('lanczos goes through 8 bits like Pillow: [0, 255] → 4 gives [0, 59, 196, 255] / 255', () => {
  const out = resizeImage(row([0, 1]), 4, 1, 'lanczos', 'disabled');
  assert.deepEqual(red(out), [0, 59, 196, 255].map((v) => Math.fround(v / 255)));
});

test('every method keeps a constant image constant and resizes each batch item on its own', () => {
  const methods: ScaleMethod[] = ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'];
  const image = makeImageBatch(2, 5, 7);
  image.data.fill(0.2, 0, 5 * 7 * 3);
  image.data.fill(0.8, 5 * 7 * 3);
  for (const method of methods) {
    const out = resizeImage(image, 3, 11, method, 'disabled');
    assert.deepEqual([out.batch, out.height, out.width], [2, 11, 3]);
    const tolerance = method === 'lanczos' ? 1 / 255 : 1e-6;
    assertClose(Array.from(out.data.subarray(0, 33 * 3)), new Array(99).fill(0.2), tolerance);
    assertClose(Array.from(out.data.subarray(33 * 3)), new Array(99).fill(0.8), tolerance);
  }
});

test('center crop trims the longer side with Python rounding before scaling', () => {
  // 5x2 to a square: x = round((5 - 5 * (1 / 2.5)) / 2) = round(1.5) = 2 → one column (index 2) is kept.
  const image = makeImageBatch(1, 2, 5, Float32Array.from({ length: 30 }, (_, i) => Math.floor(i / 3) % 5));
  const out = resizeImage(image, 1, 1, 'nearest-exact', 'center');
  assert.deepEqual(red(out), [2]);
  // 4x2 to 2x2: x = round(1) = 1 → columns 1 and 2.
  const four = makeImageBatch(1, 2, 4, Float32Array.from({ length: 24 }, (_, i) => Math.floor(i / 3) % 4));
  assert.deepEqual(red(resizeImage(four, 2, 2, 'nearest-exact', 'center')), [1, 2, 1, 2]);
  // Without crop, the same call squeezes all four columns.
  assert.deepEqual(red(resizeImage(four, 2, 2, 'nearest-exact', 'disabled')), [1, 3, 1, 3]);
});

test('scaleImage: 0 keeps the aspect ratio, both 0 passes the image through', () => {
  const image = makeImageBatch(1, 50, 100);
  assert.equal(scaleImage(image, { width: 0, height: 0, method: 'bilinear', crop: 'disabled' }), image);
  const byHeight = scaleImage(image, { width: 0, height: 25, method: 'bilinear', crop: 'disabled' });
  assert.deepEqual([byHeight.width, byHeight.height], [50, 25]);
  const byWidth = scaleImage(image, { width: 30, height: 0, method: 'area', crop: 'disabled' });
  assert.deepEqual([byWidth.width, byWidth.height], [30, 15]);
  const tiny = scaleImage(image, { width: 0, height: 1, method: 'area', crop: 'disabled' });
  assert.deepEqual([tiny.width, tiny.height], [2, 1]);
  // round(100 * 3 / 40) = round(7.5) = 8 (half to even).
  const odd = scaleImage(makeImageBatch(1, 40, 100), { width: 0, height: 3, method: 'bilinear', crop: 'disabled' });
  assert.equal(odd.width, 8);
});

test('roundHalfEven is Python round()', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, 0, -2, 2, 3]);
});
