// Text cleaning before CLIP BPE, as openai/CLIP simple_tokenizer.py does it (sd15-reference.md §4.2):
// ftfy.fix_text (a documented subset, "ftfy-lite"), html.unescape twice, strip, collapse whitespace, lower-case.
//
// ftfy-lite follows ftfy 6.2.3's fix_text: same step order, loop until stable, one segment per line. Exact
// steps: unescape_html (off from the first line containing '<'), fix_c1_controls, fix_latin_ligatures,
// fix_character_width, uncurl_quotes, fix_line_breaks, fix_surrogates, remove_terminal_escapes,
// remove_control_chars, NFC. Approximated step: fix_encoding (mojibake). ftfy gates it on its large "badness"
// regex and tries nine legacy code pages; here the gate is "contains a UTF-8 sequence spelled in Latin-1 or
// Windows-1252 characters" (two-byte ones only with lead bytes C2–C5, CE–D1, D7–D9), and only latin-1 and
// windows-1252 are tried, on the whole line and then on each such run. It repairs the usual "cafÃ©", "â€™",
// "ðŸ˜Ž" mojibake; mojibake through other code pages (1250/1251/MacRoman/cp437), with bytes lost to '?'/U+FFFD
// or 0xA0 turned into a space is left as is where ftfy would repair it; and text ftfy's badness rules would
// judge genuine may still be "repaired" here if it happens to be such a sequence (e.g. "Ã©" on purpose).
// Unicode data (letter/digit classes, case mapping, NFC) comes from Node's ICU rather than Python's
// unicodedata (14.0 in Python 3.11); only characters assigned after Unicode 14 can differ.
import { htmlEntities } from './tokenizer-vocab.ts';

/** The full openai/CLIP cleaning: what the BPE regex sees. */
export function cleanClipText(text: string): string {
  const unescaped = pythonHtmlUnescape(pythonHtmlUnescape(fixTextLite(text)));
  return pythonStrip(pythonStrip(unescaped).replace(/\p{White_Space}+/gu, ' ')).toLowerCase();
}

/** Python str.strip(): str.isspace() is White_Space plus U+001C…U+001F. */
function pythonStrip(text: string): string {
  return text.replace(/^[\p{White_Space}\x1c-\x1f]+|[\p{White_Space}\x1c-\x1f]+$/gu, '');
}

// ---- Python html.unescape ----

/** WHATWG windows-1252 (= Python's "sloppy" one: 81 8D 8F 90 9D stay C1). Node's TextDecoder maps it as latin-1. */
const WINDOWS_1252_80_9F = '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f'
  + '\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';
const WINDOWS_1252 = Array.from({ length: 256 }, (_, b) => (b >= 0x80 && b <= 0x9f ? WINDOWS_1252_80_9F[b - 0x80] : String.fromCharCode(b)));

function isInvalidCodepoint(n: number): boolean {
  return (n >= 0x1 && n <= 0x8) || n === 0xb || (n >= 0xe && n <= 0x1f) || (n >= 0x7f && n <= 0x9f)
    || (n >= 0xfdd0 && n <= 0xfdef) || (n & 0xfffe) === 0xfffe;
}

function numericReference(digits: string, radix: number): string {
  const n = digits.length > 8 ? Infinity : parseInt(digits, radix);
  if (n === 0) return '\ufffd';
  if (n === 0x0d) return '\r';
  if (n >= 0x80 && n <= 0x9f) return WINDOWS_1252[n];
  if ((n >= 0xd800 && n <= 0xdfff) || n > 0x10ffff) return '\ufffd';
  if (isInvalidCodepoint(n)) return '';
  return String.fromCodePoint(n);
}

/** Python's html.unescape: numeric references with its invalid-code-point rules, named ones by longest prefix. */
export function pythonHtmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  const entities = htmlEntities();
  return text.replace(/&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu, (_, ref: string) => {
    if (ref[0] === '#') {
      const hex = ref[1] === 'x' || ref[1] === 'X';
      return numericReference(ref.slice(hex ? 2 : 1).replace(/;$/, '').replace(/^0+(?=.)/, ''), hex ? 16 : 10);
    }
    const exact = entities.get(ref);
    if (exact !== undefined) return exact;
    const chars = [...ref];
    for (let x = chars.length - 1; x > 1; x--) {
      const value = entities.get(chars.slice(0, x).join(''));
      if (value !== undefined) return value + chars.slice(x).join('');
    }
    return `&${ref}`;
  });
}

// ---- ftfy-lite ----

/** ftfy.fix_text with default settings, subset described in the header. */
export function fixTextLite(text: string): string {
  let unescapeHtml = true;
  const out: string[] = [];
  for (const segment of text.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    if (segment.includes('<')) unescapeHtml = false; // ftfy's "auto": looks like HTML, leave entities alone
    out.push(fixSegment(segment, unescapeHtml));
  }
  return out.join('');
}

function fixSegment(segment: string, unescapeHtml: boolean): string {
  let text = segment;
  for (;;) {
    const before = text;
    if (unescapeHtml) text = ftfyUnescapeHtml(text);
    text = fixEncodingLite(text);
    text = fixC1Controls(text);
    text = text.replace(/[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g, (c) => LIGATURES[c] ?? c);
    text = text.replace(/[\u3000\uff01-\uffef]/g, fixWidth);
    text = text.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
    text = text.replace(/\r\n|[\r\u2028\u2029\u0085]/g, '\n');
    text = text.replace(/[\ud800-\udfff]/gu, '\ufffd'); // with the u flag only lone surrogates match
    text = text.replace(/\x1b\[[\d;]*[a-zA-Z]/g, '');
    text = text.replace(/[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g, '');
    text = text.normalize('NFC');
    if (text === before) return text;
  }
}

const LIGATURES: Record<string, string> = {
  'Ĳ': 'IJ', 'ĳ': 'ij', 'ŉ': 'ʼn', 'Ǳ': 'DZ', 'ǲ': 'Dz', 'ǳ': 'dz', 'Ǆ': 'DŽ', 'ǅ': 'Dž', 'ǆ': 'dž',
  'Ǉ': 'LJ', 'ǈ': 'Lj', 'ǉ': 'lj', 'Ǌ': 'NJ', 'ǋ': 'Nj', 'ǌ': 'nj',
  'ﬀ': 'ff', 'ﬁ': 'fi', 'ﬂ': 'fl', 'ﬃ': 'ffi', 'ﬄ': 'ffl', 'ﬅ': 'ſt', 'ﬆ': 'st',
};

function fixWidth(c: string): string {
  return c === '\u3000' ? ' ' : c.normalize('NFKC');
}

/** ftfy's own unescape: only `&…;` names (plus ALL-CAPS forms of lower-case names) and numeric references. */
function ftfyUnescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  const entities = htmlEntities();
  return text.replace(/&#?[0-9A-Za-z]{1,24};/g, (match) => {
    const name = match.slice(1);
    const exact = entities.get(name);
    if (exact !== undefined) return exact;
    // ALL-CAPS spelling of an all-lower-case entity, when Python's html.unescape would leave it alone
    const lowerValue = entities.get(name.toLowerCase());
    if (lowerValue !== undefined && name.toLowerCase().toUpperCase() === name && pythonHtmlUnescape(match) === match) {
      return lowerValue.toUpperCase();
    }
    if (match.startsWith('&#')) {
      const unescaped = pythonHtmlUnescape(match);
      return unescaped.includes(';') ? match : unescaped;
    }
    return match;
  });
}

function fixC1Controls(text: string): string {
  return text.replace(/[\x80-\x9f]/g, (c) => WINDOWS_1252[c.charCodeAt(0)]);
}

// ---- fix_encoding approximation ----

const BYTE_OF_1252_CHAR = new Map<string, number>([...WINDOWS_1252].map((c, b) => [c, b]));
const CONTINUATION = charClass(0x80, 0xbf);
/**
 * A UTF-8 multi-byte sequence written out in Latin-1 or Windows-1252 characters. Two-byte sequences count only
 * with the lead bytes of the usual victims (C2–C5 Latin, CE–D1 Greek/Cyrillic, D7–D9 Hebrew/Arabic): "É²" or
 * "Ü½" is likelier real text than mojibake.
 */
const MOJIBAKE_RUN = new RegExp(
  `(?:[${charClass(0xc2, 0xc5)}${charClass(0xce, 0xd1)}${charClass(0xd7, 0xd9)}][${CONTINUATION}]|[${charClass(0xe0, 0xef)}][${CONTINUATION}]{2}`
  + `|[${charClass(0xf0, 0xf4)}][${CONTINUATION}]{3})+`, 'gu');

const HAS_MOJIBAKE = new RegExp(MOJIBAKE_RUN.source, 'u');

function charClass(from: number, to: number): string {
  let chars = '';
  for (let b = from; b <= to; b++) {
    chars += String.fromCharCode(b);
    if (WINDOWS_1252[b] !== String.fromCharCode(b)) chars += WINDOWS_1252[b];
  }
  return chars.replace(/[\\\]^-]/g, '\\$&');
}

function fixEncodingLite(text: string): string {
  for (;;) {
    const fixed = fixEncodingStep(text);
    if (fixed === text) return text;
    text = fixed;
  }
}

function fixEncodingStep(text: string): string {
  if (/^[\x00-\x7f]*$/.test(text) || !HAS_MOJIBAKE.test(text)) return text;
  const whole = redecodeAsUtf8(text);
  if (whole !== undefined) return whole;
  return text.replace(MOJIBAKE_RUN, (run) => (run.length < text.length ? redecodeAsUtf8(run) ?? run : run));
}

/** Encodes as latin-1, else windows-1252, and decodes the bytes as UTF-8; undefined unless all of it works. */
function redecodeAsUtf8(text: string): string | undefined {
  for (const encode of [encodeLatin1, encodeWindows1252]) {
    const bytes = encode(text);
    if (!bytes) continue;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      // not UTF-8 in this encoding; try the next one
    }
  }
  return undefined;
}

function encodeLatin1(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) return undefined;
    bytes[i] = code;
  }
  return bytes;
}

function encodeWindows1252(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const byte = BYTE_OF_1252_CHAR.get(text[i]);
    if (byte === undefined) return undefined;
    bytes[i] = byte;
  }
  return bytes;
}
