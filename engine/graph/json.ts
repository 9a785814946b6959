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
  /** Reject arrays/objects nested deeper than this (default MAX_JSON_DEPTH). */
  maxDepth?: number;
}

/** Prompts and workflows nest a handful of levels; a few hundred leaves room for any real
 *  document while keeping the parser and every later walk (stringify, copy) off the stack limit. */
export const MAX_JSON_DEPTH = 256;

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
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  if (nestingDepth(text, maxDepth) > maxDepth) {
    throw new JsonInputError(`JSON text nests arrays/objects more than ${maxDepth} levels deep; flatten the document.`);
  }
  try {
    return parse(text, null, { parseNumber, onDuplicateKey: ({ newValue }) => newValue });
  } catch (error) {
    throw toJsonInputError(error, text);
  }
}

/** Deepest bracket nesting outside strings, counting stops once past `stopAbove`. One linear pass. */
function nestingDepth(text: string, stopAbove: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest && (deepest = depth) > stopAbove) return deepest;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
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
