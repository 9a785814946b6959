// Reads the text chunks of a PNG in the browser, so a dropped image brings back the workflow
// SaveImage embedded (comfyui-api.md §5.4: tEXt "workflow" and "prompt", Latin-1 JSON).

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** keyword → text of every tEXt chunk and uncompressed iTXt chunk; null when not a PNG. */
export function pngTextChunks(bytes: Uint8Array): Record<string, string> | null {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const texts: Record<string, string> = {};
  let offset = 8;
  while (offset + 12 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, Math.min(offset + 8 + length, bytes.length));
    if (type === 'tEXt') readText(data, texts);
    else if (type === 'iTXt') readInternationalText(data, texts);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  return texts;
}

function readText(data: Uint8Array, texts: Record<string, string>): void {
  const nul = data.indexOf(0);
  if (nul < 0) return;
  const latin1 = new TextDecoder('latin1');
  texts[latin1.decode(data.subarray(0, nul))] = latin1.decode(data.subarray(nul + 1));
}

/** iTXt: keyword\0 compressed-flag method language\0 translated\0 text (UTF-8). */
function readInternationalText(data: Uint8Array, texts: Record<string, string>): void {
  const nul = data.indexOf(0);
  if (nul < 0 || data[nul + 1] !== 0) return; // compressed iTXt is not written by ComfyUI
  const languageEnd = data.indexOf(0, nul + 3);
  const translatedEnd = languageEnd < 0 ? -1 : data.indexOf(0, languageEnd + 1);
  if (translatedEnd < 0) return;
  const keyword = new TextDecoder('latin1').decode(data.subarray(0, nul));
  texts[keyword] = new TextDecoder('utf-8').decode(data.subarray(translatedEnd + 1));
}
