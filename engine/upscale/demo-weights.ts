// Tiny random upscalers with the real key names and layouts, for demos and tests (issue 15: "a tiny random file
// that the project generates itself"): ESRGAN RRDBNet in its three key layouts and SRVGGNetCompact. Values are a
// deterministic sine hash, scaled like PyTorch's default init (±1/√fan_in); the compact model's last conv is
// scaled down further so its output stays close to the nearest-upscaled input it adds (a watchable demo).
import type { TensorToWrite } from '../onnx/index.ts';

export type DemoUpscaler =
  | { kind: 'esrgan'; layout: 'original' | 'basicsr' | 'bsrgan'; features: number; growth: number; blocks: number; upsamples: number; unshuffle?: 1 | 2 | 4; seed: number }
  | { kind: 'compact'; features: number; convs: number; scale: number; seed: number };

/** The files models/generate-demo-upscalers.ts writes into models/upscale_models. */
export const DEMO_UPSCALERS: Record<string, DemoUpscaler> = {
  'invgraph-demo-compact-x4.safetensors': { kind: 'compact', features: 8, convs: 4, scale: 4, seed: 1 },
  'invgraph-demo-esrgan-x4.safetensors': { kind: 'esrgan', layout: 'basicsr', features: 8, growth: 4, blocks: 1, upsamples: 2, seed: 2 },
};

function values(n: number, seed: number, bound: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (Math.abs(Math.sin(seed * 7919 + i * 12.9898) * 43758.5453) % 1 * 2 - 1) * bound);
}

type Fill = (n: number, seed: number, bound: number) => Float32Array;

function convTensors(fill: Fill, out: Record<string, TensorToWrite>, key: string, cout: number, cin: number, seed: number, gain = 1): void {
  const bound = gain / Math.sqrt(cin * 9);
  out[`${key}.weight`] = { dtype: 'F32', shape: [cout, cin, 3, 3], data: fill(cout * cin * 9, seed, bound) };
  out[`${key}.bias`] = { dtype: 'F32', shape: [cout], data: fill(cout, seed + 0.5, bound) };
}

/**
 * ESRGAN module names in each layout. The original layout is one nn.Sequential: 0 conv, 1 the RRDB trunk (its
 * `sub` holding the blocks then the trunk conv), then [Upsample, Conv, LeakyReLU] per 2× step, hr conv, LeakyReLU, last conv.
 */
function esrganKey(layout: 'original' | 'basicsr' | 'bsrgan', blocks: number, upsamples: number, part: { block?: [number, number, number]; up?: number; name?: string }): string {
  const { block, up, name } = part;
  if (layout === 'original') {
    if (block) return `model.1.sub.${block[0]}.RDB${block[1]}.conv${block[2]}.0`;
    if (up !== undefined) return `model.${3 * up}`;
    return { conv_first: 'model.0', conv_body: `model.1.sub.${blocks}`, conv_hr: `model.${3 * upsamples + 2}`, conv_last: `model.${3 * upsamples + 4}` }[name!]!;
  }
  if (layout === 'bsrgan') {
    if (block) return `RRDB_trunk.${block[0]}.RDB${block[1]}.conv${block[2]}`;
    if (up !== undefined) return `upconv${up}`;
    return { conv_first: 'conv_first', conv_body: 'trunk_conv', conv_hr: 'HRconv', conv_last: 'conv_last' }[name!]!;
  }
  if (block) return `body.${block[0]}.rdb${block[1]}.conv${block[2]}`;
  if (up !== undefined) return `conv_up${up}`;
  return name!;
}

/** The tensors of a demo upscaler (weights and biases, float32). */
export function demoUpscalerTensors(spec: DemoUpscaler): Record<string, TensorToWrite> {
  return tensorsOf(spec, values);
}

/** Names and shapes only (full-size layouts, without computing their values). */
export function demoUpscalerShapes(spec: DemoUpscaler): Map<string, { shape: readonly number[] }> {
  return new Map(Object.entries(tensorsOf(spec, () => new Float32Array(0))).map(([k, t]) => [k, { shape: t.shape }]));
}

function tensorsOf(spec: DemoUpscaler, fill: Fill): Record<string, TensorToWrite> {
  const out: Record<string, TensorToWrite> = {};
  let seed = spec.seed * 1000;
  if (spec.kind === 'compact') {
    const nf = spec.features;
    convTensors(fill, out, 'body.0', nf, 3, seed++);
    out['body.1.weight'] = { dtype: 'F32', shape: [nf], data: fill(nf, seed++, 0.25).map((x) => x + 0.25) };
    for (let i = 1; i <= spec.convs; i++) {
      convTensors(fill, out, `body.${2 * i}`, nf, nf, seed++);
      out[`body.${2 * i + 1}.weight`] = { dtype: 'F32', shape: [nf], data: fill(nf, seed++, 0.25).map((x) => x + 0.25) };
    }
    convTensors(fill, out, `body.${2 * spec.convs + 2}`, 3 * spec.scale * spec.scale, nf, seed++, 0.1);
    return out;
  }
  const { layout, features: nf, growth: gc, blocks, upsamples } = spec;
  const r = spec.unshuffle ?? 1;
  const key = (part: Parameters<typeof esrganKey>[3]) => esrganKey(layout, blocks, upsamples, part);
  convTensors(fill, out, key({ name: 'conv_first' }), nf, 3 * r * r, seed++);
  for (let b = 0; b < blocks; b++) {
    for (let d = 1; d <= 3; d++) {
      for (let c = 1; c <= 5; c++) convTensors(fill, out, key({ block: [b, d, c] }), c === 5 ? nf : gc, nf + (c - 1) * gc, seed++);
    }
  }
  convTensors(fill, out, key({ name: 'conv_body' }), nf, nf, seed++);
  for (let u = 1; u <= upsamples; u++) convTensors(fill, out, key({ up: u }), nf, nf, seed++);
  convTensors(fill, out, key({ name: 'conv_hr' }), nf, nf, seed++);
  convTensors(fill, out, key({ name: 'conv_last' }), 3, nf, seed++);
  return out;
}
