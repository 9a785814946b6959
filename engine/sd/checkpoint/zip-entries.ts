// The entries of a ZIP archive (central directory, ZIP64 included) with the absolute byte offset of each
// entry's data, so that stored (uncompressed) entries can be referenced in place — PyTorch writes its
// checkpoints as uncompressed zips whose tensor storages graphs can point at, like safetensors data.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  /** Absolute offset of the entry's data in the file, and its stored / uncompressed lengths. */
  dataOffset: number;
  compressedSize: number;
  size: number;
}

export class ZipError extends Error {}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** A central directory bigger than this is not a model file. */
const MAX_DIRECTORY_BYTES = 64 * 1024 * 1024;

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(`a ZIP64 field is out of range (${v})`);
  return Number(v);
}

/** Locates the central directory: [offset, size, count]. */
function findDirectory(fd: number, fileSize: number): [number, number, number] {
  const tailLength = Math.min(fileSize, 22 + 65535);
  const tail = readAt(fd, tailLength, fileSize - tailLength);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) { at = i; break; }
  }
  if (at < 0) throw new ZipError('no end-of-central-directory record (not a zip, or truncated)');
  let count = tail.readUInt16LE(at + 10);
  let size = tail.readUInt32LE(at + 12);
  let offset = tail.readUInt32LE(at + 16);
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    const locatorAt = fileSize - tailLength + at - 20;
    const locator = locatorAt >= 0 ? readAt(fd, 20, locatorAt) : Buffer.alloc(0);
    if (locator.length < 20 || locator.readUInt32LE(0) !== ZIP64_LOCATOR) throw new ZipError('ZIP64 locator missing');
    const record = readAt(fd, 56, u64(locator, 8));
    if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD) throw new ZipError('ZIP64 end record missing');
    count = u64(record, 32);
    size = u64(record, 40);
    offset = u64(record, 48);
  }
  if (size > MAX_DIRECTORY_BYTES || offset + size > fileSize) throw new ZipError(`central directory (${size} bytes at ${offset}) does not fit the ${fileSize}-byte file`);
  return [offset, size, count];
}

/** ZIP64 extra field: the 64-bit values for those 32-bit fields that hold 0xffffffff, in order. */
function zip64Values(extra: Buffer, wanted: boolean[]): number[] {
  for (let i = 0; i + 4 <= extra.length;) {
    const id = extra.readUInt16LE(i);
    const len = extra.readUInt16LE(i + 2);
    if (id === 0x0001) {
      const out: number[] = [];
      let at = i + 4;
      for (const w of wanted) {
        if (!w) continue;
        if (at + 8 > i + 4 + len) throw new ZipError('truncated ZIP64 extra field');
        out.push(u64(extra, at));
        at += 8;
      }
      return out;
    }
    i += 4 + len;
  }
  throw new ZipError('ZIP64 extra field missing');
}

/** Reads a zip's directory and each entry's local header; data stays in the file. */
export function readZipEntries(path: string): { entries: Map<string, ZipEntry>; fileSize: number } {
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const [dirOffset, dirSize, count] = findDirectory(fd, fileSize);
    const dir = readAt(fd, dirSize, dirOffset);
    const entries = new Map<string, ZipEntry>();
    let at = 0;
    for (let n = 0; n < count; n++) {
      if (at + 46 > dir.length || dir.readUInt32LE(at) !== CENTRAL) throw new ZipError(`central directory entry ${n} is damaged`);
      const method = dir.readUInt16LE(at + 10);
      let compressedSize = dir.readUInt32LE(at + 20);
      let size = dir.readUInt32LE(at + 24);
      const nameLength = dir.readUInt16LE(at + 28);
      const extraLength = dir.readUInt16LE(at + 30);
      const commentLength = dir.readUInt16LE(at + 32);
      let localOffset = dir.readUInt32LE(at + 42);
      const name = dir.subarray(at + 46, at + 46 + nameLength).toString('utf8');
      const extra = dir.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
      const wide = [size === 0xffffffff, compressedSize === 0xffffffff, localOffset === 0xffffffff];
      if (wide.some(Boolean)) {
        const values = zip64Values(extra, wide);
        if (wide[0]) size = values.shift()!;
        if (wide[1]) compressedSize = values.shift()!;
        if (wide[2]) localOffset = values.shift()!;
      }
      const local = readAt(fd, 30, localOffset);
      if (local.length < 30 || local.readUInt32LE(0) !== LOCAL) throw new ZipError(`local header of '${name}' is damaged`);
      const dataOffset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      if (dataOffset + compressedSize > fileSize) throw new ZipError(`entry '${name}' ends past the end of the file (truncated)`);
      entries.set(name, { name, method, dataOffset, compressedSize, size });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return { entries, fileSize };
  } finally {
    closeSync(fd);
  }
}

/** The uncompressed bytes of a (small) entry, refusing anything over `limit`. */
export function readZipEntry(path: string, entry: ZipEntry, limit: number): Buffer {
  if (entry.size > limit || entry.compressedSize > limit) throw new ZipError(`entry '${entry.name}' is ${entry.size} bytes, over the ${limit}-byte limit`);
  const fd = openSync(path, 'r');
  try {
    const raw = readAt(fd, entry.compressedSize, entry.dataOffset);
    if (entry.method === 0) return raw;
    if (entry.method === 8) return inflateRawSync(raw, { maxOutputLength: limit });
    throw new ZipError(`entry '${entry.name}' uses compression method ${entry.method}`);
  } finally {
    closeSync(fd);
  }
}
