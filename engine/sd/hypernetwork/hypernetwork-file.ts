// A1111 hypernetwork files (ComfyUI's HypernetworkLoader, models/hypernetworks): a torch.save'd dict whose integer
// keys are attention widths (320, 640, 768, 1280 for SD1.5) mapping to two small MLPs — one rewrites the key input
// of an attention whose context has that width, one its value input — plus settings (`activation_func`,
// `is_layer_norm`, `activate_output`, dropout flags: dropout does nothing at inference). Read with the restricted
// unpickler (no code runs); the MLPs' tensors stay in the file and are read in place by the graph.
import { tensorFileHandle, checkpointFingerprint, safetensorsSource } from '../../onnx/index.ts';
import type { TensorInfo, WeightSource } from '../../onnx/index.ts';
import { readTorchFile, isTorchZip, TorchFileError } from '../checkpoint/torch-file.ts';
import { isTorchTensor } from '../checkpoint/torch-pickle.ts';
import type { PickleValue } from '../checkpoint/torch-pickle.ts';

export class HypernetworkError extends Error {}

/** The activations ComfyUI accepts (comfy_extras/nodes_hypernetwork.py); `swish` is torch's Hardswish there. */
export const HYPERNETWORK_ACTIVATIONS = ['linear', 'relu', 'leakyrelu', 'elu', 'swish', 'tanh', 'sigmoid', 'softsign', 'mish'] as const;
export type HypernetworkActivation = (typeof HYPERNETWORK_ACTIVATIONS)[number];

/** One layer of an MLP, in order; `name` is the tensor prefix in the WeightSource (`<name>.weight`, `.bias`). */
export type HypernetworkLayer =
  | { kind: 'linear'; name: string; inFeatures: number; outFeatures: number; activation: boolean }
  | { kind: 'layerNorm'; name: string; width: number };

export interface Hypernetwork {
  path: string;
  fingerprint: string;
  activation: HypernetworkActivation;
  /** Per context width: the key-side and the value-side MLP. */
  widths: Map<number, { key: HypernetworkLayer[]; value: HypernetworkLayer[] }>;
  /** Tensors named `<width>.<0|1>.<key in the file>`. */
  weights: WeightSource;
}

const fail = (path: string, what: string): never => { throw new HypernetworkError(`${path}: ${what}`); };

function setting<T extends PickleValue>(root: Map<PickleValue, PickleValue>, name: string, fallback: T): PickleValue {
  return root.has(name) ? root.get(name)! : fallback;
}

/**
 * The layers of one MLP from its state dict, as ComfyUI builds them: the `.weight` keys in file order, each a
 * Linear, followed (with is_layer_norm) by a LayerNorm whose weight is the next `.weight` key; the activation
 * after every Linear whose key is not the last `.weight` key (or after all with activate_output). With
 * is_layer_norm a LayerNorm key always follows, so ComfyUI activates the last Linear too (A1111 does not): we
 * follow ComfyUI, whose outputs users compare with.
 */
function mlpLayers(path: string, where: string, dict: Map<PickleValue, PickleValue>, settings: { layerNorm: boolean; activateOutput: boolean; activation: HypernetworkActivation }, prefix: string, tensors: Map<string, TensorInfo>, locate: (name: string, t: PickleValue) => TensorInfo): HypernetworkLayer[] {
  const names = [...dict.keys()].filter((k): k is string => typeof k === 'string' && k.endsWith('.weight')).map((k) => k.slice(0, -'.weight'.length));
  if (names.length === 0) fail(path, `${where} has no layers`);
  const tensor = (name: string, part: 'weight' | 'bias'): TensorInfo => {
    const value = dict.get(`${name}.${part}`);
    if (!isTorchTensor(value)) return fail(path, `${where} lacks the tensor ${name}.${part}`);
    const info = locate(`${prefix}${name}.${part}`, value);
    tensors.set(`${prefix}${name}.${part}`, info);
    return info;
  };
  const layers: HypernetworkLayer[] = [];
  for (let i = 0; i < names.length; i++) {
    const weight = tensor(names[i], 'weight');
    tensor(names[i], 'bias');
    if (weight.shape.length !== 2) fail(path, `${where} ${names[i]}.weight is [${weight.shape}], a Linear weight is 2-D`);
    const lastKey = i === names.length - 1;
    layers.push({
      kind: 'linear', name: `${prefix}${names[i]}`, outFeatures: weight.shape[0], inFeatures: weight.shape[1],
      activation: settings.activation !== 'linear' && (!lastKey || settings.activateOutput),
    });
    if (settings.layerNorm) {
      i++;
      if (i >= names.length) fail(path, `${where}: is_layer_norm is set but the last Linear has no LayerNorm after it`);
      const ln = tensor(names[i], 'weight');
      tensor(names[i], 'bias');
      layers.push({ kind: 'layerNorm', name: `${prefix}${names[i]}`, width: ln.shape[0] });
    }
  }
  return layers;
}

/** Opens a hypernetwork file; refuses other files and settings ComfyUI cannot run, saying which. */
export function openHypernetwork(path: string): Hypernetwork {
  if (!isTorchZip(path)) fail(path, 'is not a hypernetwork: A1111 hypernetworks are PyTorch .pt files (a dict of attention widths → two MLPs); this file is not a torch zip');
  let file;
  try {
    file = readTorchFile(path);
  } catch (err) {
    if (err instanceof TorchFileError) throw new HypernetworkError(err.message);
    throw err;
  }
  const root = file.root instanceof Map ? file.root : fail(path, 'is not a hypernetwork: its top level is not a dict');
  const activation = setting(root, 'activation_func', 'linear');
  if (typeof activation !== 'string' || !(HYPERNETWORK_ACTIVATIONS as readonly string[]).includes(activation)) {
    fail(path, `activation_func ${JSON.stringify(activation)} is not supported; ComfyUI runs ${HYPERNETWORK_ACTIVATIONS.join(', ')}`);
  }
  const settings = {
    activation: activation as HypernetworkActivation,
    layerNorm: setting(root, 'is_layer_norm', false) === true,
    activateOutput: setting(root, 'activate_output', false) === true,
  };
  const tensors = new Map<string, TensorInfo>();
  const widths = new Map<number, { key: HypernetworkLayer[]; value: HypernetworkLayer[] }>();
  const locate = (name: string, t: PickleValue) => file.locate(name, t as Parameters<typeof file.locate>[1]);
  for (const [k, modules] of root) {
    if (typeof k !== 'number' || !Number.isInteger(k)) continue;
    if (!Array.isArray(modules) || modules.length < 2 || !(modules[0] instanceof Map) || !(modules[1] instanceof Map)) {
      fail(path, `width ${k} should hold two state dicts (key and value MLP)`);
    }
    const [key, value] = [0, 1].map((index) => {
      const layers = mlpLayers(path, `width ${k} MLP ${index}`, (modules as Map<PickleValue, PickleValue>[])[index], settings, `${k}.${index}.`, tensors, locate);
      const first = layers[0], last = layers.filter((l) => l.kind === 'linear').at(-1)!;
      if (first.kind !== 'linear' || first.inFeatures !== k || last.kind !== 'linear' || last.outFeatures !== k) {
        fail(path, `width ${k} MLP ${index} maps ${first.kind === 'linear' ? first.inFeatures : '?'} → ${last.kind === 'linear' ? last.outFeatures : '?'} features; a hypernetwork MLP maps its width to itself`);
      }
      return layers;
    });
    widths.set(k, { key, value });
  }
  if (widths.size === 0) {
    const keys = [...root.keys()].slice(0, 4).map(String);
    fail(path, `is not a hypernetwork: no attention width keys (320, 640, 768, 1280); it holds e.g. ${keys.join(', ') || 'nothing'}`);
  }
  const handle = tensorFileHandle(path, file.fileSize, file.pickle.length, file.pickle, {}, tensors);
  return { path, fingerprint: checkpointFingerprint(handle), activation: settings.activation, widths, weights: safetensorsSource(handle) };
}
