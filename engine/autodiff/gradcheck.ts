// Central finite-difference check of a taped graph's gradients, used by the tests: builds y = f(inputs)
// and d(Σ r·y)/d(input) in one graph, then compares, per input and for a random direction v,
// (Σ r·y(x + h·v) − Σ r·y(x − h·v)) / 2h (accumulated in float64) with Σ grad·v.
import { join } from 'node:path';
import type { Value } from '../onnx/index.ts';
import { GraphBuilder, saveModel, createSession } from '../onnx/index.ts';
import { Tape } from './tape.ts';

export interface GradCheckInput {
  name: string;
  shape: number[];
  /** Values to start from; default: deterministic noise in [-1, 1). */
  data?: Float32Array;
  /** A frozen input: fed to the graph but not differentiated (a frozen network weight). */
  frozen?: boolean;
}

export interface GradCheckResult {
  /** Per input: analytic directional derivative, finite-difference one, and their relative error. */
  inputs: Array<{ name: string; analytic: number; numeric: number; relError: number }>;
  /** All non-frozen inputs moved together along one random direction (the whole gradient at once). */
  joint: { analytic: number; numeric: number; relError: number };
  recordedOps: number;
}

export function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export async function gradCheck(
  dir: string,
  inputs: GradCheckInput[],
  build: (t: Tape, xs: Value[]) => Value,
  h = 1e-2,
): Promise<GradCheckResult> {
  const g = new GraphBuilder({ name: 'gradcheck' });
  const t = new Tape(g);
  const xs = inputs.map((i) => (i.frozen ? g.input(i.name, 'float32', i.shape) : t.param(g.input(i.name, 'float32', i.shape))));
  const y = build(t, xs);
  const trained = inputs.map((i, k) => ({ i, k })).filter(({ i }) => !i.frozen);
  const yShape = y.shape as number[];
  const seed = g.input('seed', 'float32', yShape);
  const grads = t.gradients(y, trained.map(({ k }) => xs[k]), seed);
  g.output(y, 'y');
  grads.forEach((gr, j) => g.output(gr, `grad_${trained[j].i.name}`));
  const session = await createSession(saveModel(g, join(dir, 'gradcheck')), { device: 'cpu', threads: 1 });
  try {
    const r = noise(size(yShape), 99);
    const base = inputs.map((i, k) => i.data ?? noise(size(i.shape), 11 + k));
    const feeds = (values: Float32Array[]) => {
      const f: Record<string, { dims: number[]; data: Float32Array }> = { seed: { dims: yShape, data: r } };
      inputs.forEach((i, k) => { f[i.name] = { dims: i.shape, data: values[k] }; });
      return f;
    };
    const objective = async (values: Float32Array[]): Promise<number> => {
      const out = await session.run(feeds(values));
      let sum = 0;
      out.y.data.forEach((v, j) => { sum += v * r[j]; });
      return sum;
    };
    const at = await session.run(feeds(base));
    const results: GradCheckResult['inputs'] = [];
    const directions = base.map((b, k) => (inputs[k].frozen ? new Float32Array(b.length) : noise(b.length, 1000 + k)));
    const move = (sign: number, only?: number) =>
      base.map((b, m) => (only !== undefined && m !== only ? b : b.map((x, j) => x + sign * h * directions[m][j])));
    let jointAnalytic = 0;
    for (const { i, k } of trained) {
      jointAnalytic += at[`grad_${i.name}`].data.reduce((s, gv, j) => s + gv * directions[k][j], 0);
    }
    const jointNumeric = ((await objective(move(1))) - (await objective(move(-1)))) / (2 * h);
    const joint = {
      analytic: jointAnalytic, numeric: jointNumeric,
      relError: Math.abs(jointAnalytic - jointNumeric) / Math.max(Math.abs(jointAnalytic), Math.abs(jointNumeric), 1e-3),
    };
    for (const { k } of trained) {
      const v = directions[k];
      const analytic = at[`grad_${inputs[k].name}`].data.reduce((s, gv, j) => s + gv * v[j], 0);
      const numeric = ((await objective(move(1, k))) - (await objective(move(-1, k)))) / (2 * h);
      const relError = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-3);
      results.push({ name: inputs[k].name, analytic, numeric, relError });
    }
    return { inputs: results, joint, recordedOps: t.size };
  } finally {
    await session.release();
  }
}
