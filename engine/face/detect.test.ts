import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeImageBatch } from '../image/index.ts';
import { detectFaces, DETECTOR_MAX_SIDE } from './detect.ts';
import { liveTensorCount, loadFaceModels } from './face-api.ts';
import { PHOTOS, loadPhoto, loadSample } from './test-photos.ts';
import type { Rect } from './face-api.ts';

const centre = (r: Rect) => ({ x: r.x + r.width / 2, y: r.y + r.height / 2 });

test('loading the models leaves the process-wide error handlers as they were', async () => {
  const count = () => process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection');
  const before = count();
  await loadFaceModels();
  assert.equal(count(), before);
});

test('one face: a plausible box, a high score and 68 landmarks inside the head', async () => {
  const region = PHOTOS.clown;
  const [face, ...others] = await detectFaces(await loadPhoto(region));
  assert.equal(others.length, 0);
  assert.ok(face.score > 0.9, `score ${face.score}`);
  // The box found in the whole group photo, moved into the region: centres within 30 px,
  // sizes within 25% (the detector's box varies a little with the framing).
  const expected = { ...region.face, x: region.face.x - region.left, y: region.face.y - region.top };
  const got = centre(face.box);
  const want = centre(expected);
  assert.ok(Math.hypot(got.x - want.x, got.y - want.y) < 30, `centre ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
  assert.ok(Math.abs(face.box.width / expected.width - 1) < 0.25, `width ${face.box.width}`);
  assert.equal(face.landmarks.length, 68);
  for (const p of face.landmarks) {
    assert.ok(p.x > face.box.x - 40 && p.x < face.box.x + face.box.width + 40 && p.y > face.box.y - 40 && p.y < face.box.y + face.box.height + 40, `landmark ${JSON.stringify(p)}`);
  }
  // iBUG order: the right eye (36–41) is left of the left eye (42–47) and above the mouth (48–67).
  assert.ok(face.landmarks[36].x < face.landmarks[45].x);
  assert.ok(face.landmarks[36].y < face.landmarks[57].y);
});

test('a group photo: every face, largest first', async () => {
  const faces = await detectFaces(await loadSample(1));
  assert.equal(faces.length, 3);
  const areas = faces.map((f) => f.box.width * f.box.height);
  assert.deepEqual([...areas].sort((a, b) => b - a), areas);
  // The photo is larger than the detector input; boxes come back in the photo's own pixels.
  const smiling = centre(PHOTOS.smiling.face);
  assert.ok(faces.some((f) => Math.hypot(centre(f.box).x - smiling.x, centre(f.box).y - smiling.y) < 30));
});

test('no face, and a 16x16 image, give an empty list', async () => {
  const gradient = makeImageBatch(1, 300, 400);
  for (let i = 0; i < gradient.data.length; i++) gradient.data[i] = (i % 1200) / 1200;
  assert.deepEqual(await detectFaces(gradient), []);
  const tiny = makeImageBatch(1, 16, 16);
  tiny.data.fill(0.5);
  assert.deepEqual(await detectFaces(tiny), []);
});

test('a 6000x4000 image is downscaled for the detector and leaves no tensors behind', async () => {
  const faceSide = 2400;
  const huge = await loadPhoto(PHOTOS.blond, (photo) =>
    photo.resize(faceSide, faceSide).extend({ left: 3000, right: 6000 - 3000 - faceSide, top: 1000, bottom: 4000 - 1000 - faceSide, background: '#808080' }),
  );
  assert.equal(huge.width, 6000);
  assert.ok(DETECTOR_MAX_SIDE < huge.width);
  await loadFaceModels();
  const before = liveTensorCount();
  assert.ok(before > 0, 'the network weights are tensors');
  const faces = await detectFaces(huge);
  assert.equal(faces.length, 1);
  const scale = faceSide / PHOTOS.blond.width;
  const want = { x: 3000 + (PHOTOS.blond.face.x - PHOTOS.blond.left + PHOTOS.blond.face.width / 2) * scale, y: 1000 + (PHOTOS.blond.face.y - PHOTOS.blond.top + PHOTOS.blond.face.height / 2) * scale };
  const got = centre(faces[0].box);
  assert.ok(Math.hypot(got.x - want.x, got.y - want.y) < 30 * scale, `centre ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
  await detectFaces(huge);
  assert.equal(liveTensorCount(), before);
});

test('a grayscale photo works', async () => {
  const gray = await loadPhoto(PHOTOS.smiling, (photo) => photo.grayscale());
  assert.equal(gray.data[0], gray.data[1]);
  const faces = await detectFaces(gray);
  assert.equal(faces.length, 1);
});

test('each batch item is its own photo', async () => {
  const empty = makeImageBatch(2, 600, 600);
  const photo = await loadPhoto(PHOTOS.clown);
  empty.data.set(photo.data, photo.data.length);
  assert.equal((await detectFaces(empty, 0)).length, 0);
  assert.equal((await detectFaces(empty, 1)).length, 1);
});
