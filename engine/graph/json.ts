// Lossless JSON for prompts and workflows: integers beyond 2^53 (seeds up to 2^64-1) parse to
// bigint and print back exactly (comfyui-api.md §10 "Big integers"). Built on lossless-json.
import { parse, stringify, isInteger } from 'lossless-json';

/** A JSON text the user sent cannot be read: malformed, too large, too deep or non-finite. */
export class JsonInputError extends Error {
  override name = 'JsonInputError';
}

export interface ParseJsonOptions {
  /** Reject texts longer than this many UTF-8 bytes (default 100 MiB, ComfyUI's upload limit). */
  maxBytes?: number;
}

export const DEFAULT_MAX_JSON_BYTES = 100 * 1024 * 1024;

function parseNumber(text: string): number | bigint {
  if (isInteger(text)) {
    const value = Number(text);
    return Number.isSafeInteger(value) ? value : BigInt(text);
  }
  const value = Number(text);
  if (!Number.isFinite(value)) {
    throw new JsonInputError(`The number ${text} is out of range for a 64-bit float; use a smaller value.`);
  }
  return value;
}

/** Parses JSON text. Safe integers become numbers, larger integers bigints, other numbers
 *  numbers. Duplicate keys keep the last value (as JSON.parse and Python do). */
export function parseJson(text: string, options: ParseJsonOptions = {}): unknown {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_JSON_BYTES;
  // UTF-8 never takes fewer bytes than UTF-16 code units, so the length is a cheap first bound.
  const bytes = text.length > maxBytes ? text.length : Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    throw new JsonInputError(
      `JSON text is ${text.length > maxBytes ? 'at least ' : ''}${bytes} bytes, more than the limit of ${maxBytes} bytes; send a smaller document.`,
    );
  }
  if (nestingDepth(text) > MAX_JSON_DEPTH) {
    throw new JsonInputError(`JSON text is nested too deeply to read (more than ${MAX_JSON_DEPTH} levels); flatten the document.`);
  }
  if (nativeParseIsExact(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw toJsonInputError(error, text);
    }
  }
  try {
    return parse(text, null, { parseNumber, onDuplicateKey: ({ newValue }) => newValue });
  } catch (error) {
    throw toJsonInputError(error, text);
  }
}

/** Deeper documents are refused before parsing: code that walks a parsed document recursively
 *  (validation, stringifying, structured clone) must never overflow its stack on user input.
 *  Prompts and workflows nest about ten levels. */
export const MAX_JSON_DEPTH = 256;

/** The deepest bracket nesting outside strings (one pass over the char codes, no allocation). */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped char
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * Whether JSON.parse gives exactly what the lossless parser would: no run of 16+ digits (an integer
 * beyond 2^53 needs a bigint) and no exponent of 3+ digits (out of range), anywhere, strings included
 * (a false alarm only costs the slow path). JSON.parse is native and ~100x faster: a prompt of a few
 * MB then parses in milliseconds instead of blocking the event loop for seconds. Duplicate keys keep
 * the last value in both.
 */
function nativeParseIsExact(text: string): boolean {
  return !/\d{16}|[eE][+-]?\d{3}/.test(text);
}

function toJsonInputError(error: unknown, text: string): JsonInputError {
  if (error instanceof JsonInputError) return error;
  if (error instanceof RangeError) {
    return new JsonInputError('JSON text is nested too deeply to read; flatten the document.');
  }
  const reason = error instanceof Error ? error.message : String(error);
  const hint = /(^|[^"\w])-?(NaN|Infinity)\b/.test(text)
    ? ' NaN and Infinity are not valid JSON numbers; replace them with finite numbers.'
    : '';
  return new JsonInputError(`Invalid JSON: ${reason}.${hint}`);
}

const bigintStringifier = {
  test: (value: unknown) => typeof value === 'bigint',
  stringify: (value: unknown) => String(value),
};

/** Stringifies like JSON.stringify, but bigints print as plain integer literals. A
 *  non-finite number is a bug in our own data, so it throws instead of printing null. */
export function stringifyJson(value: unknown, space?: number | string): string {
  const text = stringify(value, assertFinite, space, [bigintStringifier]);
  if (text === undefined) throw new Error(`stringifyJson: value of type ${typeof value} has no JSON form`);
  return text;
}

function assertFinite(key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error(`stringifyJson: ${key ? `key "${key}"` : 'value'} is ${value}, which JSON cannot hold`);
  }
  return value;
}
