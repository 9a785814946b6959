// Test-only readers for test/fixtures/sd15-tiny: scheduler.json's JSON tensors and safetensors files.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/sd15-tiny/', import.meta.url));

export interface JsonTensor {
  shape: number[];
  dtype: string;
  data: number[];
}

/** One recorded DDIM (x_t → x_prev) or DDIM-inverse (x → x_next) step. */
export interface StepFixture {
  which: string;
  t: number;
  alpha_prod_t?: number;
  alpha_prod_t_prev?: number;
  alpha_prod_from?: number;
  alpha_prod_to?: number;
  x_t?: JsonTensor;
  x?: JsonTensor;
  eps: JsonTensor;
  x_prev?: JsonTensor;
  x_next?: JsonTensor;
}

/** A 20-step Euler / DPM-Solver++ run with the README's fake model. */
export interface TrajectoryFixture {
  timesteps: JsonTensor;
  sigmas: JsonTensor;
  x_T: JsonTensor;
  trajectory: JsonTensor;
  eps: JsonTensor;
}

/** The parts of scheduler.json the tests read. */
export interface SchedulerFixture {
  betas: JsonTensor;
  alphas_cumprod: JsonTensor;
  ddim: Record<string, { timesteps: number[]; final_alpha_cumprod: number; steps: StepFixture[] }>;
  ddim_inverse: Record<string, { timesteps: number[]; steps: StepFixture[] }>;
  euler: Record<string, TrajectoryFixture>;
  dpmpp_2m: Record<string, TrajectoryFixture>;
}

let schedulerCache: SchedulerFixture | undefined;

export function schedulerFixture(): SchedulerFixture {
  schedulerCache ??= JSON.parse(readFileSync(FIXTURES + 'scheduler.json', 'utf8')) as SchedulerFixture;
  return schedulerCache;
}

export function toF32(tensor: JsonTensor): Float32Array {
  return Float32Array.from(tensor.data);
}

/** All tensors of a safetensors fixture as float32 (int64 converted to numbers). */
export function readSafetensors(name: string): Map<string, { dims: number[]; data: Float32Array }> {
  const bytes = readFileSync(FIXTURES + name);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLength;
  const out = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const [key, entry] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    const [begin, end] = entry.data_offsets;
    const raw = bytes.subarray(base + begin, base + end);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const data =
      entry.dtype === 'F32'
        ? Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true))
        : Float32Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
    out.set(key, { dims: entry.shape, data });
  }
  return out;
}

/** max|a − b| / max|b|, the fixture README's comparison. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}
