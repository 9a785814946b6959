// A TAESD decoder with random weights and madebyollin's key names and shapes (4.9 MB at float32), for tests: the
// real file cannot be downloaded here. Values: a deterministic sine hash scaled like PyTorch's default init.
import type { TensorToWrite } from '../../onnx/index.ts';

const WIDTH = 64;

function values(n: number, seed: number, bound: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((Math.abs(Math.sin(seed * 7919 + i * 12.9898) * 43758.5453) % 1) * 2 - 1) * bound);
}

function conv(out: Record<string, TensorToWrite>, key: string, cout: number, cin: number, seed: number, bias = true): void {
  const bound = 1 / Math.sqrt(cin * 9);
  out[`${key}.weight`] = { dtype: 'F32', shape: [cout, cin, 3, 3], data: values(cout * cin * 9, seed, bound) };
  if (bias) out[`${key}.bias`] = { dtype: 'F32', shape: [cout], data: values(cout, seed + 0.5, bound) };
}

/** The decoder's tensors under `prefix` (e.g. '' or 'taesd_decoder.'), latent channels `latentChannels`. */
export function demoTaesdDecoder(prefix = '', latentChannels = 4): Record<string, TensorToWrite> {
  const out: Record<string, TensorToWrite> = {};
  conv(out, `${prefix}1`, WIDTH, latentChannels, 1);
  for (const b of [3, 4, 5, 8, 9, 10, 13, 14, 15, 18]) for (const c of [0, 2, 4]) conv(out, `${prefix}${b}.conv.${c}`, WIDTH, WIDTH, b * 10 + c);
  for (const u of [7, 12, 17]) conv(out, `${prefix}${u}`, WIDTH, WIDTH, u * 100, false);
  conv(out, `${prefix}19`, 3, WIDTH, 19);
  return out;
}
