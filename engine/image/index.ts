// Public surface of engine/image: IMAGE/MASK batches, decoding with sharp, PNG encoding with
// ComfyUI's metadata chunks, and ImageScale's resize.
import type { ImageBatch, MaskBatch } from './image-batch.ts';

declare module '../graph/node-definition.ts' {
  interface WireTypes {
    IMAGE: ImageBatch;
    MASK: MaskBatch;
  }
}

export type { ImageBatch, MaskBatch } from './image-batch.ts';
export { makeImageBatch, makeMaskBatch } from './image-batch.ts';
export { decodeImage, ImageDecodeError, DEFAULT_MAX_PIXELS, MAX_DECODE_PIXELS_ENV, configuredMaxPixels } from './decode.ts';
export type { DecodeOptions, DecodedImage } from './decode.ts';
export { encodePng, quantizeItem } from './encode.ts';
export type { EncodePngOptions } from './encode.ts';
export { insertPngTextChunks, readPngTextChunks, PngFormatError } from './png-text.ts';
export { toPythonJson } from './python-json.ts';
export type { PythonJsonOptions, JsonPath } from './python-json.ts';
export { scaleImage, resizeImage, resizePlanes, roundHalfEven, SCALE_METHODS, CROP_MODES } from './resize.ts';
export type { ScaleMethod, CropMode } from './resize.ts';
export { encodePreviewJpeg } from './preview.ts';
export { cannyEdges, depthStyle, PreprocessError } from './preprocess.ts';
export type { CannyOptions } from './preprocess.ts';
