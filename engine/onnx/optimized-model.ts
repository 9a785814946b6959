// Where onnxruntime's own optimised copy of a built graph is kept: a folder beside model.onnx holding the
// graph after onnxruntime's CPU optimisations (fp16→fp32 casts folded, layouts transformed) with its
// weights as one external file. Loading it skips the optimisation pass: a full SD1.5 UNet loads in
// ~2 s instead of ~20 s (measured, bench/session-load.ts), with bitwise the same outputs.
// The folder name carries everything the optimised form depends on: provider, level, onnxruntime's
// version and the CPU's SIMD features (the NCHWc block size follows AVX2 / AVX-512).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';

export const OPTIMIZED_MODEL = 'model.onnx';
export const OPTIMIZED_WEIGHTS = 'weights.bin';

/** SIMD flags that change onnxruntime's CPU kernels and layouts. */
const LAYOUT_FLAGS = ['avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_bf16', 'asimd', 'sve'];

export function cpuFeatures(): string[] {
  try {
    const flags = new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/^(flags|Features)\s*:(.*)$/m)?.[2].trim().split(/\s+/) ?? []);
    return LAYOUT_FLAGS.filter((f) => flags.has(f));
  } catch {
    return [];
  }
}

/** The folder for `modelPath`'s optimised form on this machine (it may not exist yet). */
export function optimizedFolder(modelPath: string, device: string, level: string, ortVersion: string): string {
  const key = JSON.stringify({ device, level, ortVersion, cpu: cpus()[0]?.model ?? '', flags: cpuFeatures() });
  return join(dirname(modelPath), `ort-${device}-${level}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`);
}

/** The optimised model's path when a complete one is there. */
export function completeOptimizedModel(folder: string): string | null {
  const model = join(folder, OPTIMIZED_MODEL);
  return existsSync(model) && existsSync(join(folder, OPTIMIZED_WEIGHTS)) ? model : null;
}

/** Moves a freshly written optimised model into place (other processes never see a half-written one). */
export function publishOptimizedModel(tmpFolder: string, folder: string): void {
  if (!existsSync(join(tmpFolder, OPTIMIZED_MODEL)) || !existsSync(join(tmpFolder, OPTIMIZED_WEIGHTS))) {
    rmSync(tmpFolder, { recursive: true, force: true });
    return;
  }
  try {
    renameSync(tmpFolder, folder);
  } catch {
    rmSync(tmpFolder, { recursive: true, force: true }); // another process published it first
  }
}

/** Bytes of the optimised weights (the session's resident weight memory on CPU), or null. */
export function optimizedWeightBytes(folder: string): number | null {
  const path = join(folder, OPTIMIZED_WEIGHTS);
  return existsSync(path) ? statSync(path).size : null;
}
