// PNG text chunks: inserting tEXt chunks after IHDR (where Pillow puts them, as ComfyUI's
// SaveImage does) and reading tEXt/zTXt/iTXt back. PNG spec §11.3.4 (ISO/IEC 15948).
import { inflateSync } from 'node:zlib';

/** The bytes are not a well-formed PNG, or a text chunk cannot be written as asked. */
export class PngFormatError extends Error {
  override name = 'PngFormatError';
}

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// zlib.crc32 only exists from Node 20.15; a 256-entry table keeps us on engines >=20.10.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface Chunk {
  type: string;
  /** Offset of the chunk's length field. */
  start: number;
  data: Buffer;
}

function* chunks(png: Buffer): Generator<Chunk> {
  if (png.length < 8 || !png.subarray(0, 8).equals(SIGNATURE)) throw new PngFormatError('not a PNG file (bad signature)');
  let offset = 8;
  while (offset < png.length) {
    if (offset + 12 > png.length) throw new PngFormatError(`truncated PNG: chunk header at byte ${offset} is cut off`);
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const end = offset + 12 + length;
    if (end > png.length) throw new PngFormatError(`truncated PNG: chunk ${type} at byte ${offset} needs ${length} bytes`);
    yield { type, start: offset, data: png.subarray(offset + 8, offset + 8 + length) };
    if (type === 'IEND') return;
    offset = end;
  }
  throw new PngFormatError('truncated PNG: no IEND chunk');
}

function encodeChunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function isLatin1(text: string): boolean {
  return !/[^\u0000-\u00ff]/.test(text);
}

function textChunk(keyword: string, text: string): Buffer {
  if (keyword.length < 1 || keyword.length > 79 || !isLatin1(keyword) || keyword.includes('\0')) {
    throw new PngFormatError(`PNG text keyword ${JSON.stringify(keyword)} must be 1-79 Latin-1 characters without NUL`);
  }
  if (!isLatin1(text)) {
    throw new PngFormatError(`PNG tEXt value for ${JSON.stringify(keyword)} holds characters outside Latin-1; escape them first (as json.dumps does)`);
  }
  return encodeChunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]));
}

/** Returns a copy of `png` with one tEXt chunk per entry, in order, right after IHDR. */
export function insertPngTextChunks(png: Uint8Array, entries: ReadonlyArray<readonly [string, string]>): Buffer {
  const buffer = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  const first = chunks(buffer).next();
  if (first.done || first.value.type !== 'IHDR') throw new PngFormatError('PNG does not start with an IHDR chunk');
  const afterIhdr = first.value.start + 12 + first.value.data.length;
  const inserted = entries.map(([keyword, text]) => textChunk(keyword, text));
  return Buffer.concat([buffer.subarray(0, afterIhdr), ...inserted, buffer.subarray(afterIhdr)]);
}

function splitAtNul(data: Buffer, from: number): [Buffer, number] {
  const nul = data.indexOf(0, from);
  if (nul < 0) throw new PngFormatError('PNG text chunk is missing its NUL separator');
  return [data.subarray(from, nul), nul + 1];
}

function decodeTextChunk(type: string, data: Buffer): [string, string] {
  const [keyword, rest] = splitAtNul(data, 0);
  const key = keyword.toString('latin1');
  if (type === 'tEXt') return [key, data.toString('latin1', rest)];
  if (type === 'zTXt') return [key, inflateSync(data.subarray(rest + 1)).toString('latin1')];
  const compressed = data[rest] === 1;
  const [, afterLanguage] = splitAtNul(data, rest + 2);
  const [, textStart] = splitAtNul(data, afterLanguage);
  const text = data.subarray(textStart);
  return [key, (compressed ? inflateSync(text) : text).toString('utf8')];
}

/** keyword → text of every tEXt, zTXt and iTXt chunk (a later duplicate wins, as in Pillow). */
export function readPngTextChunks(png: Uint8Array): Record<string, string> {
  const buffer = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  // A Map, then fromEntries: a keyword like "__proto__" becomes a plain own property.
  const texts = new Map<string, string>();
  for (const chunk of chunks(buffer)) {
    if (chunk.type === 'tEXt' || chunk.type === 'zTXt' || chunk.type === 'iTXt') {
      const [key, text] = decodeTextChunk(chunk.type, chunk.data);
      texts.set(key, text);
    }
  }
  return Object.fromEntries(texts);
}
