// Streaming .safetensors writer: the header (all names, dtypes and shapes) is fixed up front, tensor data is
// appended in that order as it is produced, so files larger than memory (Inv-Adapter feature banks) can be
// written one piece at a time. Writes to a temporary name and renames on finish, so a file under the final
// name is always complete. Also float32 → float16 packing for such writers.
import { openSync, writeSync, closeSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { StDType } from './safetensors.ts';
import { f32ToF16, f16ToF32 } from './half.ts';

const ITEM_SIZE: Record<StDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface StreamEntry {
  name: string;
  dtype: StDType;
  shape: readonly number[];
}

export class SafetensorsStreamWriter {
  private next = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly partial: string,
    private readonly fd: number,
    private readonly entries: readonly StreamEntry[],
  ) {}

  /** Starts `path` with every entry's header line; data must then be written in `entries` order. */
  static create(path: string, entries: readonly StreamEntry[], metadata?: Record<string, string>): SafetensorsStreamWriter {
    const header: Record<string, unknown> = {};
    if (metadata) header.__metadata__ = metadata;
    let offset = 0;
    for (const e of entries) {
      const length = e.shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[e.dtype];
      header[e.name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [offset, offset + length] };
      offset += length;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    const partial = `${path}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
    const fd = openSync(partial, 'w');
    const writer = new SafetensorsStreamWriter(path, partial, fd, entries);
    writer.writeAll(Buffer.concat([prefix, Buffer.from(json)]));
    return writer;
  }

  private writeAll(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
  }

  /** Name of the entry whose data comes next (undefined when all are written). */
  get pending(): string | undefined {
    return this.entries[this.next]?.name;
  }

  /** Appends the raw little-endian bytes of the next entry, which must be `name`. */
  write(name: string, data: Uint8Array | Float32Array | Uint16Array): void {
    if (this.closed) throw new Error(`safetensors writer for ${this.path} is already closed`);
    const entry = this.entries[this.next];
    if (!entry || entry.name !== name) throw new Error(`safetensors writer for ${this.path}: expected '${entry?.name ?? '(nothing)'}' next, got '${name}'`);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const expected = entry.shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[entry.dtype];
    if (bytes.length !== expected) throw new Error(`safetensors writer: '${name}' has ${bytes.length} bytes, ${entry.dtype} [${entry.shape.join(',')}] needs ${expected}`);
    this.writeAll(bytes);
    this.next++;
  }

  /** Closes and moves the file to its final name; every entry must have been written. */
  finish(): void {
    if (this.next !== this.entries.length) {
      this.abort();
      throw new Error(`safetensors writer for ${this.path}: only ${this.next} of ${this.entries.length} tensors were written`);
    }
    closeSync(this.fd);
    this.closed = true;
    renameSync(this.partial, this.path);
  }

  /** Closes and deletes the partial file (interrupted or failed producer). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    rmSync(this.partial, { force: true });
  }
}

/** float32 values → float16 bits, rounded to nearest even (the same bits as half.ts f32ToF16; inlined over a
 *  Uint32 view because a 512² feature step has 23 M values). */
export function toFloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const e = exp - 112; // exponent rebased from float32 (bias 127) to float16 (bias 15)
    if (e > 0 && e < 31) {
      const half = (e << 10) | ((x >>> 13) & 0x3ff);
      const rem = x & 0x1fff;
      out[i] = sign | (half + (rem > 0x1000 || (rem === 0x1000 && half & 1) ? 1 : 0));
    } else {
      out[i] = f32ToF16(values[i]); // zero, subnormal, overflow, inf, NaN: the careful path
    }
  }
  return out;
}

let halfTable: Float32Array | undefined;

/** float16 bits (little-endian bytes) → float32 values, through a 65536-entry table. */
export function fromFloat16(bytes: Uint8Array): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = f16ToF32(h);
  }
  const table = halfTable;
  const count = bytes.length >> 1;
  const out = new Float32Array(count);
  if (bytes.byteOffset % 2 === 0) {
    const bits = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    for (let i = 0; i < count; i++) out[i] = table[bits[i]];
  } else {
    for (let i = 0; i < count; i++) out[i] = table[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
  }
  return out;
}
