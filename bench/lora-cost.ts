// Benchmark: what a LoRA costs on the CPU, for the two designs of issue #15. (1) Low-rank branches in the UNet
// graph with the strength as a graph input (what invgraph does): the extra time per UNet call, the one-off
// graph build + session load, and a strength change (no rebuild). (2) The alternative, weights patched per
// (file, strength): the JS time to compute W + s·α/r·up@down for every LoRA'd layer and the bytes of the patched
// copy that each strength would need (plus its own graph build + session load, as in (1)).
// The LoRA is random, SD1.5-shaped: every layer a kohya SD1.5 LoRA trains (attn1/attn2 q,k,v,out, ff, proj_in/out).
// Usage: node --import tsx bench/lora-cost.ts CHECKPOINT [--rank 32] [--size 256] [--runs 3] [--threads N]
// (CHECKPOINT: e.g. a full-size random one from models/generate-random-checkpoint.ts --size full)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSession, writeSafetensors, LORA_STRENGTHS_INPUT } from '../engine/onnx/index.ts';
import type { TensorToWrite, ModelSession } from '../engine/onnx/index.ts';
import { openCheckpoint, unetModelPath, openLora, loraCheckpoint, unetFeeds } from '../engine/sd/index.ts';
import type { Checkpoint } from '../engine/sd/index.ts';
import { cpuInfo } from './cpu-info.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rank: { type: 'string', default: '32' }, size: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' }, threads: { type: 'string', default: '0' } },
});
const path = positionals[0];
if (!path) throw new Error('usage: bench/lora-cost.ts CHECKPOINT [--rank 32] [--size 256] [--runs 3] [--threads N]');
const rank = Number(values.rank);
const latent = Number(values.size) / 8;
const runs = Number(values.runs);
const threads = Number(values.threads);
const seconds = (since: number) => Number(((performance.now() - since) / 1000).toFixed(3));
const noise = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => (Math.sin(seed * 1000 + i * 12.9898) % 1) * 0.01);

/** The UNet weights a kohya SD1.5 LoRA trains, by their diffusers names. */
function loraTargets(checkpoint: Checkpoint): string[] {
  const out: string[] = [];
  const blocks = [
    ...[0, 1, 2, 3].flatMap((i) => [0, 1].map((j) => `down_blocks.${i}.attentions.${j}`)),
    'mid_block.attentions.0',
    ...[0, 1, 2, 3].flatMap((i) => [0, 1, 2].map((j) => `up_blocks.${i}.attentions.${j}`)),
  ];
  for (const b of blocks) {
    for (const leaf of ['proj_in', 'proj_out', ...['attn1', 'attn2'].flatMap((a) => ['to_q', 'to_k', 'to_v', 'to_out.0'].map((p) => `transformer_blocks.0.${a}.${p}`)),
      'transformer_blocks.0.ff.net.0.proj', 'transformer_blocks.0.ff.net.2']) {
      const name = `${b}.${leaf}.weight`;
      if (checkpoint.unet.has(name)) out.push(name);
    }
  }
  return out;
}

/** Seconds for one UNet call (batch 1). */
async function timeCall(session: ModelSession, ctx: number, extra: Record<string, { dims: number[]; data: Float32Array }> = {}): Promise<number> {
  const start = performance.now();
  await session.run({
    ...unetFeeds({
      sample: { dims: [1, 4, latent, latent], data: noise(4 * latent * latent, 1) },
      timestep: { dims: [1], data: Float32Array.of(981) },
      encoderHiddenStates: { dims: [1, 77, ctx], data: noise(77 * ctx, 7) },
    }),
    ...extra,
  });
  return seconds(start);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(tmpdir(), 'invgraph-lora-bench-'));
try {
  const base = openCheckpoint(path);
  const ctx = base.config.unet.crossAttentionDim;
  const targets = loraTargets(base);
  const tensors: Record<string, TensorToWrite> = {};
  let params = 0;
  let mergeFlops = 0;
  for (const [i, name] of targets.entries()) {
    const [out, inp, kh = 1, kw = 1] = base.unet.weight(name).shape;
    const conv = kh * kw > 1 || base.unet.weight(name).shape.length === 4;
    const key = `lora_unet_${name.replace(/\.weight$/, '').replaceAll('.', '_')}`;
    tensors[`${key}.lora_down.weight`] = { dtype: 'F32', shape: conv ? [rank, inp, kh, kw] : [rank, inp], data: noise(rank * inp * kh * kw, 2 * i) };
    tensors[`${key}.lora_up.weight`] = { dtype: 'F32', shape: conv ? [out, rank, 1, 1] : [out, rank], data: noise(out * rank, 2 * i + 1) };
    tensors[`${key}.alpha`] = { dtype: 'F32', shape: [], data: Float32Array.of(rank) };
    params += out * inp * kh * kw;
    mergeFlops += 2 * out * inp * kh * kw * rank;
  }
  writeSafetensors(join(dir, 'lora.safetensors'), tensors);
  const lora = openLora(join(dir, 'lora.safetensors'), base);

  // Plain UNet and the LoRA graph (one graph for every strength), both loaded; calls alternate between them so
  // that load from other processes on a shared machine falls on both alike.
  let t = performance.now();
  const plainPath = unetModelPath(dir, base, { compute: 'float32' }).path;
  const plainBuild = seconds(t);
  t = performance.now();
  const plain = await createSession(plainPath, { device: 'cpu', threads });
  const plainLoad = seconds(t);
  const withLora = (strength: number) => loraCheckpoint({ base, unet: [{ lora, strength }], textEncoder: [] });
  t = performance.now();
  const loraPath = unetModelPath(dir, withLora(1), { compute: 'float32' }).path;
  const loraBuild = seconds(t);
  t = performance.now();
  const branched = await createSession(loraPath, { device: 'cpu', threads });
  const loraLoad = seconds(t);
  const rebuilt = unetModelPath(dir, withLora(0.35), { compute: 'float32' }).built;
  const plainCalls: number[] = [];
  const loraCalls: number[] = [];
  const otherStrength: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const keep = r > 0; // the first round warms up (first-call allocations)
    const p = await timeCall(plain, ctx);
    const l = await timeCall(branched, ctx, { [LORA_STRENGTHS_INPUT]: { dims: [1], data: Float32Array.of(1) } });
    const o = await timeCall(branched, ctx, { [LORA_STRENGTHS_INPUT]: { dims: [1], data: Float32Array.of(0.35) } });
    if (keep) { plainCalls.push(p); loraCalls.push(l); otherStrength.push(o); }
  }
  await plain.release();
  await branched.release();

  // The alternative: patched weights per strength, computed in JS (one pass over every LoRA'd weight).
  t = performance.now();
  for (const name of targets) {
    const m = lora.unet.get(name)!;
    const [out] = m.up.shape;
    const cols = m.down.shape.slice(1).reduce((a, b) => a * b, 1);
    const down = tensors[`lora_unet_${name.replace(/\.weight$/, '').replaceAll('.', '_')}.lora_down.weight`].data as Float32Array;
    const up = tensors[`lora_unet_${name.replace(/\.weight$/, '').replaceAll('.', '_')}.lora_up.weight`].data as Float32Array;
    const w = new Float32Array(out * cols);
    for (let o = 0; o < out; o++) {
      for (let r = 0; r < rank; r++) {
        const u = up[o * rank + r] * m.scale;
        const row = r * cols;
        for (let c = 0; c < cols; c++) w[o * cols + c] += u * down[row + c];
      }
    }
  }
  const mergeJs = seconds(t);

  console.log(JSON.stringify({
    cpu: cpuInfo(), checkpoint: path, latent_px: latent * 8, batch: 1, rank, lora_layers: targets.length,
    lora_file_mb: Number((Object.values(tensors).reduce((a, x) => a + x.data.byteLength, 0) / 2 ** 20).toFixed(1)),
    plain: { build_s: plainBuild, load_s: plainLoad, call_s: median(plainCalls), calls_s: plainCalls },
    branches: { build_s: loraBuild, load_s: loraLoad, call_s: median(loraCalls), calls_s: loraCalls, strength_change_rebuilds: rebuilt, call_s_other_strength: median(otherStrength) },
    extra_per_call_pct: Number((100 * (median(loraCalls) / median(plainCalls) - 1)).toFixed(1)),
    // On a shared machine the fastest call of each is the one least disturbed by other processes.
    extra_per_call_pct_fastest: Number((100 * (Math.min(...loraCalls) / Math.min(...plainCalls) - 1)).toFixed(1)),
    patched_alternative: { merge_js_s: mergeJs, merge_gflop: Number((mergeFlops / 1e9).toFixed(2)), patched_weights_mb_fp32: Number((params * 4 / 2 ** 20).toFixed(0)), per_strength: 'merge + write + graph build + session load' },
    threads: threads || 'onnxruntime default',
  }, null, 1));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
