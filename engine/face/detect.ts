// Face detection on one item of an IMAGE batch: the item is quantised to 8 bits, downscaled so
// that its longer side is at most DETECTOR_MAX_SIDE, run through the face-api networks, and the
// results are mapped back to the item's own pixel coordinates, largest face first.
import sharp from 'sharp';
import type { ImageBatch } from '../image/index.ts';
import { quantizeItem } from '../image/index.ts';
import { bestDetectorScore, detectRawFaces, MIN_CONFIDENCE } from './face-api.ts';
import type { Point, RawFace, Rect, RgbPixels } from './face-api.ts';

/** The detector itself looks at 512×512; a longer side than this only costs memory and time,
 *  while the landmark and recognition nets still get ≥ 150 px for faces ≥ 15% of the image. */
export const DETECTOR_MAX_SIDE = 1024;

export interface Face {
  /** Detector box in the item's pixels (x, y = top-left corner). */
  box: Rect;
  /** Detector confidence, 0.5..1. */
  score: number;
  /** 68 landmarks in iBUG 300-W order, in the item's pixels. */
  landmarks: Point[];
}

/** A batch item with no face where one was required. */
export class FaceNotFoundError extends Error {
  override name = 'FaceNotFoundError';
  /** The detector's best score for any candidate in the item, when it was asked (noFaceError). */
  bestScore?: number;
}

/** Measured (README.md): in images of 64 px or less no face of 8 test photos was found, even
 *  when it filled 70% of the image; at 96 px (FaceCrop's default framing) half of them were. */
export const MIN_FACE_IMAGE_SIDE = 96;

/** FaceNotFoundError saying why: how close the detector's best candidate came to a face, and
 *  whether the image is too small to hold a detectable face at all. */
export async function noFaceError(image: ImageBatch, item: number, input: DetectorInput, consequence: string): Promise<FaceNotFoundError> {
  const best = await bestDetectorScore(input.pixels);
  const reasons = [best > 0
    ? `the detector's best candidate scores ${best.toFixed(2)}, below the ${MIN_CONFIDENCE} a face needs`
    : 'the detector sees no face-like region at all'];
  const shorter = Math.min(image.width, image.height);
  if (shorter < MIN_FACE_IMAGE_SIDE) reasons.push(`the image is only ${shorter} px on its shorter side, and the detector finds faces from about ${MIN_FACE_IMAGE_SIDE} px`);
  const error = new FaceNotFoundError(`no face found in ${describeItem(image, item)}, ${consequence}: ${reasons.join('; ')}`);
  error.bestScore = best;
  return error;
}

/** "image 0 (640x480) of a batch of 2", for messages. */
export function describeItem(image: ImageBatch, item: number): string {
  return `image ${item} (${image.width}x${image.height})${image.batch > 1 ? ` of a batch of ${image.batch}` : ''}`;
}

/** What the networks saw: the item's pixels, maybe downscaled (input pixel = item pixel × scale). */
export interface DetectorInput {
  pixels: RgbPixels;
  scaleX: number;
  scaleY: number;
}

export async function detectorInput(image: ImageBatch, item: number): Promise<DetectorInput> {
  const bytes = quantizeItem(image, item);
  const longer = Math.max(image.width, image.height);
  if (longer <= DETECTOR_MAX_SIDE) return { pixels: { data: bytes, width: image.width, height: image.height }, scaleX: 1, scaleY: 1 };
  const scale = DETECTOR_MAX_SIDE / longer;
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  // The pixels are already in memory, so sharp's decompression-bomb limit does not apply.
  const data = await sharp(bytes, { raw: { width: image.width, height: image.height, channels: 3 }, limitInputPixels: false })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { pixels: { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height }, scaleX: width / image.width, scaleY: height / image.height };
}

const area = (face: { box: Rect }): number => face.box.width * face.box.height;

/** Faces of the detector input, largest box first (ties keep the detector's order). */
export async function detectInputFaces(input: DetectorInput): Promise<RawFace[]> {
  const faces = await detectRawFaces(input.pixels);
  return faces.sort((a, b) => area(b) - area(a));
}

function unscale(face: RawFace, input: DetectorInput): Face {
  const { scaleX, scaleY } = input;
  const point = (p: Point): Point => ({ x: p.x / scaleX, y: p.y / scaleY });
  const { x, y, width, height } = face.box;
  return {
    box: { x: x / scaleX, y: y / scaleY, width: width / scaleX, height: height / scaleY },
    score: face.score,
    landmarks: face.landmarks.map(point),
  };
}

/** All faces in one batch item (score ≥ 0.5), largest box first; [] when there is none. */
export async function detectFaces(image: ImageBatch, item = 0): Promise<Face[]> {
  const input = await detectorInput(image, item);
  return (await detectInputFaces(input)).map((face) => unscale(face, input));
}
