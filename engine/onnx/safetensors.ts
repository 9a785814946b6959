// safetensors reader and writer (format: sd15-reference.md §2.1). The reader parses and validates only
// the header; tensor bytes stay in the file (graphs point at them), and read() loads small tensors.
import { openSync, readSync, closeSync, fstatSync, writeFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { f16ToF32, bf16ToF32 } from './half.ts';
import type { DType } from './onnx-proto.ts';
import type { WeightRef, WeightSource } from './graph-builder.ts';

export type StDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const ITEM_SIZE: Record<StDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
export const ONNX_OF: Record<StDType, DType> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
/** The reference implementation's cap on the header size. */
export const MAX_HEADER_BYTES = 100_000_000;
/** read() refuses bigger tensors: graphs reference weights in place instead. */
const MAX_READ_BYTES = 512 * 1024 * 1024;

export interface TensorInfo {
  name: string;
  dtype: StDType;
  shape: number[];
  /** Absolute byte offset of the data in the file, and its length. */
  offset: number;
  length: number;
}

export interface SafetensorsFile {
  path: string;
  fileSize: number;
  headerLength: number;
  /** Raw header bytes (used to fingerprint the checkpoint). */
  header: Uint8Array;
  metadata: Record<string, string>;
  tensors: Map<string, TensorInfo>;
  /** Upcasts to float32 (integers and bools converted numerically). */
  read(name: string): Float32Array;
  /** The tensor's raw little-endian bytes. */
  readBytes(name: string): Uint8Array;
}

export class SafetensorsError extends Error {}

function fail(path: string, what: string): never {
  throw new SafetensorsError(`${path} is not a valid .safetensors file: ${what}`);
}

function readExactly(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

function parseEntry(path: string, name: string, raw: unknown, dataStart: number): TensorInfo {
  if (typeof raw !== 'object' || raw === null) fail(path, `entry '${name}' is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in ITEM_SIZE)) {
    const hint = typeof dtype === 'string' && dtype.startsWith('F8') ? ' (8-bit float checkpoints are not supported; use an F16/BF16/F32 file)' : '';
    fail(path, `tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}${hint}`);
  }
  const isDim = (d: unknown): d is number => Number.isSafeInteger(d) && (d as number) >= 0;
  if (!Array.isArray(shape) || !shape.every(isDim)) fail(path, `tensor '${name}' has a bad shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDim) || offsets[0] > offsets[1]) {
    fail(path, `tensor '${name}' has bad data_offsets ${JSON.stringify(offsets)}`);
  }
  const length = offsets[1] - offsets[0];
  const expected = shape.reduce((a: number, b: number) => a * b, 1) * ITEM_SIZE[dtype as StDType];
  if (length !== expected) fail(path, `tensor '${name}' (${dtype} [${shape.join(',')}]) needs ${expected} bytes but data_offsets give ${length}`);
  return { name, dtype: dtype as StDType, shape: shape as number[], offset: dataStart + offsets[0], length };
}

function checkLayout(path: string, infos: TensorInfo[], dataStart: number, fileSize: number): void {
  const sorted = [...infos].sort((a, b) => a.offset - b.offset);
  let end = dataStart;
  for (const t of sorted) {
    if (t.offset < end) fail(path, `tensor '${t.name}' overlaps the previous tensor`);
    end = t.offset + t.length;
    if (end > fileSize) fail(path, `tensor '${t.name}' ends at byte ${end}, past the end of the file (${fileSize} bytes): the file is truncated`);
  }
}

/** Opens a .safetensors file, validating its header. Never reads the tensor data. */
export function openSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SafetensorsError(code === 'ENOENT' ? `file ${path} does not exist` : `cannot open ${path}: ${(err as Error).message}`);
  }
  try {
    const fileSize = fstatSync(fd).size;
    const prefix = readExactly(fd, 8, 0);
    if (prefix.length < 8) fail(path, `only ${fileSize} bytes long (a header needs at least 8)`);
    const n = prefix.readBigUInt64LE(0);
    if (n > BigInt(MAX_HEADER_BYTES)) fail(path, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    const headerLength = Number(n);
    if (8 + headerLength > fileSize) fail(path, `header of ${headerLength} bytes does not fit in the ${fileSize}-byte file: the file is truncated`);
    const header = readExactly(fd, headerLength, 8);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(header));
    } catch (err) {
      fail(path, `header is not UTF-8 JSON (${(err as Error).message})`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(path, 'header is not a JSON object');
    const dataStart = 8 + headerLength;
    const tensors = new Map<string, TensorInfo>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
      if (name === '__metadata__') metadata = parseMetadata(path, raw);
      else tensors.set(name, parseEntry(path, name, raw, dataStart));
    }
    checkLayout(path, [...tensors.values()], dataStart, fileSize);
    return tensorFileHandle(path, fileSize, headerLength, new Uint8Array(header), metadata, tensors);
  } finally {
    closeSync(fd);
  }
}

function parseMetadata(path: string, raw: unknown): Record<string, string> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(path, '__metadata__ is not an object');
  for (const [k, v] of Object.entries(raw)) if (typeof v !== 'string') fail(path, `__metadata__ value '${k}' is not a string`);
  return raw as Record<string, string>;
}

/** A SafetensorsFile over tensors at known offsets of any file (also PyTorch zips, engine/sd/torch-file.ts). */
export function tensorFileHandle(
  path: string, fileSize: number, headerLength: number, header: Uint8Array,
  metadata: Record<string, string>, tensors: Map<string, TensorInfo>,
): SafetensorsFile {
  const info = (name: string): TensorInfo => {
    const t = tensors.get(name);
    if (!t) throw new SafetensorsError(`${path} has no tensor '${name}'`);
    return t;
  };
  const readBytes = (name: string): Uint8Array => {
    const t = info(name);
    if (t.length > MAX_READ_BYTES) throw new SafetensorsError(`tensor '${name}' in ${path} is too big to read into memory (${t.length} bytes)`);
    const fd = openSync(path, 'r');
    try {
      const buf = readExactly(fd, t.length, t.offset);
      if (buf.length !== t.length) throw new SafetensorsError(`${path} was truncated while reading '${name}'`);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    } finally {
      closeSync(fd);
    }
  };
  return { path, fileSize, headerLength, header, metadata, tensors, readBytes, read: (name) => decode(info(name), readBytes(name)) };
}

function decode(t: TensorInfo, bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = t.length / ITEM_SIZE[t.dtype];
  const out = new Float32Array(count);
  const get: Record<StDType, (i: number) => number> = {
    F64: (i) => view.getFloat64(i * 8, true),
    F32: (i) => view.getFloat32(i * 4, true),
    F16: (i) => f16ToF32(view.getUint16(i * 2, true)),
    BF16: (i) => bf16ToF32(view.getUint16(i * 2, true)),
    I64: (i) => Number(view.getBigInt64(i * 8, true)),
    I32: (i) => view.getInt32(i * 4, true),
    I16: (i) => view.getInt16(i * 2, true),
    I8: (i) => view.getInt8(i),
    U8: (i) => view.getUint8(i),
    BOOL: (i) => (view.getUint8(i) ? 1 : 0),
  };
  const at = get[t.dtype];
  for (let i = 0; i < count; i++) out[i] = at(i);
  return out;
}

export interface TensorToWrite {
  dtype: StDType;
  shape: readonly number[];
  /** Raw little-endian bytes, or a typed array whose element type matches dtype. */
  data: Uint8Array | Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint16Array;
}

/** Writes a .safetensors file (header padded to 8-byte alignment, data in the given order). */
export function writeSafetensors(path: string, tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const expected = t.shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[t.dtype];
    if (bytes.length !== expected) throw new Error(`writeSafetensors: '${name}' has ${bytes.length} bytes, ${t.dtype} [${t.shape.join(',')}] needs ${expected}`);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(json), ...chunks]));
}

/** Size and modification time, for cache keys. */
export function fileStamp(path: string): { size: number; mtimeMs: number } {
  const s = statSync(path);
  return { size: s.size, mtimeMs: s.mtimeMs };
}

/** Where a tensor's bytes are, as the graph builder's external-data reference. */
export function weightRef(file: SafetensorsFile, info: TensorInfo): WeightRef {
  return { file: resolve(file.path), offset: info.offset, length: info.length, dtype: ONNX_OF[info.dtype], shape: info.shape };
}

/** A WeightSource reading tensors by their own names from one file. */
export function safetensorsSource(file: SafetensorsFile): WeightSource {
  return {
    has: (name) => file.tensors.has(name),
    weight: (name) => {
      const info = file.tensors.get(name);
      if (!info) throw new SafetensorsError(`${file.path} has no tensor '${name}'`);
      return weightRef(file, info);
    },
  };
}
