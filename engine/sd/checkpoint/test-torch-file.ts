// Tests only: writes PyTorch zip files as torch.save does (protocol-2 pickle `archive/data.pkl`, storages
// `archive/data/<n>` stored uncompressed and 64-byte aligned), byte by byte, so the reader is tested on the
// real format without Python.
import { writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { openSafetensors } from '../../onnx/index.ts';
import type { StDType } from '../../onnx/index.ts';

const STORAGE: Record<string, string> = { F32: 'FloatStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage', F64: 'DoubleStorage', I64: 'LongStorage', I32: 'IntStorage', U8: 'ByteStorage' };

export interface TorchTensorToWrite {
  dtype: StDType;
  shape: readonly number[];
  data: ArrayBufferView;
}

const bytesOf = (d: ArrayBufferView) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/** A small pickle emitter (protocol 2 opcodes, as torch.save uses). */
export class PickleWriter {
  private parts: number[] = [];
  private memo = new Map<string, number>();
  op(...bytes: number[]): this { this.parts.push(...bytes); return this; }
  u32(n: number): this { const b = Buffer.alloc(4); b.writeUInt32LE(n); return this.op(...b); }
  str(s: string): this { const b = Buffer.from(s, 'utf8'); return this.op(0x58).u32(b.length).op(...b); }
  int(n: number): this { return n >= 0 && n < 256 ? this.op(0x4b, n) : this.op(0x4a).u32(n >>> 0); }
  /** GLOBAL, memoised as torch's pickler does (BINPUT first time, BINGET after). */
  global(module: string, name: string): this {
    const key = `${module}.${name}`;
    const slot = this.memo.get(key);
    if (slot !== undefined) return this.op(0x6a).u32(slot);
    this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
    const next = this.memo.size + 1000;
    this.memo.set(key, next);
    return this.op(0x72).u32(next);
  }
  tuple(items: number[]): this { this.op(0x28); for (const i of items) this.int(i); return this.op(0x74); }
  bytes(): Uint8Array { return Uint8Array.from(this.parts); }
}

function tensorRecord(p: PickleWriter, key: string, t: TorchTensorToWrite): void {
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  p.global('torch._utils', '_rebuild_tensor_v2').op(0x28);
  p.op(0x28).str('storage').global('torch', STORAGE[t.dtype]).str(key).str('cpu').int(numel).op(0x74, 0x51);
  p.int(0).tuple([...t.shape]).tuple(stride).op(0x89);
  p.global('collections', 'OrderedDict').op(0x29, 0x52); // backward hooks: OrderedDict()
  p.op(0x74, 0x52);
}

/**
 * The pickle of `{ ...extra, [wrap]: OrderedDict(tensors) }` (or the bare OrderedDict when no wrap), storage
 * keys 0, 1, ... in order. `extra` values are ints or strings.
 */
export function stateDictPickle(tensors: Record<string, TorchTensorToWrite>, wrap?: string, extra: Record<string, number | string> = {}): Uint8Array {
  const p = new PickleWriter().op(0x80, 0x02);
  if (wrap) {
    p.op(0x7d, 0x28);
    for (const [k, v] of Object.entries(extra)) (typeof v === 'number' ? p.str(k).int(v) : p.str(k).str(v));
    p.str(wrap);
  }
  p.global('collections', 'OrderedDict').op(0x29, 0x52, 0x28);
  Object.entries(tensors).forEach(([name, t], i) => { p.str(name); tensorRecord(p, String(i), t); });
  p.op(0x75);
  if (wrap) p.op(0x75);
  return p.op(0x2e).bytes();
}

/** Writes a torch.save-style zip holding `pickle` and the storages (in key order 0, 1, ...). */
export function writeTorchZip(path: string, pickle: Uint8Array, storages: Uint8Array[]): void {
  const files: Array<[string, Uint8Array]> = [
    ['archive/data.pkl', pickle], ['archive/byteorder', Buffer.from('little')],
    ...storages.map((s, i): [string, Uint8Array] => [`archive/data/${i}`, s]), ['archive/version', Buffer.from('3\n')],
  ];
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = Buffer.from(name);
    // torch pads the local header's extra field so that data starts on a 64-byte boundary.
    const pad = (64 - ((offset + 30 + nameBytes.length + 4) % 64)) % 64;
    const extra = Buffer.alloc(4 + pad);
    extra.writeUInt16LE(0x4246, 0);
    extra.writeUInt16LE(pad, 2);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26); local.writeUInt16LE(extra.length, 28);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0); entry.writeUInt16LE(20, 4); entry.writeUInt16LE(20, 6); entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(data.length, 20); entry.writeUInt32LE(data.length, 24); entry.writeUInt16LE(nameBytes.length, 28);
    entry.writeUInt32LE(offset, 42);
    central.push(entry, nameBytes);
    chunks.push(local, nameBytes, extra, Buffer.from(data));
    offset += 30 + nameBytes.length + extra.length + data.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(files.length, 8); end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(dir.length, 12); end.writeUInt32LE(offset, 16);
  writeFileSync(path, Buffer.concat([...chunks, dir, end]));
}

/** Writes tensors as a torch checkpoint (`wrap` = 'state_dict' as Lightning .ckpt files do). */
export function writeTorchCheckpoint(path: string, tensors: Record<string, TorchTensorToWrite>, wrap?: string, extra?: Record<string, number | string>): void {
  for (const t of Object.values(tensors)) if (!STORAGE[t.dtype]) throw new Error(`writeTorchCheckpoint: no storage type for ${t.dtype}`);
  writeTorchZip(path, stateDictPickle(tensors, wrap, extra), Object.values(tensors).map((t) => bytesOf(t.data)));
}

/** A safetensors file rewritten as a torch checkpoint with the same tensors. */
export function safetensorsToTorch(from: string, to: string, wrap?: string, extra?: Record<string, number | string>): void {
  const src = openSafetensors(from);
  const tensors: Record<string, TorchTensorToWrite> = {};
  for (const [name, info] of src.tensors) tensors[name] = { dtype: info.dtype, shape: info.shape, data: src.readBytes(name) };
  writeTorchCheckpoint(to, tensors, wrap, extra);
}
