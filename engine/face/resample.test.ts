import { test } from 'node:test';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { makeImageBatch } from '../image/index.ts';
import { resampleSquare } from './resample.ts';

/** A 2-item batch whose pixel (x, y) of item b holds [x, y, b] / 100. */
function coordinateImage(width: number, height: number) {
  const image = makeImageBatch(2, height, width);
  for (let b = 0; b < 2; b++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) image.data.set([x / 100, y / 100, b / 100], ((b * height + y) * width + x) * 3);
  return image;
}

const pixel = (data: Float32Array, size: number, x: number, y: number): number[] => Array.from(data.subarray((y * size + x) * 3, (y * size + x) * 3 + 3));
const close = (actual: number[], expected: number[]): void =>
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) < 1e-6, `${actual} vs ${expected}`));

test('a region the size of the output copies the pixels exactly, from the chosen batch item', () => {
  const image = coordinateImage(10, 8);
  const out = resampleSquare(image, 1, { x: 2, y: 1, size: 4 }, 4);
  close(pixel(out, 4, 0, 0), [0.02, 0.01, 0.01]);
  close(pixel(out, 4, 3, 2), [0.05, 0.03, 0.01]);
});

test('shrinking averages the covered pixels (2x2 → 1)', () => {
  const image = coordinateImage(8, 8);
  const out = resampleSquare(image, 0, { x: 0, y: 0, size: 8 }, 4);
  close(pixel(out, 4, 0, 0), [0.005, 0.005, 0]);
  close(pixel(out, 4, 3, 1), [0.065, 0.025, 0]);
});

test('shrinking by a fraction weighs pixels by their overlap', () => {
  const image = coordinateImage(3, 3);
  // Output pixel 0 covers source [0, 1.5): pixel 0 fully, pixel 1 half → (0·1 + 1·0.5) / 1.5.
  const out = resampleSquare(image, 0, { x: 0, y: 0, size: 3 }, 2);
  close(pixel(out, 2, 0, 0), [1 / 300, 1 / 300, 0]);
});

test('outside the image the edge pixels repeat', () => {
  const image = coordinateImage(4, 4);
  const out = resampleSquare(image, 0, { x: -3, y: 2, size: 6 }, 6);
  close(pixel(out, 6, 0, 0), [0, 0.02, 0]); // x -3 → 0
  close(pixel(out, 6, 5, 5), [0.02, 0.03, 0]); // x 2, y 7 → 3
});

test('enlarging interpolates bilinearly and stays within the input range', () => {
  const image = coordinateImage(2, 2);
  const out = resampleSquare(image, 0, { x: 0, y: 0, size: 2 }, 4);
  // Output centre 1.5 ↦ source 0.25 → 0.0025.
  close(pixel(out, 4, 1, 1), [0.0025, 0.0025, 0]);
  assert.ok(out.every((v) => v >= 0 && v <= 0.01 + 1e-7));
});

test('importing engine/face does not load TensorFlow.js (only the first detection does)', async () => {
  await import('./index.ts');
  const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes('@tensorflow'));
  assert.deepEqual(loaded, []);
});
