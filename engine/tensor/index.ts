// The one plain tensor shape passed between engine modules and nodes: row-major float32 data
// with its dimensions. Deliberately no tensor library (style.md §12): math lives where it is used.

export interface Tensor {
  dims: readonly number[];
  data: Float32Array;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

export function makeTensor(dims: readonly number[], data?: Float32Array): Tensor {
  const size = elementCount(dims);
  if (data && data.length !== size) {
    throw new Error(`tensor data has ${data.length} elements, dims [${dims.join(', ')}] need ${size}`);
  }
  return { dims: [...dims], data: data ?? new Float32Array(size) };
}
