// Plain data types for the ONNX messages we emit and their protobuf encoding (field numbers from
// onnx/onnx.proto, IR version 10). Only what the graph builder needs: no sparse tensors, no functions.
import { ProtoWriter } from './protobuf.ts';

/** ONNX TensorProto.DataType values. */
export const ONNX_DTYPE = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9,
  float16: 10, float64: 11, uint32: 12, uint64: 13, bfloat16: 16,
} as const;
export type DType = keyof typeof ONNX_DTYPE;

export type AttributeValue = number | string | number[] | { float: number } | { floats: number[] } | TensorData;

export interface TensorData {
  name: string;
  dtype: DType;
  dims: readonly number[];
  /** Raw little-endian bytes, or an external byte range (path relative to the model file). */
  data: Uint8Array | { location: string; offset: number; length: number };
}

export interface NodeData {
  name: string;
  opType: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttributeValue | undefined>;
}

/** A dimension: a number, a symbolic name, or undefined (unknown). */
export interface ValueInfoData {
  name: string;
  dtype: DType;
  dims: ReadonlyArray<number | string | undefined>;
}

export interface ModelData {
  nodes: NodeData[];
  initializers: TensorData[];
  inputs: ValueInfoData[];
  outputs: ValueInfoData[];
  graphName: string;
  opsets: Record<string, number>;
  producer: string;
  metadata?: Record<string, string>;
}

const enum AttrType { FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, FLOATS = 6, INTS = 7 }

function encodeTensor(t: TensorData): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d);
  w.int(2, ONNX_DTYPE[t.dtype]);
  w.string(8, t.name);
  if (t.data instanceof Uint8Array) {
    w.bytes(9, t.data);
  } else {
    const entries: Array<[string, string]> = [
      ['location', t.data.location], ['offset', String(t.data.offset)], ['length', String(t.data.length)],
    ];
    for (const [key, value] of entries) w.message(13, new ProtoWriter().string(1, key).string(2, value));
    w.int(14, 1); // data_location = EXTERNAL
  }
  return w;
}

function encodeAttribute(name: string, value: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float: ${value} } for float attributes`);
    return w.int(20, AttrType.INT).int(3, value);
  }
  if (typeof value === 'string') return w.int(20, AttrType.STRING).string(4, value);
  if (Array.isArray(value)) {
    w.int(20, AttrType.INTS);
    for (const v of value) w.int(8, v);
    return w;
  }
  if ('float' in value) return w.int(20, AttrType.FLOAT).float(2, value.float);
  if ('floats' in value) {
    w.int(20, AttrType.FLOATS);
    for (const v of value.floats) w.float(7, v);
    return w;
  }
  return w.int(20, AttrType.TENSOR).message(5, encodeTensor(value));
}

function encodeNode(n: NodeData): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  if (n.domain) w.string(7, n.domain);
  for (const [key, value] of Object.entries(n.attributes ?? {})) {
    if (value !== undefined) w.message(5, encodeAttribute(key, value));
  }
  return w;
}

function encodeValueInfo(v: ValueInfoData): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else if (typeof d === 'string') dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, ONNX_DTYPE[v.dtype]).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

/** Encodes a ModelProto (IR version 10). */
export function encodeModel(m: ModelData): Uint8Array {
  const g = new ProtoWriter();
  for (const n of m.nodes) g.message(1, encodeNode(n));
  g.string(2, m.graphName);
  for (const t of m.initializers) g.message(5, encodeTensor(t));
  for (const i of m.inputs) g.message(11, encodeValueInfo(i));
  for (const o of m.outputs) g.message(12, encodeValueInfo(o));
  const model = new ProtoWriter().int(1, 10).string(2, m.producer);
  model.message(7, g);
  for (const [domain, version] of Object.entries(m.opsets)) {
    model.message(8, new ProtoWriter().string(1, domain).int(2, version));
  }
  for (const [key, value] of Object.entries(m.metadata ?? {})) {
    model.message(14, new ProtoWriter().string(1, key).string(2, value));
  }
  return model.finish();
}
