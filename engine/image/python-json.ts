// JSON text exactly as Python's json.dumps writes it with default arguments, which is what
// ComfyUI stores in PNG text chunks (comfyui-api.md §5.4): ", " and ": " separators, non-ASCII
// escaped as \uXXXX, floats in Python repr form, NaN/Infinity allowed.

export type JsonPath = readonly (string | number)[];

export interface PythonJsonOptions {
  /** True where an integral number was a Python float (e.g. a FLOAT input coerced to 8.0).
   *  JS numbers cannot tell 8 from 8.0; without this, integral numbers print as ints. */
  isFloat?(path: JsonPath): boolean;
}

/** Python repr() of a float: shortest round-trip digits (same as JS), fixed notation for
 *  decimal exponents -4..15, otherwise "d.ddde+XX" with at least two exponent digits. */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const expSign = exponent < 0 ? '-' : '+';
    return `${sign}${head}e${expSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}.${fraction === '' ? '0' : fraction}`;
}

function pythonNumber(value: number, path: JsonPath, options: PythonJsonOptions): string {
  if (!Number.isInteger(value) || options.isFloat?.(path)) return pythonFloatRepr(value);
  // Python ints print every digit; JS switches to exponent form at 1e21.
  return Math.abs(value) < 1e21 ? String(value === 0 ? 0 : value) : BigInt(value).toString();
}

/** json.dumps(ensure_ascii=True) string escaping: only printable ASCII stays as is. */
export function pythonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const ch = text[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (code >= 0x20 && code <= 0x7e) out += ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else out += '\\u' + code.toString(16).padStart(4, '0');
  }
  return out + '"';
}

function dumpValue(value: unknown, path: (string | number)[], options: PythonJsonOptions): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return pythonNumber(value, path, options);
    case 'bigint':
      return value.toString();
    case 'string':
      return pythonString(value);
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (Array.isArray(value)) {
    const items = value.map((item, i) => dumpValue(item, [...path, i], options) ?? 'null');
    return `[${items.join(', ')}]`;
  }
  const entries: string[] = [];
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const text = dumpValue(item, [...path, key], options);
    if (text !== undefined) entries.push(`${pythonString(key)}: ${text}`);
  }
  return `{${entries.join(', ')}}`;
}

/** json.dumps(value) of a JSON-like value (bigints print exactly; undefined entries are
 *  dropped like JSON.stringify does). Object keys keep JS property order. */
export function toPythonJson(value: unknown, options: PythonJsonOptions = {}): string {
  return dumpValue(value, [], options) ?? 'null';
}
