// Shared by engine/sd tests: the sd15-tiny fixture paths, golden tensors, and the parity tolerance.
import { fileURLToPath } from 'node:url';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { openSafetensors, writeSafetensors } from '../onnx/index.ts';
import type { TensorToWrite } from '../onnx/index.ts';

export const FIXTURE_DIR = fileURLToPath(new URL('../../test/fixtures/sd15-tiny/', import.meta.url));
export const FIXTURE_CHECKPOINT = join(FIXTURE_DIR, 'checkpoint.safetensors');

/**
 * Writes `<name>.yaml` beside a copy of the fixture checkpoint: the fixture's LDM config plus its text
 * encoder's heads (config.json), which a non-standard CLIP width needs (config.ts clipHeads).
 */
export function writeFixtureConfigBeside(modelPath: string): string {
  const heads = JSON.parse(readFileSync(join(FIXTURE_DIR, 'config.json'), 'utf8')).clip_text.num_attention_heads as number;
  const yaml = readFileSync(join(FIXTURE_DIR, 'original_config.yaml'), 'utf8').replace(/\n*$/, '\n');
  const path = join(dirname(modelPath), `${basename(modelPath, extname(modelPath))}.yaml`);
  writeFileSync(path, `${yaml}      params:\n        num_heads: ${heads}\n`);
  return path;
}

export interface Golden {
  dims: number[];
  data: Float32Array;
  int64: BigInt64Array | null;
}

/** Reads golden tensors from a fixture file; int64 tensors also come back as BigInt64Array. */
export function goldens(file: string): (name: string) => Golden {
  const st = openSafetensors(join(FIXTURE_DIR, file));
  return (name) => {
    const info = st.tensors.get(name);
    if (!info) throw new Error(`${file} has no tensor ${name}`);
    const bytes = st.readBytes(name);
    const int64 = info.dtype === 'I64' ? new BigInt64Array(bytes.slice().buffer) : null;
    return { dims: info.shape, data: st.read(name), int64 };
  };
}

/**
 * Parity tolerance: max|a−b| ≤ 1e-4·(1+max|ref|). float32 CPU results differ from PyTorch's by
 * summation order only (~1e-6 relative); the margin absorbs a few chained layers.
 */
export function assertClose(actual: ArrayLike<number>, ref: ArrayLike<number>, label: string): number {
  if (actual.length !== ref.length) throw new Error(`${label}: ${actual.length} values vs ${ref.length} expected`);
  let diff = 0;
  let big = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - ref[i]));
    big = Math.max(big, Math.abs(ref[i]));
  }
  if (!(diff <= 1e-4 * (1 + big))) throw new Error(`${label}: max|a-b| = ${diff} exceeds 1e-4·(1+${big})`);
  return diff;
}

/**
 * An inpainting copy of the fixture checkpoint (conv_in takes 9 channels: latent, mask, masked-image latent)
 * whose 4 original conv_in input channels sit at `place` and every other channel's weights are 0: at 'latent'
 * it computes the fixture UNet of the noisy latent, at 'masked-image' the fixture UNet of the concat latent.
 */
export function writeInpaintingFixture(dir: string, place: 'latent' | 'masked-image'): string {
  const src = openSafetensors(FIXTURE_CHECKPOINT);
  const key = 'model.diffusion_model.input_blocks.0.0.weight';
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, info] of src.tensors) tensors[name] = { dtype: info.dtype, shape: info.shape, data: src.readBytes(name) };
  const [out, inChannels, kh, kw] = src.tensors.get(key)!.shape;
  const original = src.read(key);
  const widened = new Float32Array(out * 9 * kh * kw);
  const first = place === 'latent' ? 0 : 5;
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < inChannels; c++) {
      widened.set(original.subarray((o * inChannels + c) * kh * kw, (o * inChannels + c + 1) * kh * kw), (o * 9 + first + c) * kh * kw);
    }
  }
  tensors[key] = { dtype: 'F32', shape: [out, 9, kh, kw], data: widened };
  const path = join(dir, `inpainting-${place}.safetensors`);
  writeSafetensors(path, tensors);
  writeFixtureConfigBeside(path);
  return path;
}
