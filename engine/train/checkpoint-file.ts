// Files a training run writes: the adapter in the §5 format (what InvAdapterLoader reads), and a
// training state (parameters + AdamW moments + step) from which a run resumes exactly.
import { renameSync } from 'node:fs';
import { writeSafetensors, openSafetensors } from '../onnx/index.ts';
import type { TensorToWrite } from '../onnx/index.ts';
import { AdamW } from './adamw.ts';
import type { AdamWOptions } from './adamw.ts';

export type Tensors = Record<string, { shape: number[]; data: Float32Array }>;

/** Written to a temp name, then renamed: a crash mid-write never leaves a truncated checkpoint. */
function writeAtomic(path: string, tensors: Record<string, TensorToWrite>, metadata: Record<string, string>): void {
  const tmp = `${path}.partial`;
  writeSafetensors(tmp, tensors, metadata);
  renameSync(tmp, path);
}

/** The adapter file of inv-adapter.md §5: `{block}.self.to_k.weight`, …, with the format metadata. */
export function saveAdapterFile(path: string, tensors: Tensors, meta: { tokens: number; referenceSize: number }): void {
  const out: Record<string, TensorToWrite> = {};
  for (const [k, t] of Object.entries(tensors)) out[k] = { dtype: 'F32', shape: t.shape, data: t.data };
  writeAtomic(path, out, { format: 'inv-adapter', base: 'sd15', tokens: String(meta.tokens), reference_size: String(meta.referenceSize) });
}

/** Parameters, AdamW moments and step count in one safetensors file. */
export function saveTrainingState(path: string, params: Tensors, opt: AdamW): void {
  const out: Record<string, TensorToWrite> = {};
  for (const [k, t] of Object.entries(params)) {
    out[`param.${k}`] = { dtype: 'F32', shape: t.shape, data: t.data };
    const m = opt.state.m[k] ?? new Float32Array(t.data.length);
    const v = opt.state.v[k] ?? new Float32Array(t.data.length);
    out[`adam_m.${k}`] = { dtype: 'F32', shape: t.shape, data: m };
    out[`adam_v.${k}`] = { dtype: 'F32', shape: t.shape, data: v };
  }
  writeAtomic(path, out, { format: 'inv-adapter-training-state', step: String(opt.state.step), adamw: JSON.stringify(opt.options) });
}

/** Reads a training state back; the optimizer continues exactly where it stopped. */
export function loadTrainingState(path: string, decayed?: (name: string) => boolean): { params: Tensors; opt: AdamW } {
  const file = openSafetensors(path);
  if (file.metadata.format !== 'inv-adapter-training-state') throw new Error(`${path} is not an invgraph adapter training state`);
  const step = Number(file.metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new Error(`${path}: bad step '${file.metadata.step}'`);
  const opt = new AdamW(JSON.parse(file.metadata.adamw ?? '{}') as Partial<AdamWOptions>, decayed);
  opt.state.step = step;
  const params: Tensors = {};
  for (const [name, info] of file.tensors) {
    if (!name.startsWith('param.')) continue;
    const k = name.slice('param.'.length);
    params[k] = { shape: info.shape, data: file.read(name) };
    opt.state.m[k] = file.read(`adam_m.${k}`);
    opt.state.v[k] = file.read(`adam_v.${k}`);
  }
  return { params, opt };
}
