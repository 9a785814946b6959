// Demo data: writes the tiny random upscalers of engine/upscale/demo-weights.ts into models/upscale_models —
// an SRVGGNetCompact 4× (its output is the nearest-upscaled image plus a faint learned-looking texture) and an
// ESRGAN 4× with Real-ESRGAN's key names (random: its output is noise). Real key names and layouts, tiny sizes,
// so UpscaleModelLoader and ImageUpscaleWithModel run on a fresh clone; a test checks the committed files are this output.
// Usage: node --import tsx models/generate-demo-upscalers.ts [--out FOLDER]
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeSafetensors } from '../engine/onnx/index.ts';
import { demoUpscalerTensors, DEMO_UPSCALERS } from '../engine/upscale/index.ts';

export const DEMO_UPSCALER_FOLDER = fileURLToPath(new URL('./upscale_models', import.meta.url));

/** Writes every demo upscaler into `folder`; returns their paths. */
export function writeDemoUpscalers(folder = DEMO_UPSCALER_FOLDER): string[] {
  return Object.entries(DEMO_UPSCALERS).map(([name, spec]) => {
    const path = join(folder, name);
    writeSafetensors(path, demoUpscalerTensors(spec), { generator: 'invgraph demo upscaler (models/generate-demo-upscalers.ts)' });
    return path;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values: opts } = parseArgs({ options: { out: { type: 'string', default: DEMO_UPSCALER_FOLDER } } });
  console.log(JSON.stringify({ written: writeDemoUpscalers(opts.out!) }));
}
