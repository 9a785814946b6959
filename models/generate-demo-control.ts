// Demo data: control models for the demo checkpoint that the project generates itself, so that the nodes loading
// them have shipped workflows that run on a fresh clone (their effect is noise, like the demo checkpoint's images).
// - models/controlnet/invgraph-demo-tiny-diff-controlnet.safetensors: the demo ControlNet stored as a "difference"
//   ControlNet (kohya's diff format: `control_model.*` deltas to the UNet's `model.diffusion_model.*` weights, plus
//   the marker key `difference`), so DiffControlNetLoader with the demo checkpoint gives the demo ControlNet back.
// `npm test` checks the committed files are this output.
// Usage: node --import tsx models/generate-demo-control.ts [--out-dir DIR]
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openSafetensors, writeSafetensors } from '../engine/onnx/index.ts';
import type { TensorToWrite } from '../engine/onnx/index.ts';

export const DEMO_CHECKPOINT = fileURLToPath(new URL('./checkpoints/invgraph-demo-tiny.safetensors', import.meta.url));
export const DEMO_CONTROLNET = fileURLToPath(new URL('./controlnet/invgraph-demo-tiny-controlnet.safetensors', import.meta.url));
export const CONTROL_DIR = fileURLToPath(new URL('./controlnet/', import.meta.url));
export const DEMO_DIFF_CONTROLNET = 'invgraph-demo-tiny-diff-controlnet.safetensors';

const CONTROL_PREFIX = 'control_model.';
const UNET_PREFIX = 'model.diffusion_model.';

/** The demo ControlNet minus the demo checkpoint's UNet, for every weight both have (same shape), plus `difference`. */
export function demoDiffControlnetTensors(controlnetPath = DEMO_CONTROLNET, checkpointPath = DEMO_CHECKPOINT): Record<string, TensorToWrite> {
  const net = openSafetensors(controlnetPath);
  const unet = openSafetensors(checkpointPath);
  const tensors: Record<string, TensorToWrite> = { difference: { dtype: 'F32', shape: [], data: Float32Array.of(0) } };
  for (const [name, info] of net.tensors) {
    if (!name.startsWith(CONTROL_PREFIX)) throw new Error(`${controlnetPath}: '${name}' is not a control_model.* weight`);
    const values = net.read(name);
    const base = unet.tensors.get(UNET_PREFIX + name.slice(CONTROL_PREFIX.length));
    if (base && base.shape.join() === info.shape.join()) {
      const b = unet.read(base.name);
      for (let i = 0; i < values.length; i++) values[i] -= b[i];
    }
    tensors[name] = { dtype: 'F32', shape: info.shape, data: values };
  }
  return tensors;
}

export const DIFF_METADATA = { generator: 'invgraph demo difference ControlNet (models/generate-demo-control.ts)' };

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values: opts } = parseArgs({ options: { 'out-dir': { type: 'string', default: CONTROL_DIR } } });
  const diff = join(opts['out-dir']!, DEMO_DIFF_CONTROLNET);
  writeSafetensors(diff, demoDiffControlnetTensors(), DIFF_METADATA);
  console.log(JSON.stringify({ out: [diff] }));
}
