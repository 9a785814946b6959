// An upscale model file (ComfyUI's models/upscale_models: .pth / .pt / .safetensors): opened header-only,
// its architecture detected from key names and shapes, its graph built once per file (on-disk graph cache)
// with initializers pointing at the file's own bytes, as every invgraph network does.
import { cachedModel, checkpointFingerprint, weightRef, tensorFileHandle } from '../onnx/index.ts';
import type { SafetensorsFile, WeightSource, ComputeType, TensorInfo } from '../onnx/index.ts';
import { openTensorFile, readTorchFile, TorchFileError } from '../sd/index.ts';
import { detectUpscaler, UpscaleModelError } from './architecture.ts';
import type { UpscaleArch } from './architecture.ts';
import { buildUpscaleGraph } from './upscale-graph.ts';

/** Bump when the graph built for the same file changes. */
const UPSCALE_GRAPH_VERSION = 'upscale-1';

export interface UpscaleModel {
  path: string;
  arch: UpscaleArch;
  /** e.g. "ESRGAN (RRDBNet, Real-ESRGAN keys) 4x, 64 features, 23 blocks". */
  description: string;
  weights: WeightSource;
  fingerprint: string;
}

function weightSource(file: SafetensorsFile, fileKey: (name: string) => string): WeightSource {
  return {
    has: (name) => file.tensors.has(fileKey(name)),
    weight: (name) => {
      const key = fileKey(name);
      const info = file.tensors.get(key);
      if (!info) throw new UpscaleModelError(`upscale model ${file.path} has no tensor '${key}': the file is incomplete`);
      return weightRef(file, info);
    },
  };
}

type TorchTensor = Parameters<ReturnType<typeof readTorchFile>['locate']>[1];

/**
 * A BasicSR training file holds `params` and `params_ema` side by side (the loader's state-dict rule finds no
 * tensors at its top level); its weights are `params_ema`, else `params`, as spandrel takes them.
 */
function basicsrParams(path: string): SafetensorsFile | null {
  const torch = readTorchFile(path);
  if (!(torch.root instanceof Map)) return null;
  const params = torch.root.get('params_ema') ?? torch.root.get('params');
  if (!(params instanceof Map)) return null;
  const tensors = new Map<string, TensorInfo>();
  for (const [name, value] of params) {
    const t = value as TorchTensor;
    if (typeof name === 'string' && typeof t === 'object' && t !== null && (t as { kind?: unknown }).kind === 'tensor') tensors.set(name, torch.locate(name, t));
  }
  return tensorFileHandle(path, torch.fileSize, torch.pickle.length, torch.pickle, {}, tensors);
}

/** Opens an upscale model; refuses files of other kinds, saying what the file looks like. */
export function openUpscaleModel(path: string): UpscaleModel {
  let file = openTensorFile(path, UpscaleModelError);
  if (file.tensors.size === 0) {
    try {
      file = basicsrParams(path) ?? file;
    } catch (err) {
      if (!(err instanceof TorchFileError)) throw err; // not a torch file: the detector says what it holds
    }
  }
  const { arch, fileKey, description } = detectUpscaler(path, file.tensors);
  return { path, arch, description, weights: weightSource(file, fileKey), fingerprint: checkpointFingerprint(file) };
}

/** The model's graph in the graph cache (built on first use); `built` tells whether it was built now. */
export function upscaleModelPath(cacheDir: string, model: UpscaleModel, compute: ComputeType = 'float32'): { path: string; built: boolean } {
  return cachedModel(
    cacheDir,
    { name: `upscale-${model.arch.kind}`, checkpoints: [model.fingerprint], variant: { version: UPSCALE_GRAPH_VERSION, arch: model.arch, compute } },
    () => buildUpscaleGraph(model.arch, model.weights, compute),
  );
}
