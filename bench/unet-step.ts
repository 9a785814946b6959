// Benchmark: one SD1.5 UNet call (batch 2, as with CFG) on the CPU at latent 8×8 (64 px) and 32×32 (256 px):
// graph build, session creation and call times, peak RSS. The graph is float32; fp16 checkpoint weights are
// cast in-graph (folded at load).
// Usage: node --import tsx bench/unet-step.ts CHECKPOINT [--threads N] [--runs N] [--optimization all|extended|basic|disabled]
//        [--device cpu|cuda|webgpu|auto] [--sizes 64,256,512]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSession, resolveDevice } from '../engine/onnx/index.ts';
import type { Device } from '../engine/onnx/index.ts';
import { openCheckpoint, unetModelPath, unetFeeds } from '../engine/sd/index.ts';
import { cpuInfo } from './cpu-info.ts';

const seconds = (since: number) => Number(((performance.now() - since) / 1000).toFixed(3));

/** Deterministic values in [-1, 1) (the inputs' values do not matter for timing). */
function noise(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) % 1);
}

async function main(): Promise<void> {
  const [path, ...rest] = process.argv.slice(2);
  if (!path) throw new Error('usage: bench/unet-step.ts CHECKPOINT [--threads N] [--runs N] [--optimization LEVEL] [--device D] [--sizes 64,256]');
  const option = (name: string, fallback: string) => {
    const i = rest.indexOf(`--${name}`);
    return i >= 0 ? rest[i + 1] : fallback;
  };
  const threads = Number(option('threads', '0'));
  const runs = Number(option('runs', '2'));
  const optimization = option('optimization', 'all');
  const device = option('device', 'cpu') as Device;
  // Latent sides to time (pixels / 8); default 64 px and 256 px.
  const sizes = option('sizes', '64,256').split(',').map(Number);
  if (!sizes.every((s) => s > 0 && s % 8 === 0)) throw new Error('--sizes takes pixel sizes divisible by 8, e.g. 64,256,512');
  if (!['all', 'extended', 'basic', 'disabled'].includes(optimization)) throw new Error(`--optimization must be all, extended, basic or disabled, got ${optimization}`);
  const cacheDir = mkdtempSync(join(tmpdir(), 'invgraph-bench-'));
  try {
    let t = performance.now();
    const checkpoint = openCheckpoint(path);
    // GPU providers run the float16 graph, as the engine does (engine/sd/runtime.ts).
    const compute = resolveDevice(device) === 'cpu' ? 'float32' : 'float16';
    const modelPath = unetModelPath(cacheDir, checkpoint, { compute }).path;
    const buildS = seconds(t);
    t = performance.now();
    const session = await createSession(modelPath, { device, threads, optimization: optimization as 'all' });
    const sessionS = seconds(t);
    const ctx = checkpoint.config.unet.crossAttentionDim;
    const call = async (latent: number): Promise<number[]> => {
      const times: number[] = [];
      for (let r = 0; r < runs; r++) {
        const start = performance.now();
        await session.run(unetFeeds({
          sample: { dims: [2, 4, latent, latent], data: noise(2 * 4 * latent * latent, r + 1) },
          timestep: { dims: [2], data: Float32Array.of(981, 981) },
          encoderHiddenStates: { dims: [2, 77, ctx], data: noise(2 * 77 * ctx, r + 7) },
        }));
        times.push(seconds(start));
      }
      return times;
    };
    const timings: Record<string, number[]> = {};
    for (const px of sizes) timings[`${px}px`] = await call(px / 8);
    await session.release();
    console.log(JSON.stringify({
    cpu: cpuInfo(),
      build_s: buildS,
      session_create_s: sessionS,
      compute,
      // Per size: the last run (the first includes one-off allocations), and all runs.
      unet_call_s: Object.fromEntries(Object.entries(timings).map(([k, t]) => [k, t[t.length - 1]])),
      unet_call_s_runs: timings,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      threads: threads || 'onnxruntime default',
      optimization,
      device: session.device,
    }));
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

await main();
