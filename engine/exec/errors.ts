// Turns whatever a node threw (an Error or any other value) into the parts of ComfyUI's
// execution_error frame (comfyui-api.md §3.3, §6.9), with inputs summarised to short JSON values.

const MAX_STRING = 1000;

export interface DescribedError {
  /** Ends with "\n", as ComfyUI's. */
  message: string;
  /** The error's class name ("Error", "RangeError", ...), or the thrown value's type. */
  type: string;
  traceback: string[];
}

export function describeError(thrown: unknown): DescribedError {
  if (thrown instanceof Error) {
    return { message: endLine(thrown.message || thrown.name), type: errorTypeName(thrown), traceback: stackFrames(thrown) };
  }
  return { message: endLine(`a non-Error value was thrown: ${summarizeValue(thrown, 0)}`), type: typeof thrown, traceback: [] };
}

function errorTypeName(error: Error): string {
  const ctorName = (error.constructor as { name?: unknown } | undefined)?.name;
  return typeof ctorName === 'string' && ctorName !== '' ? ctorName : error.name;
}

/** Stack lines after the message, each ending in "\n" like Python's format_tb entries. */
function stackFrames(error: Error): string[] {
  if (typeof error.stack !== 'string') return [];
  return error.stack
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .map((line) => `${line}\n`);
}

function endLine(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** input name → list of short JSON-safe values, as in current_inputs. */
export function summarizeInputs(inputs: Record<string, unknown[]>): Record<string, unknown[]> {
  const summary: Record<string, unknown[]> = {};
  for (const [name, values] of Object.entries(inputs)) {
    summary[name] = values.slice(0, 16).map((value) => summarizeValue(value, 0));
    if (values.length > 16) summary[name].push(`… ${values.length - 16} more`);
  }
  return summary;
}

/** Primitives as-is (unsafe bigints as digit strings), everything else as a short description
 *  such as "Float32Array(16384)" or "Tensor {dims: [1,4,64,64], type: float32}". */
export function summarizeValue(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} characters)` : value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
    case 'undefined':
      return null;
    case 'object':
      return value === null ? null : describeObject(value, depth);
    default:
      return `<${typeof value}>`;
  }
}

function describeObject(value: object, depth: number): unknown {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength} bytes)`;
  if (Array.isArray(value)) return depth > 0 || value.length > 8 ? `Array(${value.length})` : value.map((item) => summarizeValue(item, depth + 1));
  const name = value.constructor?.name || 'Object';
  const record = value as Record<string, unknown>;
  const shape = record.dims ?? record.shape;
  if (Array.isArray(shape) && shape.every((dim) => typeof dim === 'number')) {
    const dtype = typeof record.type === 'string' ? record.type : typeof record.dtype === 'string' ? record.dtype : undefined;
    return `${name} {dims: [${shape.join(',')}]${dtype ? `, type: ${dtype}` : ''}}`;
  }
  const keys = Object.keys(record);
  return `${name} {${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}}`;
}
