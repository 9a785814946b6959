// PyTorch .ckpt / .pt / .pth files (the zip format of torch >= 1.6: `<name>/data.pkl` plus one stored entry
// per storage, `<name>/data/<key>`) read through the restricted unpickler (torch-pickle.ts), and presented
// as a SafetensorsFile: each tensor points at its bytes inside the zip, so graphs reference .ckpt weights in
// place exactly as they do safetensors ones. openTensorFile picks the reader by the file's first bytes.
import { openSync, readSync, closeSync } from 'node:fs';
import { openSafetensors, tensorFileHandle } from '../../onnx/index.ts';
import type { SafetensorsFile, TensorInfo } from '../../onnx/index.ts';
import { readZipEntries, readZipEntry, ZipError } from './zip-entries.ts';
import type { ZipEntry } from './zip-entries.ts';
import { unpickle, torchStorageRef, isTorchTensor, TorchPickleError } from './torch-pickle.ts';
import type { PickleValue, TorchTensor, StorageDType } from './torch-pickle.ts';

export class TorchFileError extends Error {}

const ITEM_SIZE: Record<StorageDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
/** data.pkl of a model holds names and shapes only; bigger means something else. */
const MAX_PICKLE_BYTES = 256 * 1024 * 1024;

export interface TorchFile {
  path: string;
  /** The unpickled object (dicts are Maps, tensors TorchTensor records). */
  root: PickleValue;
  /** The pickle's bytes (identity of the file's structure, for fingerprints). */
  pickle: Uint8Array;
  /** Where a tensor's bytes are in the file; refuses non-contiguous tensors. */
  locate(name: string, tensor: TorchTensor): TensorInfo;
  fileSize: number;
}

function fail(path: string, what: string): never {
  throw new TorchFileError(`${path} is not a readable PyTorch checkpoint: ${what}`);
}

function firstBytes(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function contiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Reads a torch zip's structure (the pickle); tensor data stays in the file. */
export function readTorchFile(path: string): TorchFile {
  let entries: Map<string, ZipEntry>;
  let fileSize: number;
  try {
    ({ entries, fileSize } = readZipEntries(path));
  } catch (err) {
    if (err instanceof ZipError) fail(path, err.message);
    throw err;
  }
  const pkl = [...entries.values()].find((e) => /^[^/]+\/data\.pkl$/.test(e.name) || e.name === 'data.pkl');
  if (!pkl) fail(path, 'the zip has no data.pkl (it is a zip, but not a torch.save file)');
  const prefix = pkl.name.slice(0, -'data.pkl'.length);
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder && readZipEntry(path, byteorder, 16).toString('latin1').trim() !== 'little') fail(path, 'its tensors are big-endian');
  let pickle: Buffer;
  let root: PickleValue;
  try {
    pickle = readZipEntry(path, pkl, MAX_PICKLE_BYTES);
    root = unpickle(pickle, torchStorageRef);
  } catch (err) {
    if (err instanceof TorchPickleError || err instanceof ZipError) fail(path, err.message);
    throw err;
  }
  const locate = (name: string, t: TorchTensor): TensorInfo => {
    const entry = entries.get(`${prefix}data/${t.storage.key}`);
    if (!entry) fail(path, `tensor '${name}' uses storage ${t.storage.key}, which the zip lacks`);
    if (entry.method !== 0) fail(path, `storage ${t.storage.key} is compressed (torch stores tensors uncompressed; re-save the file)`);
    if (!contiguous(t.shape, t.stride)) fail(path, `tensor '${name}' is not contiguous (stride ${t.stride.join(',')} for shape ${t.shape.join(',')}); re-save it with .contiguous() or convert to safetensors`);
    const item = ITEM_SIZE[t.storage.dtype];
    const length = t.shape.reduce((a, b) => a * b, 1) * item;
    const start = t.storageOffset * item;
    if (start + length > entry.size) fail(path, `tensor '${name}' reads past the end of its storage ${t.storage.key}`);
    return { name, dtype: t.storage.dtype, shape: t.shape, offset: entry.dataOffset + start, length };
  };
  return { path, root, pickle: new Uint8Array(pickle), locate, fileSize };
}

/** A string-keyed dict as a JS map; anything else is undefined. */
export function pickleDict(v: PickleValue | undefined): Map<string, PickleValue> | undefined {
  if (!(v instanceof Map)) return undefined;
  const out = new Map<string, PickleValue>();
  for (const [k, x] of v) if (typeof k === 'string') out.set(k, x);
  return out;
}

/**
 * The model weights in a loaded object, as ComfyUI's load_torch_file: a top-level `state_dict` when there is
 * one, else the only value of a one-entry dict when that is a dict, else the object itself.
 */
export function stateDictOf(root: PickleValue): Map<string, PickleValue> {
  const top = pickleDict(root) ?? new Map();
  const stateDict = pickleDict(top.get('state_dict'));
  if (stateDict) return stateDict;
  if (top.size === 1) return pickleDict([...top.values()][0]) ?? top;
  return top;
}

/** The tensors of a torch file's state dict as a SafetensorsFile whose offsets point into the zip. */
export function openTorchTensors(path: string): SafetensorsFile {
  const file = readTorchFile(path);
  const tensors = new Map<string, TensorInfo>();
  for (const [name, value] of stateDictOf(file.root)) {
    if (isTorchTensor(value)) tensors.set(name, file.locate(name, value));
  }
  return tensorFileHandle(path, file.fileSize, file.pickle.length, file.pickle, {}, tensors);
}

/** Is this a PyTorch file (zip) rather than a safetensors file? Decided by content, not by extension. */
export function isTorchZip(path: string): boolean {
  return firstBytes(path, 2).toString('latin1') === 'PK';
}

/**
 * Opens model weights from a .safetensors file or a PyTorch zip (.ckpt/.pt/.pth), by their content. A torch
 * file's problems are thrown as `errorType` (the caller's error class, e.g. CheckpointError).
 */
export function openTensorFile(path: string, errorType: new (message: string) => Error = TorchFileError): SafetensorsFile {
  const head = firstBytes(path, 4);
  try {
    if (head.subarray(0, 2).toString('latin1') === 'PK') return openTorchTensors(path);
  } catch (err) {
    if (err instanceof TorchFileError) throw new errorType(err.message);
    throw err;
  }
  // torch's legacy format starts with its pickled magic number: PROTO 2, LONG1 of 10 bytes. (That is also no
  // safetensors header length: 0x0a8a0280 bytes is over the format's limit.)
  if (head.equals(Buffer.from([0x80, 0x02, 0x8a, 0x0a]))) {
    throw new errorType(`${path} is in PyTorch's legacy (pre-1.6, non-zip) format, which invgraph does not read; re-save it with a recent torch or convert it to .safetensors`);
  }
  return openSafetensors(path);
}

/** File names the loaders list as model weights (ComfyUI's supported_pt_extensions, minus pickled .bin/.pkl). */
export const WEIGHT_FILE = /\.(safetensors|sft|ckpt|pt|pth)$/i;
