import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeImageBatch } from '../image/index.ts';
import { faceDescriptor, faceSimilarity, SAME_PERSON_DISTANCE } from './descriptor.ts';
import { FaceNotFoundError } from './detect.ts';
import { PHOTOS, loadPhoto, stackImages } from './test-photos.ts';

test('faceSimilarity: cosine and euclidean distance of the descriptors', () => {
  const a = new Float32Array([3, 0]);
  const b = new Float32Array([0, 4]);
  assert.deepEqual(faceSimilarity(a, a), { cosine: 1, distance: 0, samePerson: true });
  assert.deepEqual(faceSimilarity(a, b), { cosine: 0, distance: 5, samePerson: false });
  assert.equal(faceSimilarity(new Float32Array([0.5]), new Float32Array([0])).samePerson, true);
  assert.throws(() => faceSimilarity(a, new Float32Array(3)), /differ in length: 2 and 3/);
});

test('the same photo gives the same 128-d descriptor', async () => {
  const photo = await loadPhoto(PHOTOS.smiling);
  const descriptor = await faceDescriptor(photo);
  assert.equal(descriptor.length, 128);
  const again = faceSimilarity(descriptor, await faceDescriptor(photo));
  assert.ok(again.distance < 1e-4 && again.cosine > 0.9999, JSON.stringify(again));
});

test('one person under flips, rescales, crops and grey stays closer than two people', async () => {
  // Measured (face-api 1.7.15, wasm): same person 0.06–0.42, different people 0.61–0.87.
  const names = ['clown', 'smiling', 'blond'] as const;
  const originals = await Promise.all(names.map(async (name) => faceDescriptor(await loadPhoto(PHOTOS[name]))));
  let farthestSame = 0;
  for (const [i, name] of names.entries()) {
    const region = PHOTOS[name];
    const variants = [
      await loadPhoto(region, (photo) => photo.flop()),
      await loadPhoto(region, (photo) => photo.resize(300)),
      await loadPhoto({ ...region, left: region.left - 40, top: region.top + 30 }, (photo) => photo.grayscale()),
    ];
    for (const variant of variants) {
      const result = faceSimilarity(originals[i], await faceDescriptor(variant));
      assert.ok(result.samePerson, `${name}: ${JSON.stringify(result)}`);
      farthestSame = Math.max(farthestSame, result.distance);
    }
  }
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const result = faceSimilarity(originals[i], originals[j]);
      assert.ok(!result.samePerson && result.distance > SAME_PERSON_DISTANCE, `${names[i]} vs ${names[j]}: ${JSON.stringify(result)}`);
      assert.ok(result.distance > farthestSame + 0.1, `${names[i]} vs ${names[j]} ${result.distance} vs same ${farthestSame}`);
    }
  }
});

test('a descriptor of a batch item, and a clear error without a face', async () => {
  const batch = stackImages([makeImageBatch(1, 600, 600), await loadPhoto(PHOTOS.blond)]);
  const fromBatch = await faceDescriptor(batch, 1);
  const alone = await faceDescriptor(await loadPhoto(PHOTOS.blond));
  assert.ok(faceSimilarity(fromBatch, alone).distance < 1e-4);
  await assert.rejects(faceDescriptor(batch, 0), (error: Error) => {
    assert.ok(error instanceof FaceNotFoundError);
    assert.match(error.message, /^no face found in image 0 \(600x600\) of a batch of 2, so there is no identity to compare/);
    return true;
  });
});
