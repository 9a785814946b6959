// FaceCrop: a square around a detected face, centred on its eyes, nose and mouth, with a margin
// for head and hair, resampled to size×size. The square may reach past the image; there the
// edge pixels repeat (choice, see README.md). No rotation: the crop stays axis-aligned.
import type { ImageBatch } from '../image/index.ts';
import { makeImageBatch } from '../image/index.ts';
import type { Face } from './detect.ts';
import { detectFaces, describeItem, FaceNotFoundError } from './detect.ts';
import type { Point } from './face-api.ts';
import { resampleSquare } from './resample.ts';
import type { SquareRegion } from './resample.ts';

export type OnNoFace = 'error' | 'passthrough';

export interface FaceCropOptions {
  /** Which face, by size: 0 = largest. Default 0. */
  index?: number;
  /** Added on each side, as a fraction of the face size (the detector box's longer side), so the
   *  square's side is faceSize × (1 + 2·margin). Default 0.6 (about the framing of FFHQ). */
  margin?: number;
  /** Output side in pixels. Default 512, SD1.5's native size. */
  size?: number;
  /** Without face `index`: throw FaceNotFoundError (default) or use the centred square. */
  onNoFace?: OnNoFace;
  /** Called after each batch item (the node reports progress and notices interrupts here). */
  onProgress?: (done: number, total: number) => void;
}

/** Where one batch item was cropped: FaceCrop's FACE_BOX value holds one per item. */
export interface FaceBox {
  /** Batch item, from 0. */
  item: number;
  imageWidth: number;
  imageHeight: number;
  /** Faces the detector found in this item. */
  faceCount: number;
  /** The face that was cropped (detector box in the item's pixels); null when passed through. */
  face: { x: number; y: number; width: number; height: number; score: number } | null;
  /** The square that was cropped, in the item's pixels; may reach outside the image. */
  crop: SquareRegion;
}

export interface FaceCropResult {
  image: ImageBatch;
  boxes: FaceBox[];
}

const mean = (points: Point[]): Point => ({
  x: points.reduce((s, p) => s + p.x, 0) / points.length,
  y: points.reduce((s, p) => s + p.y, 0) / points.length,
});

/** Mean of the two eye centres, the nose tip and the mouth centre (iBUG indices). */
export function faceCentre(landmarks: Point[]): Point {
  if (landmarks.length !== 68) throw new Error(`expected 68 face landmarks, got ${landmarks.length}`);
  const rightEye = mean(landmarks.slice(36, 42));
  const leftEye = mean(landmarks.slice(42, 48));
  const mouth = mean(landmarks.slice(48, 68));
  return mean([rightEye, leftEye, landmarks[30], mouth]);
}

/** The square to crop around a face, rounded to whole pixels. */
export function faceSquare(face: Face, margin: number): SquareRegion {
  const centre = faceCentre(face.landmarks);
  const side = Math.max(1, Math.round(Math.max(face.box.width, face.box.height) * (1 + 2 * margin)));
  return { x: Math.round(centre.x - side / 2), y: Math.round(centre.y - side / 2), size: side };
}

/** The largest centred square, as ImageScale's centre crop would take it. */
export function centreSquare(width: number, height: number): SquareRegion {
  const size = Math.min(width, height);
  return { x: Math.floor((width - size) / 2), y: Math.floor((height - size) / 2), size };
}

function checkOptions(index: number, margin: number, size: number): void {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`face index must be a whole number ≥ 0, got ${index}`);
  if (!Number.isFinite(margin) || margin < 0) throw new RangeError(`face crop margin must be a number ≥ 0, got ${margin}`);
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`face crop size must be a whole number ≥ 1, got ${size}`);
}

function missingFaceMessage(image: ImageBatch, item: number, faceCount: number, index: number): string {
  const where = describeItem(image, item);
  if (faceCount === 0) {
    return `no face found in ${where}; use a photo where one face is clearly visible (roughly frontal, at least about 40 px wide), or let images without a face pass through as a centred square (on_no_face = passthrough)`;
  }
  return `face index ${index} asks for the ${index + 1}th largest face, but ${where} has ${faceCount} face${faceCount === 1 ? '' : 's'}; use an index from 0 to ${faceCount - 1}, or on_no_face = passthrough`;
}

/** Crops every batch item around its face `index`; all crops are size×size. */
export async function faceCrop(image: ImageBatch, options: FaceCropOptions = {}): Promise<FaceCropResult> {
  const { index = 0, margin = 0.6, size = 512, onNoFace = 'error' } = options;
  checkOptions(index, margin, size);
  const out = makeImageBatch(image.batch, size, size);
  const boxes: FaceBox[] = [];
  for (let item = 0; item < image.batch; item++) {
    const faces = await detectFaces(image, item);
    const face = faces[index];
    if (!face && onNoFace === 'error') throw new FaceNotFoundError(missingFaceMessage(image, item, faces.length, index));
    const crop = face ? faceSquare(face, margin) : centreSquare(image.width, image.height);
    out.data.set(resampleSquare(image, item, crop, size), item * size * size * 3);
    boxes.push({
      item,
      imageWidth: image.width,
      imageHeight: image.height,
      faceCount: faces.length,
      face: face ? { ...face.box, score: face.score } : null,
      crop,
    });
    options.onProgress?.(item + 1, image.batch);
  }
  return { image: out, boxes };
}
