// Stored JSON keeps integers beyond 2^53 (seeds) exact: they are written as digits and read
// back as bigint (comfyui-api.md §10), everything else round-trips as plain JSON.

import { parse, stringify, isInteger, isSafeNumber } from 'lossless-json';

export function toJsonText(value: unknown): string {
  const text = stringify(value);
  if (text === undefined) throw new Error('value has no JSON form');
  return text;
}

export function fromJsonText<T>(text: string): T {
  return parse(text, null, (digits) => (isInteger(digits) && !isSafeNumber(digits) ? BigInt(digits) : Number(digits))) as T;
}
