// Canny and depth-style preprocessors on small synthetic images whose edges are known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cannyEdges, depthStyle, hysteresisEdges, PreprocessError } from './preprocess.ts';
import { makeImageBatch } from './image-batch.ts';
import type { ImageBatch } from './image-batch.ts';

/** A gray image from a function of (x, y). */
function grayImage(width: number, height: number, value: (x: number, y: number) => number, batch = 1): ImageBatch {
  const image = makeImageBatch(batch, height, width);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) image.data.fill(value(x, y), ((b * height + y) * width + x) * 3, ((b * height + y) * width + x) * 3 + 3);
  }
  return image;
}

/** The edge map of item 0 as rows of '#' and '.' (also checks the 3 channels agree and values are 0/1). */
function picture(edges: ImageBatch): string[] {
  const rows: string[] = [];
  for (let y = 0; y < edges.height; y++) {
    let row = '';
    for (let x = 0; x < edges.width; x++) {
      const [r, g, b] = edges.data.subarray((y * edges.width + x) * 3, (y * edges.width + x) * 3 + 3);
      assert.ok(r === g && g === b && (r === 0 || r === 1), `pixel ${x},${y}: ${r},${g},${b}`);
      row += r === 1 ? '#' : '.';
    }
    rows.push(row);
  }
  return rows;
}

// A step of height s from x < 7 to x > 7 with a half-way pixel at x = 7: the edge's single maximum is column 7.
const softStep = (s: number) => (x: number) => (x > 7 ? s : x === 7 ? s / 2 : 0);

test('Canny: a vertical step gives a one-pixel edge line on its centre column, in all 3 channels', () => {
  const edges = cannyEdges(grayImage(16, 12, softStep(0.5)), { lowThreshold: 0.4, highThreshold: 0.8 });
  assert.deepEqual(picture(edges), new Array(12).fill('.......#........'));
});

test('Canny: a horizontal step gives a horizontal line; colour goes through BT.601 luminance', () => {
  const image = makeImageBatch(1, 12, 10);
  for (let y = 0; y < 12; y++) {
    for (let x = 0; x < 10; x++) {
      const v = y > 5 ? 1 : y === 5 ? 0.5 : 0;
      image.data.set([v * 0.9, v * 0.6, v * 0.3], (y * 10 + x) * 3); // luminance ≈ 0.59·v
    }
  }
  const rows = picture(cannyEdges(image, { lowThreshold: 0.4, highThreshold: 0.8 }));
  assert.deepEqual(rows.map((r, y) => (r.includes('#') ? y : -1)).filter((y) => y >= 0), [5]);
  assert.equal(rows[5], '##########');
});

test('Canny: steps too small for the thresholds, and flat images, give no edges; each batch item on its own', () => {
  const batch = grayImage(16, 8, softStep(0.05), 2);
  batch.data.fill(0.3, 16 * 8 * 3); // item 1 flat
  const edges = cannyEdges(batch, { lowThreshold: 0.4, highThreshold: 0.8 });
  assert.ok(edges.data.every((v) => v === 0));
  const strong = grayImage(16, 8, softStep(0.5), 2);
  strong.data.fill(0.3, 16 * 8 * 3);
  const two = cannyEdges(strong, { lowThreshold: 0.4, highThreshold: 0.8 });
  assert.equal(two.data.subarray(0, 16 * 8 * 3).filter((v) => v === 1).length, 8 * 3);
  assert.ok(two.data.subarray(16 * 8 * 3).every((v) => v === 0));
});

test('hysteresis: weak pixels connected to a strong one (8-neighbourhood) are kept, isolated weak ones dropped', () => {
  // 6×4 magnitudes: one strong pixel (0.9) with a diagonal chain of weak ones (0.5), and an isolated weak pair.
  const m = Float32Array.from([
    0.9, 0.0, 0.0, 0.0, 0.0, 0.5,
    0.0, 0.5, 0.0, 0.0, 0.0, 0.5,
    0.0, 0.0, 0.5, 0.3, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
  ]);
  assert.deepEqual([...hysteresisEdges(m, 4, 6, 0.4, 0.8)], [
    1, 0, 0, 0, 0, 0,
    0, 1, 0, 0, 0, 0,
    0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0,
  ]);
  // Lower low threshold: 0.3 joins the chain; thresholds are strict (0.5 > 0.5 is false).
  assert.equal(hysteresisEdges(m, 4, 6, 0.2, 0.8)[2 * 6 + 3], 1);
  assert.ok(hysteresisEdges(m, 4, 6, 0.5, 0.95).every((v) => v === 0));
});

test('Canny refuses thresholds outside 0 < low ≤ high < 1, naming both', () => {
  const image = grayImage(8, 8, softStep(0.5));
  assert.throws(() => cannyEdges(image, { lowThreshold: 0.8, highThreshold: 0.4 }), (e: Error) => e instanceof PreprocessError && /low 0.8, high 0.4/.test(e.message));
  assert.throws(() => cannyEdges(image, { lowThreshold: 0, highThreshold: 0.4 }), PreprocessError);
});

test('depth style: luminance stretched to 0..1 per image, optional invert, constant image → 0', () => {
  const image = grayImage(4, 1, (x) => 0.2 + 0.1 * x, 2);
  image.data.fill(0.7, 4 * 3);
  const out = depthStyle(image, { invert: false });
  const item0 = [0, 1, 2, 3].map((x) => out.data[x * 3]);
  item0.forEach((v, x) => assert.ok(Math.abs(v - x / 3) < 1e-6, `x ${x}: ${v}`));
  assert.ok(out.data.subarray(12).every((v) => v === 0));
  const inverted = depthStyle(image, { invert: true });
  [0, 1, 2, 3].forEach((x) => assert.ok(Math.abs(inverted.data[x * 3] - (1 - x / 3)) < 1e-6));
  assert.equal(out.data[1], out.data[0]);
  assert.equal(out.data[2], out.data[0]);
});
