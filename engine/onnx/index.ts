// Public surface of engine/onnx: the graph builder and its op vocabulary, safetensors I/O, the graph
// cache and sessions (the only onnxruntime-node user).
export type { Value, WeightRef, WeightSource, LowRankBranch, BuilderOptions, ComputeType } from './graph-builder.ts';
export { GraphBuilder, Module, BuildError } from './graph-builder.ts';
export type { Dim, Shape } from './dims.ts';
export { mulDims, divDim, formatShape } from './dims.ts';
export type { DType } from './onnx-proto.ts';
export {
  add, sub, mul, div, unary, clamp, cast, softmax, matmul, reshape, transpose, concat, slice, split, expand,
  resizeNearest, argMax, gatherNd, int64Const, floatConst, greater, where,
} from './ops-tensor.ts';
export { conv2d, linear, groupNorm, layerNorm, embedding, embeddingWithExtra, silu, gelu, quickGelu, attention, LORA_STRENGTHS_INPUT } from './ops-nn.ts';
export type { ConvOptions, AttentionOptions } from './ops-nn.ts';
export { saveModel, MODEL_FILE } from './model-file.ts';
export type { Device, ResolvedDevice, SessionSettings, Feed, ModelSession } from './session.ts';
export { createSession, SessionCache, DeviceError, cudaLibraryPresent, resolveDevice, describeDevice } from './session.ts';
export type { SafetensorsFile, TensorInfo, StDType, TensorToWrite } from './safetensors.ts';
export { openSafetensors, writeSafetensors, safetensorsSource, weightRef, fileStamp, SafetensorsError, tensorFileHandle } from './safetensors.ts';
export type { GraphKey } from './graph-cache.ts';
export { cachedModel, checkpointFingerprint, graphFolder, BUILDER_VERSION } from './graph-cache.ts';
export type { StreamEntry } from './safetensors-stream.ts';
export { SafetensorsStreamWriter, toFloat16, fromFloat16 } from './safetensors-stream.ts';
