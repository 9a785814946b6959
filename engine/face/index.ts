// Public surface of engine/face: detection with landmarks, the square face crop of FaceCrop
// (FACE_BOX wire type) and identity descriptors, on face-api's pretrained networks (README.md).
import type { FaceBox } from './crop.ts';

declare module '../graph/node-definition.ts' {
  interface WireTypes {
    /** Where FaceCrop cut each batch item, one entry per item. */
    FACE_BOX: FaceBox[];
  }
}

export type { Point, Rect } from './face-api.ts';
export { loadFaceModels } from './face-api.ts';
export type { Face } from './detect.ts';
export { detectFaces, FaceNotFoundError, DETECTOR_MAX_SIDE, MIN_FACE_IMAGE_SIDE } from './detect.ts';
export type { FaceBox, FaceCropOptions, FaceCropResult, OnNoFace } from './crop.ts';
export { faceCrop, faceCentre, faceSquare, centreSquare } from './crop.ts';
export type { SquareRegion } from './resample.ts';
export { resampleSquare } from './resample.ts';
export type { FaceSimilarity, IdentityVerdict } from './descriptor.ts';
export { faceDescriptor, faceApiDescriptor, faceSimilarity, SAME_PERSON_COSINE, DIFFERENT_PERSON_COSINE } from './descriptor.ts';
