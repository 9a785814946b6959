// Benchmark: a whole text-to-image run through the engine's own pieces (CLIP → KSampler with CFG → VAE
// decode), as a node graph would run it, for side-by-side comparison with diffusers + PyTorch on the same CPU.
// Prints JSON: times per stage, seconds per sampling step, peak RSS.
// Usage: node --import tsx bench/txt2img.ts CHECKPOINT [--size 512] [--steps 20] [--sampler euler] [--device cpu]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SdRuntime, loadTokenizer, encodeText, createEpsModel, prepareGuidedUnet, decodeLatent } from '../engine/sd/index.ts';
import { sample } from '../engine/sampling/index.ts';
import type { SampleOptions } from '../engine/sampling/index.ts';
import { makeTensor } from '../engine/tensor/index.ts';
import type { Device } from '../engine/onnx/index.ts';
import { cpuInfo } from './cpu-info.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { size: { type: 'string', default: '512' }, steps: { type: 'string', default: '20' }, sampler: { type: 'string', default: 'euler' }, device: { type: 'string', default: 'cpu' } },
});
if (positionals.length !== 1) throw new Error('usage: bench/txt2img.ts CHECKPOINT [--size N] [--steps N] [--sampler NAME] [--device cpu|auto|cuda|webgpu]');
const size = Number(values.size);
const steps = Number(values.steps);
const seconds = (since: number) => Number(((performance.now() - since) / 1000).toFixed(3));
let peakRss = 0;
const sampleRss = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()); }, 100);

const cacheDir = mkdtempSync(join(tmpdir(), 'invgraph-bench-'));
const runtime = new SdRuntime({ cacheDir, device: values.device as Device });
try {
  const started = performance.now();
  const checkpoint = runtime.checkpoint(positionals[0]);
  const tokenizer = await loadTokenizer();
  const clip = { checkpoint, tokenizer, stopAtLayer: -1 };
  const model = { checkpoint };
  let t = performance.now();
  const positive = await encodeText(runtime, clip, 'a photograph of an astronaut riding a horse, highly detailed');
  const negative = await encodeText(runtime, clip, '');
  const textSeconds = seconds(t);
  const latent = makeTensor([1, 4, size / 8, size / 8]);
  t = performance.now();
  const unet = await prepareGuidedUnet(runtime, { model, positive: [{ embeds: positive }], negative: [{ embeds: negative }], latentDims: latent.dims });
  const unetLoadSeconds = seconds(t);
  t = performance.now();
  const stepTimes: number[] = [];
  let stepStart = performance.now();
  const result = await sample({
    model: createEpsModel(unet), latent, cfg: 7.5, steps, seed: 42n, sampler: values.sampler as SampleOptions['sampler'], scheduler: 'normal',
    onStep: () => { stepTimes.push(seconds(stepStart)); stepStart = performance.now(); },
  });
  const samplingSeconds = seconds(t);
  t = performance.now();
  await decodeLatent(runtime, { checkpoint }, result);
  const decodeSeconds = seconds(t);
  clearInterval(sampleRss);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  console.log(JSON.stringify({
    cpu: cpuInfo(),
    checkpoint: positionals[0], size, steps, sampler: values.sampler, device: values.device,
    text_encode_s: textSeconds, unet_load_s: unetLoadSeconds, sampling_s: samplingSeconds,
    s_per_step: Number((samplingSeconds / steps).toFixed(3)), first_step_s: stepTimes[0], vae_decode_s: decodeSeconds,
    total_s: seconds(started), peak_rss_mb: Math.round(peakRss / 2 ** 20),
  }));
} finally {
  clearInterval(sampleRss);
  await runtime.release();
  rmSync(cacheDir, { recursive: true, force: true });
}
