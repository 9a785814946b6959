// Benchmark: one adapter training step (forward + loss + adapter gradients, one graph) of a single EAA
// transformer block at SD1.5 sizes, on the CPU, plus the TypeScript AdamW update. Prints JSON: seconds per
// step, peak RSS and its growth over the session's resident state (an upper bound on activation memory).
// Covers the block step only (engine/train/eaa-block.ts); the full-UNet step is not built yet.
// Usage: node --import tsx bench/train-step.ts [--tokens 4096] [--width 320] [--batch 1] [--steps 2] [--threads N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSession, saveModel } from '../engine/onnx/index.ts';
import { AdamW, buildEaaBlockStep, frozenShapes, adapterShapes, dataShapes, initialAdapter } from '../engine/train/index.ts';
import type { BlockDims } from '../engine/train/index.ts';
import { cpuInfo } from './cpu-info.ts';

const option = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
const fill = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => (Math.sin(seed * 7.1 + i * 12.9898) % 1) * 0.1);
const rssMiB = () => Math.round(process.memoryUsage().rss / 2 ** 20);

async function main(): Promise<void> {
  const width = Number(option('width', '320'));
  const dims: BlockDims = {
    batch: Number(option('batch', '1')), tokens: Number(option('tokens', '4096')), width, heads: 8,
    aggTokens: 256, textTokens: 77, textWidth: 768,
  };
  const steps = Number(option('steps', '2'));
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-train-bench-'));
  try {
    const t0 = performance.now();
    const model = saveModel(buildEaaBlockStep(dims), join(dir, 'step'));
    const buildS = (performance.now() - t0) / 1000;
    const session = await createSession(model, { device: 'cpu', threads: Number(option('threads', '0')) });
    const frozen = Object.fromEntries(Object.entries(frozenShapes(dims)).map(([k, s], i) => [k, fill(size(s), i)]));
    const adapter = initialAdapter(dims, frozen);
    const data = Object.fromEntries(Object.entries(dataShapes(dims)).map(([k, s], i) => [k, fill(size(s), 100 + i)]));
    const feeds = () => {
      const f: Record<string, { dims: number[]; data: Float32Array }> = {};
      for (const [k, s] of Object.entries(frozenShapes(dims))) f[`frozen.${k}`] = { dims: s, data: frozen[k] };
      for (const [k, s] of Object.entries(adapterShapes(dims))) f[`adapter.${k}`] = { dims: s, data: adapter[k] };
      for (const [k, s] of Object.entries(dataShapes(dims))) f[k] = { dims: s, data: data[k] };
      return f;
    };
    const opt = new AdamW();
    const rssBefore = rssMiB();
    let peak = rssBefore;
    const timer = setInterval(() => { peak = Math.max(peak, rssMiB()); }, 5);
    const times: number[] = [];
    let loss = 0;
    for (let i = 0; i < steps; i++) {
      const s0 = performance.now();
      const out = await session.run(feeds());
      opt.update(adapter, Object.fromEntries(Object.keys(adapter).map((k) => [k, out[`grad.${k}`].data as Float32Array])));
      times.push((performance.now() - s0) / 1000);
      loss = out.loss.data[0];
      peak = Math.max(peak, rssMiB());
    }
    clearInterval(timer);
    await session.release();
    console.log(JSON.stringify({
      bench: 'train-step (one EAA transformer block, forward + backward + AdamW)', dims, steps,
      graphBuildSeconds: Number(buildS.toFixed(3)),
      secondsPerStep: times.map((t) => Number(t.toFixed(3))),
      rssBeforeStepsMiB: rssBefore, peakRssMiB: peak, activationUpperBoundMiB: peak - rssBefore, lastLoss: loss,
      machine: cpuInfo(),
    }, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
