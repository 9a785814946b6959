// Face identity: face-api's 128-d descriptor (a ResNet-34 trained like dlib's
// dlib_face_recognition_resnet_model_v1) of the largest face, and how alike two descriptors are.
import type { ImageBatch } from '../image/index.ts';
import { detectorInput, detectInputFaces, describeItem, FaceNotFoundError } from './detect.ts';
import { computeRawDescriptor } from './face-api.ts';

/** face-api's / dlib's threshold: descriptors of one person are usually closer than this. */
export const SAME_PERSON_DISTANCE = 0.6;

/** The 128-d descriptor of the largest face in one batch item. Throws FaceNotFoundError. */
export async function faceDescriptor(image: ImageBatch, item = 0): Promise<Float32Array> {
  const input = await detectorInput(image, item);
  const [largest] = await detectInputFaces(input);
  if (!largest) {
    throw new FaceNotFoundError(`no face found in ${describeItem(image, item)}, so there is no identity to compare; use a photo where one face is clearly visible (roughly frontal, at least about 40 px wide)`);
  }
  return computeRawDescriptor(input.pixels, largest.alignedBox);
}

export interface FaceSimilarity {
  /** Cosine of the angle between the descriptors: 1 = same direction. */
  cosine: number;
  /** Euclidean distance, the measure face-api and dlib use: < 0.6 means the same person. */
  distance: number;
  /** distance < SAME_PERSON_DISTANCE. */
  samePerson: boolean;
}

export function faceSimilarity(a: Float32Array, b: Float32Array): FaceSimilarity {
  if (a.length !== b.length) throw new Error(`face descriptors differ in length: ${a.length} and ${b.length}`);
  let dot = 0, normA = 0, normB = 0, squared = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
    squared += (a[i] - b[i]) ** 2;
  }
  const distance = Math.sqrt(squared);
  return { cosine: dot / Math.sqrt(normA * normB), distance, samePerson: distance < SAME_PERSON_DISTANCE };
}
