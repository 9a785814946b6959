// Textual-inversion embeddings (`embedding:NAME` in prompts, ComfyUI sd1_clip load_embed): the vectors of an
// A1111 .pt (`string_to_param`), a .safetensors (`emb_params`, or SDXL's `clip_l`), or a file with one tensor.
// Each vector takes one token slot in the prompt; the text encoder reads them instead of its token table.
import { openSafetensors, tensorFileHandle } from '../../onnx/index.ts';
import type { TensorInfo } from '../../onnx/index.ts';
import { isTorchZip, readTorchFile, pickleDict } from '../checkpoint/torch-file.ts';
import { isTorchTensor } from '../checkpoint/torch-pickle.ts';
import type { PickleValue } from '../checkpoint/torch-pickle.ts';

export class EmbeddingError extends Error {}

/** Finds an embedding file by name (the caller confines it to the embeddings folders); null when there is none. */
export type EmbeddingFinder = (name: string) => string | null;

/** The first tensor of a torch object, following A1111's `string_to_param` and `emb_params` as ComfyUI does. */
function torchVectors(path: string): TensorInfo {
  const file = readTorchFile(path);
  const root = pickleDict(file.root);
  if (!root) throw new EmbeddingError(`${path} is not a textual-inversion embedding (its object is not a dict)`);
  const params = pickleDict(root.get('string_to_param'));
  const candidates: Array<[string, PickleValue | undefined]> = params
    ? [...params].map(([k, v]) => [`string_to_param.${k}`, v])
    : [['emb_params', root.get('emb_params')], ['clip_l', root.get('clip_l')], ...[...root].map(([k, v]): [string, PickleValue] => [k, v])];
  const found = candidates.find(([, v]) => isTorchTensor(v));
  if (!found || !isTorchTensor(found[1])) throw new EmbeddingError(`${path} holds no tensor (expected A1111's string_to_param or emb_params)`);
  return file.locate(found[0], found[1]);
}

/** The embedding's vectors, each `width` wide (the text encoder's hidden size). */
export function readEmbedding(path: string, width: number): Float32Array[] {
  let info: TensorInfo;
  let read: (info: TensorInfo) => Float32Array;
  if (isTorchZip(path)) {
    info = torchVectors(path);
    read = (t) => tensorFileHandle(path, 0, 0, new Uint8Array(), {}, new Map([[t.name, t]])).read(t.name);
  } else {
    const file = openSafetensors(path);
    const name = ['emb_params', 'clip_l'].find((k) => file.tensors.has(k)) ?? [...file.tensors.keys()][0];
    if (name === undefined) throw new EmbeddingError(`${path} holds no tensor`);
    info = file.tensors.get(name)!;
    read = (t) => file.read(t.name);
  }
  const shape = info.shape.length === 1 ? [1, info.shape[0]] : info.shape;
  if (shape.length !== 2 || shape[1] !== width) {
    throw new EmbeddingError(`embedding ${path} has vectors of shape [${info.shape.join(',')}]; this text encoder takes ${width}-wide vectors (is it for SDXL / SD2?)`);
  }
  const data = read(info);
  return Array.from({ length: shape[0] }, (_, i) => data.slice(i * width, (i + 1) * width));
}
