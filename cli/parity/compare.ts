// Parity bookkeeping: every recomputed tensor is kept (for the output file) and compared with its
// golden. Tolerance (issue 3): max|a − b| ≤ 1e-4 · (1 + max|ref|) for floats — float32 kernels differ
// in summation order, and errors grow with magnitude; integer tensors must match exactly.
import type { Tensor } from '../../engine/tensor/index.ts';
import type { IntTensor } from './fixture.ts';

export const RELATIVE_TOLERANCE = 1e-4;

export interface TensorReport {
  key: string;
  shape: readonly number[];
  max_abs_error: number;
  max_abs_reference: number;
  relative_error: number;
  tolerance: number;
  ok: boolean;
  note?: string;
}

export type ComputedTensor = { kind: 'float'; tensor: Tensor } | { kind: 'int'; tensor: IntTensor };

export class ParityLog {
  readonly computed = new Map<string, ComputedTensor>();
  readonly reports: TensorReport[] = [];

  /** Records a float tensor under `stem/key` and compares it with `reference` (same shape). */
  float(stem: string, key: string, actual: Tensor, reference: Tensor | undefined): void {
    const name = `${stem}/${key}`;
    this.computed.set(name, { kind: 'float', tensor: actual });
    if (!reference) return;
    this.reports.push(compareFloat(name, actual, reference));
  }

  int(stem: string, key: string, actual: IntTensor, reference: IntTensor | undefined): void {
    const name = `${stem}/${key}`;
    this.computed.set(name, { kind: 'int', tensor: actual });
    if (!reference) return;
    const sameShape = sameDims(actual.dims, reference.dims);
    let mismatches = sameShape ? 0 : actual.ints.length;
    if (sameShape) for (let i = 0; i < actual.ints.length; i++) if (actual.ints[i] !== reference.ints[i]) mismatches++;
    this.reports.push({
      key: name,
      shape: actual.dims,
      max_abs_error: mismatches,
      max_abs_reference: 0,
      relative_error: mismatches,
      tolerance: 0,
      ok: mismatches === 0,
      note: sameShape ? `${mismatches} of ${actual.ints.length} ids differ` : `shape [${actual.dims}] vs [${reference.dims}]`,
    });
  }

  get failed(): TensorReport[] {
    return this.reports.filter((r) => !r.ok);
  }
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function compareFloat(key: string, actual: Tensor, reference: Tensor): TensorReport {
  let maxRef = 0;
  for (const v of reference.data) maxRef = Math.max(maxRef, Math.abs(v));
  const tolerance = RELATIVE_TOLERANCE * (1 + maxRef);
  if (!sameDims(actual.dims, reference.dims)) {
    return { key, shape: actual.dims, max_abs_error: Infinity, max_abs_reference: maxRef, relative_error: Infinity, tolerance, ok: false, note: `shape [${actual.dims}] vs reference [${reference.dims}]` };
  }
  let maxErr = 0;
  for (let i = 0; i < actual.data.length; i++) {
    const err = Math.abs(actual.data[i] - reference.data[i]);
    maxErr = Number.isNaN(err) ? Infinity : Math.max(maxErr, err);
  }
  return {
    key,
    shape: actual.dims,
    max_abs_error: maxErr,
    max_abs_reference: maxRef,
    relative_error: maxRef > 0 ? maxErr / maxRef : maxErr,
    tolerance,
    ok: maxErr <= tolerance,
  };
}
