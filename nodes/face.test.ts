import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeInfo } from '../engine/graph/index.ts';
import { makeImageBatch } from '../engine/image/index.ts';
import type { ImageBatch } from '../engine/image/index.ts';
import type { FaceBox } from '../engine/face/index.ts';
import { faceNodes, faceCropNode, faceSimilarityNode } from './face.ts';
import { createTestContext, type TestContext } from './test-context.ts';
import { PHOTOS, loadPhoto, stackImages } from '../engine/face/test-photos.ts';

async function withContext(body: (t: TestContext) => Promise<void>): Promise<void> {
  const context = await createTestContext();
  try {
    await body(context);
  } finally {
    await context.dispose();
  }
}

const cropDefaults = { margin: 0.6, size: 512, face_index: 0, on_no_face: 'error' };

test('the family: FaceCrop and FaceSimilarity with ComfyUI-style inputs and outputs', () =>
  withContext(async ({ env }) => {
    assert.deepEqual(faceNodes.map((n) => [n.name, n.category, n.outputs.map((o) => `${o.type}:${o.name}`).join(','), n.outputNode ?? false]), [
      ['FaceCrop', 'inv-adapter/face', 'IMAGE:face,FACE_BOX:face_box,STRING:face_box_json', false],
      ['FaceSimilarity', 'inv-adapter/face', 'FLOAT:similarity,STRING:summary', true],
    ]);
    const info = nodeInfo(faceCropNode, env);
    assert.ok(info.input.required);
    assert.deepEqual(info.input.required.margin, ['FLOAT', { default: 0.6, min: 0, max: 3, step: 0.05, tooltip: faceCropNode.inputs.required.margin.tooltip }]);
    assert.deepEqual(info.input.required.size[1], { default: 512, min: 64, max: 2048, step: 8, tooltip: faceCropNode.inputs.required.size.tooltip });
    assert.deepEqual(info.input.required.face_index[1], { default: 0, min: 0, max: 63, tooltip: faceCropNode.inputs.required.face_index.tooltip });
    assert.deepEqual(info.input.required.on_no_face[0], ['error', 'passthrough']);
    assert.deepEqual(nodeInfo(faceSimilarityNode, env).input.required, {
      image_a: ['IMAGE'], image_b: ['IMAGE'],
      on_no_face: [['score_zero', 'error'], { tooltip: faceSimilarityNode.inputs.required.on_no_face.tooltip }],
    });
  }));

test('FaceCrop: the face as a 512x512 IMAGE, its FACE_BOX and the box as JSON text', () =>
  withContext(async ({ ctx }) => {
    const photo = await loadPhoto(PHOTOS.clown);
    const { outputs } = await faceCropNode.run({ image: photo, ...cropDefaults }, ctx);
    const [face, boxes, json] = outputs as [ImageBatch, FaceBox[], string];
    assert.deepEqual([face.batch, face.width, face.height, face.channels], [1, 512, 512, 3]);
    assert.equal(boxes.length, 1);
    assert.equal(boxes[0].faceCount, 1);
    const parsed = JSON.parse(json) as FaceBox[];
    assert.deepEqual(parsed[0].crop, boxes[0].crop);
    assert.ok(Math.abs(parsed[0].face!.x - boxes[0].face!.x) < 0.01);
  }));

test('FaceCrop without a face: the error names the image, passthrough gives the centre square', () =>
  withContext(async ({ ctx }) => {
    const blank = makeImageBatch(1, 300, 500);
    blank.data.fill(0.5);
    await assert.rejects(Promise.resolve(faceCropNode.run({ image: blank, ...cropDefaults }, ctx)), /no face found in image 0 \(500x300\)/);
    const { outputs } = await faceCropNode.run({ image: blank, ...cropDefaults, size: 64, on_no_face: 'passthrough' }, ctx);
    const [face, boxes] = outputs as [ImageBatch, FaceBox[]];
    assert.equal(face.width, 64);
    assert.deepEqual(boxes[0].crop, { x: 100, y: 0, size: 300 });
    assert.equal(boxes[0].face, null);
  }));

const BANDS = '\\(FaceRes identity: ≥ 0\\.6 same person, < 0\\.45 different people, between uncertain\\)';

test('FaceSimilarity: an image with itself is 1 and the same person; two people are different', () =>
  withContext(async ({ ctx }) => {
    const clown = await loadPhoto(PHOTOS.clown);
    const same = await faceSimilarityNode.run({ image_a: clown, image_b: clown, on_no_face: 'error' }, ctx);
    const [similarity, summary] = same.outputs as [number, string];
    assert.ok(similarity > 0.9999, `${similarity}`);
    assert.match(summary, new RegExp(`^cosine 1\\.000 → same person ${BANDS}$`));
    assert.deepEqual(same.ui, { text: [summary] });

    const other = await faceSimilarityNode.run({ image_a: clown, image_b: await loadPhoto(PHOTOS.blond), on_no_face: 'error' }, ctx);
    const [otherSimilarity, otherSummary] = other.outputs as [number, string];
    assert.ok(otherSimilarity < 0.45, `${otherSimilarity}`);
    assert.match(otherSummary, /→ different people/);
  }));

test('FaceSimilarity with batches: pairs by index, one image against many, mean cosine', () =>
  withContext(async ({ ctx }) => {
    const clown = await loadPhoto(PHOTOS.clown);
    const pair = stackImages([clown, await loadPhoto(PHOTOS.clown, (photo) => photo.flop())]);
    const { outputs } = await faceSimilarityNode.run({ image_a: clown, image_b: pair, on_no_face: 'error' }, ctx);
    const [similarity, summary] = outputs as [number, string];
    const lines = summary.split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^image_a 0 vs image_b 0: cosine 1\.000/);
    assert.match(lines[1], /^image_a 0 vs image_b 1: cosine 0\.\d{3} → same person/);
    assert.match(lines[2], new RegExp(`^mean cosine ${similarity.toFixed(3)} over 2 pairs$`));
    assert.ok(similarity < 1 && similarity > 0.6, `${similarity}`);

    const three = stackImages([clown, clown, clown]);
    await assert.rejects(Promise.resolve(faceSimilarityNode.run({ image_a: three, image_b: pair, on_no_face: 'error' }, ctx)), /image_a is a batch of 3 and image_b a batch of 2/);
  }));

test('FaceSimilarity without a face says why no score is possible, for each image that has none', () =>
  withContext(async ({ ctx }) => {
    const clown = await loadPhoto(PHOTOS.clown);
    // Like the demo workflow's output: a 128x128 image of the tiny model, no face in it.
    const noise = makeImageBatch(1, 128, 128);
    let seed = 1;
    for (let i = 0; i < noise.data.length; i++) noise.data[i] = ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const why = /no face found in image 0 \(128x128\), so there is no identity to compare: the detector('s best candidate scores 0\.\d\d, below the 0\.5 a face needs| sees no face-like region at all)/;
    await assert.rejects(Promise.resolve(faceSimilarityNode.run({ image_a: clown, image_b: noise, on_no_face: 'error' }, ctx)), new RegExp(`^FaceNotFoundError: image_b: ${why.source}`));
    const scored = await faceSimilarityNode.run({ image_a: clown, image_b: noise, on_no_face: 'score_zero' }, ctx);
    assert.equal(scored.outputs[0], 0);
    assert.match(String(scored.outputs[1]), new RegExp(`^similarity 0, no score possible: image_b: ${why.source}$`));

    // Both images without a face (a 32 px crop is too small to find one): both reasons, in order.
    const tiny = makeImageBatch(1, 32, 32);
    const both = await faceSimilarityNode.run({ image_a: tiny, image_b: noise, on_no_face: 'score_zero' }, ctx);
    assert.match(String(both.outputs[1]), /^similarity 0, no score possible: image_a: no face found in image 0 \(32x32\).*; the image is only 32 px on its shorter side, and the detector finds faces from about 96 px; and image_b: no face found in image 0 \(128x128\)/);
  }));
