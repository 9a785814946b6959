import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeImageBatch } from '../image/index.ts';
import type { ImageBatch } from '../image/index.ts';
import { faceCrop, faceCentre, faceSquare, centreSquare } from './crop.ts';
import { FaceNotFoundError } from './detect.ts';
import type { Face } from './detect.ts';
import { PHOTOS, loadPhoto, loadSample, stackImages } from './test-photos.ts';

/** Synthetic landmarks: all 68 at (10, 10), then eyes, nose tip and mouth where we say. */
function landmarks(eyes: [number, number], nose: number, mouth: number, y = 0): Face['landmarks'] {
  const points = Array.from({ length: 68 }, () => ({ x: 10, y: 10 }));
  for (let i = 36; i < 42; i++) points[i] = { x: eyes[0], y };
  for (let i = 42; i < 48; i++) points[i] = { x: eyes[1], y };
  points[30] = { x: nose, y };
  for (let i = 48; i < 68; i++) points[i] = { x: mouth, y };
  return points;
}

test('the centre is the mean of the eye centres, the nose tip and the mouth centre', () => {
  assert.deepEqual(faceCentre(landmarks([0, 40], 20, 100, 5)), { x: 40, y: 5 });
  assert.throws(() => faceCentre([]), /expected 68 face landmarks, got 0/);
});

test('the square is faceSize x (1 + 2 margin), centred on the landmarks', () => {
  const face: Face = { box: { x: 0, y: 0, width: 80, height: 100 }, score: 1, landmarks: landmarks([100, 100], 100, 100, 50) };
  assert.deepEqual(faceSquare(face, 0.5), { x: 0, y: -50, size: 200 });
  assert.deepEqual(faceSquare(face, 0), { x: 50, y: 0, size: 100 });
  assert.deepEqual(centreSquare(640, 480), { x: 80, y: 0, size: 480 });
  assert.deepEqual(centreSquare(300, 301), { x: 0, y: 0, size: 300 });
});

/** Mean absolute difference of two same-sized IMAGE items. */
function meanDifference(a: ImageBatch, itemA: number, b: ImageBatch, itemB: number): number {
  const size = a.width * a.height * 3;
  let sum = 0;
  for (let i = 0; i < size; i++) sum += Math.abs(a.data[itemA * size + i] - b.data[itemB * size + i]);
  return sum / size;
}

test('one face: a size x size crop around it, and the box that was used', async () => {
  const photo = await loadPhoto(PHOTOS.clown);
  const { image, boxes } = await faceCrop(photo, { size: 256 });
  assert.deepEqual([image.batch, image.width, image.height], [1, 256, 256]);
  const [box] = boxes;
  assert.equal(box.faceCount, 1);
  assert.ok(box.face && box.face.score > 0.9);
  const faceSize = Math.max(box.face.width, box.face.height);
  assert.ok(Math.abs(box.crop.size - faceSize * 2.2) <= 1, `crop ${box.crop.size} for a face of ${faceSize}`);
  // The face box lies inside the square, roughly in its middle.
  const cx = box.face.x + box.face.width / 2 - box.crop.x;
  const cy = box.face.y + box.face.height / 2 - box.crop.y;
  assert.ok(Math.abs(cx / box.crop.size - 0.5) < 0.1 && Math.abs(cy / box.crop.size - 0.5) < 0.1, `face centre at ${cx},${cy} of ${box.crop.size}`);
  assert.ok(image.data.every((v) => v >= 0 && v <= 1));
});

test('several faces: the largest by default, face index picks the others', async () => {
  const group = await loadSample(1);
  const [largest, second, third] = await Promise.all([0, 1, 2].map((index) => faceCrop(group, { index, size: 64 })));
  const sizes = [largest, second, third].map((r) => r.boxes[0].face!.width * r.boxes[0].face!.height);
  assert.ok(sizes[0] >= sizes[1] && sizes[1] >= sizes[2], `areas ${sizes}`);
  assert.notDeepEqual(largest.boxes[0].crop, second.boxes[0].crop);
  assert.equal(largest.boxes[0].faceCount, 3);
  await assert.rejects(faceCrop(group, { index: 3 }), (error: Error) => {
    assert.ok(error instanceof FaceNotFoundError);
    assert.match(error.message, /face index 3 .* image 0 \(1920x1280\) has 3 faces; use an index from 0 to 2/);
    return true;
  });
});

test('no face: a clear error, or the centred square with on-no-face passthrough', async () => {
  const gradient = makeImageBatch(1, 400, 600);
  for (let y = 0; y < 400; y++) for (let x = 0; x < 600; x++) gradient.data.fill(x / 599, (y * 600 + x) * 3, (y * 600 + x) * 3 + 3);
  await assert.rejects(faceCrop(gradient), (error: Error) => {
    assert.ok(error instanceof FaceNotFoundError);
    assert.match(error.message, /^no face found in image 0 \(600x400\); .*on_no_face = passthrough/);
    return true;
  });
  const { image, boxes } = await faceCrop(gradient, { onNoFace: 'passthrough', size: 200 });
  assert.deepEqual(boxes[0], { item: 0, imageWidth: 600, imageHeight: 400, faceCount: 0, face: null, crop: { x: 100, y: 0, size: 400 } });
  // Output column 0 averages source columns 100 and 101.
  assert.ok(Math.abs(image.data[0] - 100.5 / 599) < 1e-5, `${image.data[0]}`);
  assert.ok(Math.abs(image.data[(200 - 1) * 3] - 498.5 / 599) < 1e-5);
});

test('a 16x16 image: the no-face error, or an enlarged passthrough', async () => {
  const tiny = makeImageBatch(1, 16, 16);
  tiny.data.fill(0.25);
  await assert.rejects(faceCrop(tiny), /no face found in image 0 \(16x16\)/);
  const { image } = await faceCrop(tiny, { onNoFace: 'passthrough', size: 64 });
  assert.equal(image.width, 64);
  assert.ok(image.data.every((v) => Math.abs(v - 0.25) < 1e-6));
});

test('a batch: one crop per item, all of one size; a faceless item names its index', async () => {
  const photos = stackImages([await loadPhoto(PHOTOS.clown), await loadPhoto(PHOTOS.blond)]);
  const progress: string[] = [];
  const { image, boxes } = await faceCrop(photos, { size: 128, margin: 0.3, onProgress: (done, total) => progress.push(`${done}/${total}`) });
  assert.deepEqual([image.batch, image.width, image.height], [2, 128, 128]);
  assert.deepEqual(progress, ['1/2', '2/2']);
  assert.deepEqual(boxes.map((b) => b.item), [0, 1]);
  assert.ok(meanDifference(image, 0, image, 1) > 0.05, 'the two crops differ');
  // Each item's crop equals cropping that photo alone.
  const alone = await faceCrop(await loadPhoto(PHOTOS.blond), { size: 128, margin: 0.3 });
  assert.ok(meanDifference(image, 1, alone.image, 0) < 1e-6);

  const withBlank = stackImages([await loadPhoto(PHOTOS.clown), makeImageBatch(1, 600, 600)]);
  await assert.rejects(faceCrop(withBlank), /no face found in image 1 \(600x600\) of a batch of 2/);
});

test('a crop reaching past the border repeats the edge pixels', async () => {
  // The face near the left edge: shift the photo so the square must extend past x = 0.
  const photo = await loadPhoto({ ...PHOTOS.clown, left: 360, width: 440 });
  const { image, boxes } = await faceCrop(photo, { size: 100, margin: 1 });
  assert.ok(boxes[0].crop.x < 0, `crop ${JSON.stringify(boxes[0].crop)}`);
  const inside = Math.ceil((-boxes[0].crop.x / boxes[0].crop.size) * 100) - 1;
  // Every output column left of the image border repeats column 0 of the photo: all equal per row.
  for (let y = 0; y < 100; y += 10) {
    const row = image.data.subarray(y * 300, y * 300 + inside * 3);
    for (let x = 1; x < inside; x++) assert.ok(Math.abs(row[x * 3] - row[0]) < 1e-6, `row ${y} column ${x}`);
  }
});

test('bad options are refused with the value', async () => {
  const photo = makeImageBatch(1, 8, 8);
  await assert.rejects(faceCrop(photo, { margin: -1 }), /margin must be a number ≥ 0, got -1/);
  await assert.rejects(faceCrop(photo, { size: 0 }), /size must be a whole number ≥ 1, got 0/);
  await assert.rejects(faceCrop(photo, { index: 1.5 }), /index must be a whole number ≥ 0, got 1.5/);
});
