// Public surface of engine/upscale: image upscaler models (ESRGAN / Real-ESRGAN RRDBNet, SRVGGNetCompact)
// detected from their weight files, built as ONNX graphs, and run tile by tile.
import './wire-types.ts';
export { detectUpscaler, UpscaleModelError } from './architecture.ts';
export type { UpscaleArch, EsrganArch, CompactArch, DetectedUpscaler, TensorShapes } from './architecture.ts';
export { buildUpscaleGraph } from './upscale-graph.ts';
export { openUpscaleModel, upscaleModelPath } from './upscale-model.ts';
export type { UpscaleModel } from './upscale-model.ts';
export { upscaleTiled, tileStarts, pixelUnshuffle, isOutOfMemory } from './tiled.ts';
export type { TiledOptions } from './tiled.ts';
export { demoUpscalerTensors, demoUpscalerShapes, DEMO_UPSCALERS } from './demo-weights.ts';
export type { DemoUpscaler } from './demo-weights.ts';
export { upscaleImage, UPSCALE_TILE, UPSCALE_OVERLAP, MAX_UPSCALE_OUTPUT_PIXELS } from './upscale-run.ts';
export type { UpscaleRunOptions } from './upscale-run.ts';
