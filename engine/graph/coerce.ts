// Constant-input coercion with the semantics of ComfyUI's validation (Python int(), float(),
// str(), bool(); comfyui-api.md §6.2), and Python-style value printing for its messages.

export type WidgetKind = 'INT' | 'SEED' | 'FLOAT' | 'STRING' | 'BOOLEAN';

export type Coerced = { ok: true; value: number | bigint | string | boolean } | { ok: false; exception: string };

/** Python's type name of a JSON value, for "not 'NoneType'"-style messages. */
function pyTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'dict';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return typeof value === 'boolean' ? 'bool' : 'str';
}

/** Python repr() of a JSON value: 'text', None, True, [1, 2], {'a': 1}. */
export function pyRepr(value: unknown): string {
  if (typeof value === 'string') return value.includes("'") && !value.includes('"') ? `"${value}"` : `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  return String(value);
}

/** Python str(): strings as they are, everything else as repr. */
export function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : pyRepr(value);
}

/** A float as Python prints it (1.0, not 1). */
export function pyFloat(value: number): string {
  return Number.isInteger(value) && Math.abs(value) < 1e16 ? value.toFixed(1) : String(value);
}

const INT_TEXT = /^\s*[+-]?\d+(?:_\d+)*\s*$/;
const FLOAT_TEXT = /^\s*[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?\s*$/;

/** int(): bools count as 0/1, floats are truncated, integer strings parse; "5.7" and null fail. */
function toInt(value: unknown): Coerced {
  if (typeof value === 'boolean') return { ok: true, value: value ? 1 : 0 };
  if (typeof value === 'bigint') return { ok: true, value };
  if (typeof value === 'number') return { ok: true, value: Math.trunc(value) };
  if (typeof value === 'string') {
    if (INT_TEXT.test(value)) return { ok: true, value: BigInt(value.trim().replace(/_/g, '')) };
    return { ok: false, exception: `invalid literal for int() with base 10: ${pyRepr(value)}` };
  }
  return { ok: false, exception: `int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(value)}'` };
}

/** float(): numbers and numeric strings. Unlike Python, "nan"/"inf" strings are refused:
 *  a non-finite value would pass every min/max check (choice). */
function toFloat(value: unknown): Coerced {
  if (typeof value === 'boolean') return { ok: true, value: value ? 1 : 0 };
  if (typeof value === 'bigint') return { ok: true, value: Number(value) };
  if (typeof value === 'number') return { ok: true, value };
  if (typeof value === 'string') {
    const parsed = FLOAT_TEXT.test(value) ? Number(value.trim().replace(/_/g, '')) : NaN;
    if (Number.isFinite(parsed)) return { ok: true, value: parsed };
    return { ok: false, exception: `could not convert string to float: ${pyRepr(value)}` };
  }
  return { ok: false, exception: `float() argument must be a string or a real number, not '${pyTypeName(value)}'` };
}

/** bool(): Python truthiness, so the string "false" is true (documented ComfyUI quirk). */
function toBool(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0;
  return Boolean(value) && value !== 0n;
}

/** Coerces a constant as ComfyUI does for the input's type. INT and SEED give an integer as
 *  number or bigint; the caller range-checks before narrowing. */
export function coerceConstant(kind: WidgetKind, value: unknown): Coerced {
  switch (kind) {
    case 'INT':
    case 'SEED':
      return toInt(value);
    case 'FLOAT':
      return toFloat(value);
    case 'STRING':
      return { ok: true, value: pyStr(value) };
    case 'BOOLEAN':
      return { ok: true, value: toBool(value) };
  }
}

/** Orders two numbers exactly, even when one is a bigint beyond 2^53. */
export function compareNumbers(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'number' && !Number.isInteger(a)) return a - Number(b);
  if (typeof b === 'number' && !Number.isInteger(b)) return Number(a) - b;
  const [x, y] = [BigInt(a), BigInt(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}
