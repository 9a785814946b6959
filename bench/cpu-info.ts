// What every benchmark prints next to its numbers: the CPU model, its core count and the SIMD features
// that decide onnxruntime's CPU kernels (README numbers are quoted with these).
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';

const SIMD = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx512_fp16', 'amx_tile', 'amx_bf16', 'amx_int8', 'asimd', 'sve'];

export interface CpuInfo { model: string; logical_cores: number; simd: string[] }

export function cpuInfo(): CpuInfo {
  let flags = new Set<string>();
  try {
    flags = new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/^(flags|Features)\s*:(.*)$/m)?.[2].trim().split(/\s+/) ?? []);
  } catch {
    // not Linux: the model name alone
  }
  return { model: cpus()[0]?.model ?? 'unknown', logical_cores: cpus().length, simd: SIMD.filter((f) => flags.has(f)) };
}
