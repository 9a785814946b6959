// Benchmark: the time a sampling step spends in JavaScript (sampler arithmetic, CFG combination, feeds,
// copies in and out of onnxruntime) next to the time inside the UNet call, per step — what a GPU would feel
// as host overhead, since one fused graph per step (CFG rows batched, EAA and ControlNet inside) leaves
// nothing else between calls. Prints JSON with the CPU facts.
// Usage: node --import tsx bench/js-overhead.ts [CHECKPOINT] [--size 64] [--steps 30] [--sampler euler]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { SdRuntime, loadTokenizer, encodeText, createEpsModel, prepareGuidedUnet } from '../engine/sd/index.ts';
import { sample } from '../engine/sampling/index.ts';
import type { SampleOptions } from '../engine/sampling/index.ts';
import { makeTensor } from '../engine/tensor/index.ts';
import { cpuInfo } from './cpu-info.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { size: { type: 'string', default: '64' }, steps: { type: 'string', default: '30' }, sampler: { type: 'string', default: 'euler' } },
});
const checkpointPath = positionals[0] ?? fileURLToPath(new URL('../models/checkpoints/invgraph-demo-tiny.safetensors', import.meta.url));
const size = Number(values.size);
const steps = Number(values.steps);
const cacheDir = mkdtempSync(join(tmpdir(), 'invgraph-bench-'));
const runtime = new SdRuntime({ cacheDir, device: 'cpu' });
try {
  const checkpoint = runtime.checkpoint(checkpointPath);
  const clip = { checkpoint, tokenizer: await loadTokenizer(), stopAtLayer: -1 };
  const positive = await encodeText(runtime, clip, 'a photograph of an astronaut riding a horse');
  const negative = await encodeText(runtime, clip, '');
  const latent = makeTensor([1, 4, size / 8, size / 8]);
  const unet = await prepareGuidedUnet(runtime, { model: { checkpoint }, positive: [{ embeds: positive }], negative: [{ embeds: negative }], latentDims: latent.dims });
  let insideOrt = 0;
  const timed = { ...unet, session: { ...unet.session, run: async (...args: Parameters<typeof unet.session.run>) => {
    const t = performance.now();
    try { return await unet.session.run(...args); } finally { insideOrt += performance.now() - t; }
  } } };
  const run = () => sample({ model: createEpsModel(timed), latent, cfg: 7.5, steps, seed: 1n, sampler: values.sampler as SampleOptions['sampler'], scheduler: 'normal' });
  await run(); // warm-up: first-call allocations
  insideOrt = 0;
  const started = performance.now();
  await run();
  const total = performance.now() - started;
  console.log(JSON.stringify({
    cpu: cpuInfo(), checkpoint: checkpointPath, size, steps, sampler: values.sampler,
    ms_per_step: Number((total / steps).toFixed(3)),
    unet_call_ms_per_step: Number((insideOrt / steps).toFixed(3)),
    js_overhead_ms_per_step: Number(((total - insideOrt) / steps).toFixed(3)),
  }));
} finally {
  await runtime.release();
  rmSync(cacheDir, { recursive: true, force: true });
}
