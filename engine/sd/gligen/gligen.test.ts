// GLIGEN: the file reader (ComfyUI's key layout and order, refusals), the position net's box tokens, one fuser
// of the ONNX graph against a plain-TS reference of comfy/gligen.py GatedSelfAttentionDense, and the whole UNet:
// gate 0 (rows without boxes) gives the plain UNet bitwise, gate 1 changes the output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { copyFileSync, readFileSync } from 'node:fs';
import { createSession, writeSafetensors } from '../../onnx/index.ts';
import type { TensorToWrite } from '../../onnx/index.ts';
import { tempDir, noise, runGraph, maxAbsDiff, maxAbs, refAttention } from '../../onnx/test-helpers.ts';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import { unetModelPath } from '../unet/unet.ts';
import { transformerBlocks } from '../unet/unet-blocks.ts';
import { FIXTURE_CHECKPOINT } from '../test-fixture.ts';
import { openGligen, checkGligenFits, GligenError, MAX_OBJECTS, type GligenModel } from './gligen-file.ts';
import { fourierEmbedding, groundingTokens } from './position-net.ts';
import { gatedSelfAttention, gligenInputs } from './unet-gligen.ts';
import { planGligen } from './gligen-plan.ts';
import { safetensorsToTorch } from '../checkpoint/test-torch-file.ts';
import { DEMO_GLIGEN, DEMO_GLIGEN_METADATA, demoGligenTensors } from '../../../models/generate-demo-gligen.ts';
import { GLIGEN_INPUT } from './gligen-io.ts';

const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);

test('the demo GLIGEN file is the generator\'s output, read in ComfyUI\'s block order, and fits the demo UNet', () => {
  const out = join(tempDir(), 'gligen.safetensors');
  writeSafetensors(out, demoGligenTensors(), DEMO_GLIGEN_METADATA);
  assert.ok(readFileSync(out).equals(readFileSync(DEMO_GLIGEN)), 'regenerate with: node --import tsx models/generate-demo-gligen.ts');
  const gligen = openGligen(DEMO_GLIGEN);
  assert.equal(gligen.keyDim, 768);
  assert.equal(gligen.textDim, checkpoint.config.clip.hiddenSize);
  const blocks = transformerBlocks(checkpoint.config.unet);
  assert.equal(gligen.fusers.length, blocks.length);
  assert.equal(gligen.fusers[0].prefix, 'input_blocks.1.1.transformer_blocks.0.fuser');
  assert.equal(gligen.fusers[blocks.length - 1].prefix, 'output_blocks.11.1.transformer_blocks.0.fuser');
  assert.deepEqual(gligen.fusers.map((f) => f.width), blocks.map((b) => b.width));
  assert.ok(gligen.fusers.every((f) => f.heads === 8)); // load_gligen: 768-wide tokens → 8 heads
  checkGligenFits(gligen, checkpoint.config.unet, checkpoint.config.clip.hiddenSize);
});

/** The demo file's tensors minus `drop`, with `change` applied, written to a temp file. */
function variantFile(drop: (key: string) => boolean, change: Record<string, TensorToWrite> = {}): string {
  const tensors = demoGligenTensors();
  for (const key of Object.keys(tensors)) if (drop(key)) delete tensors[key];
  const path = join(tempDir(), 'variant.safetensors');
  writeSafetensors(path, { ...tensors, ...change });
  return path;
}

test('GLIGEN files that are not, are damaged, or are for another model are refused with the reason', () => {
  const lora = join(tempDir(), 'lora.safetensors');
  copyFileSync(new URL('../../../models/loras/invgraph-demo-lora.safetensors', import.meta.url), lora);
  assert.throws(() => openGligen(lora), (e: Error) => e instanceof GligenError && /is not a GLIGEN model: it has no "…fuser\.\*"/.test(e.message));
  assert.throws(() => openGligen(variantFile((k) => k.startsWith('position_net.'))), /is not a GLIGEN model: it has no "position_net\.\*" weights/);
  assert.throws(() => openGligen(variantFile((k) => k === 'middle_block.1.transformer_blocks.0.fuser.attn.to_k.weight')), /has no tensor 'middle_block\.1\.transformer_blocks\.0\.fuser\.attn\.to_k\.weight'; it is not a complete GLIGEN model/);
  const wrong = { 'position_net.linears.2.bias': { dtype: 'F32', shape: [7], data: new Float32Array(7) } } as const;
  assert.throws(() => openGligen(variantFile(() => false, wrong)), /'position_net\.linears\.2\.bias' is \[7\], expected \[512\]/);
  const fewer = openGligen(variantFile((k) => k.startsWith('output_blocks.11.')));
  assert.throws(() => checkGligenFits(fewer, checkpoint.config.unet), /has 15 gated attention blocks but this model's UNet has 16 transformer blocks/);
  assert.throws(() => checkGligenFits(openGligen(DEMO_GLIGEN), checkpoint.config.unet, 768), /takes 32-wide text features, this CLIP gives 768/);
});

test('Fourier box embedding: per frequency 100^(k/8), sin of the 4 coordinates then their cos', () => {
  const e = fourierEmbedding([0, 0.25, 0.5, 1]);
  assert.equal(e.length, 64);
  assert.deepEqual([...e.slice(0, 4)].map((v) => +v.toFixed(6)), [0, +Math.sin(0.25).toFixed(6), +Math.sin(0.5).toFixed(6), +Math.sin(1).toFixed(6)]);
  assert.deepEqual([...e.slice(4, 8)].map((v) => +v.toFixed(6)), [1, +Math.cos(0.25).toFixed(6), +Math.cos(0.5).toFixed(6), +Math.cos(1).toFixed(6)]);
  const f7 = 100 ** (7 / 8);
  assert.ok(Math.abs(e[14 * 4 + 3] - Math.sin(f7)) < 1e-4 && Math.abs(e[15 * 4 + 3] - Math.cos(f7)) < 1e-4);
});

test('position net: boxes give their own tokens, the empty slots the null tokens, boxes relative to the latent', () => {
  const gligen = openGligen(DEMO_GLIGEN);
  const text = noise(gligen.textDim, 3);
  const box = { text, height: 4, width: 4, y: 2, x: 0 };
  const tokens = groundingTokens(gligen, [box], 8, 8);
  const width = gligen.keyDim;
  assert.equal(tokens.length, MAX_OBJECTS * width);
  const slot = (t: Float32Array, k: number) => t.subarray(k * width, (k + 1) * width);
  assert.deepEqual(slot(tokens, 1), slot(tokens, MAX_OBJECTS - 1)); // padding: null features
  assert.deepEqual(slot(tokens, 1), slot(groundingTokens(gligen, [], 8, 8), 0)); // set_empty
  assert.ok(maxAbsDiff(slot(tokens, 0), slot(tokens, 1)) > 1e-3);
  // the same box on a latent twice the size is a different normalised box; half-size coordinates on it agree
  assert.ok(maxAbsDiff(slot(groundingTokens(gligen, [box], 16, 16), 0), slot(tokens, 0)) > 1e-4);
  assert.deepEqual(slot(groundingTokens(gligen, [{ text, height: 8, width: 8, y: 4, x: 0 }], 16, 16), 0), slot(tokens, 0));
  assert.throws(() => groundingTokens(gligen, Array(31).fill(box), 8, 8), /at most 30 boxes/);
});

// ---------- one fuser: ONNX graph vs plain TypeScript ----------

function erf(x: number): number {
  // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/** x [rows, n] · Wᵀ [out, n] + b. */
function refLinear(x: Float32Array, rows: number, w: Float32Array, out: number, b?: Float32Array): Float32Array {
  const n = x.length / rows;
  const y = new Float32Array(rows * out);
  for (let r = 0; r < rows; r++) for (let o = 0; o < out; o++) {
    let s = b ? b[o] : 0;
    for (let i = 0; i < n; i++) s += x[r * n + i] * w[o * n + i];
    y[r * out + o] = s;
  }
  return y;
}

function refLayerNorm(x: Float32Array, width: number, gamma: Float32Array, beta: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / width; r++) {
    const row = x.subarray(r * width, (r + 1) * width);
    const mean = row.reduce((a, v) => a + v, 0) / width;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / width;
    for (let i = 0; i < width; i++) y[r * width + i] = ((row[i] - mean) / Math.sqrt(variance + 1e-5)) * gamma[i] + beta[i];
  }
  return y;
}

/** comfy/gligen.py GatedSelfAttentionDense.forward for x [B,N,C], objs [B,30,K], with the row gate. */
function refFuser(w: Record<string, Float32Array>, x: Float32Array, objs: Float32Array, gate: Float32Array, [b, n, c]: number[], heads: number): Float32Array {
  const o = refLinear(objs, b * MAX_OBJECTS, w['linear.weight'], c, w['linear.bias']);
  const total = n + MAX_OBJECTS;
  const joint = new Float32Array(b * total * c);
  for (let r = 0; r < b; r++) {
    joint.set(x.subarray(r * n * c, (r + 1) * n * c), r * total * c);
    joint.set(o.subarray(r * MAX_OBJECTS * c, (r + 1) * MAX_OBJECTS * c), (r * total + n) * c);
  }
  const normed = refLayerNorm(joint, c, w['norm1.weight'], w['norm1.bias']);
  const q = refLinear(normed, b * total, w['attn.to_q.weight'], c);
  const k = refLinear(normed, b * total, w['attn.to_k.weight'], c);
  const v = refLinear(normed, b * total, w['attn.to_v.weight'], c);
  const attended = refLinear(refAttention(q, k, v, [b, total, c], total, heads, false), b * total, w['attn.to_out.0.weight'], c, w['attn.to_out.0.bias']);
  const h = new Float32Array(x.length);
  const ta = Math.tanh(w.alpha_attn[0]);
  for (let r = 0; r < b; r++) for (let i = 0; i < n * c; i++) h[r * n * c + i] = x[r * n * c + i] + gate[r] * ta * attended[r * total * c + i];
  const proj = refLinear(refLayerNorm(h, c, w['norm2.weight'], w['norm2.bias']), b * n, w['ff.net.0.proj.weight'], 8 * c, w['ff.net.0.proj.bias']);
  const inner = new Float32Array(b * n * 4 * c);
  for (let t = 0; t < b * n; t++) for (let i = 0; i < 4 * c; i++) {
    const g = proj[t * 8 * c + 4 * c + i];
    inner[t * 4 * c + i] = proj[t * 8 * c + i] * 0.5 * g * (1 + erf(g / Math.SQRT2));
  }
  const dense = refLinear(inner, b * n, w['ff.net.2.weight'], c, w['ff.net.2.bias']);
  const td = Math.tanh(w.alpha_dense[0]);
  return h.map((value, i) => value + gate[Math.floor(i / (n * c))] * td * dense[i]);
}

test('one gated self-attention block of the graph matches the plain-TS reference (gate per row)', async () => {
  const [b, n, c, keyDim, heads] = [2, 6, 16, 24, 2];
  const shapes: Record<string, number[]> = {
    'linear.weight': [c, keyDim], 'linear.bias': [c], 'attn.to_q.weight': [c, c], 'attn.to_k.weight': [c, c], 'attn.to_v.weight': [c, c],
    'attn.to_out.0.weight': [c, c], 'attn.to_out.0.bias': [c], 'ff.net.0.proj.weight': [8 * c, c], 'ff.net.0.proj.bias': [8 * c],
    'ff.net.2.weight': [c, 4 * c], 'ff.net.2.bias': [c], 'norm1.weight': [c], 'norm1.bias': [c], 'norm2.weight': [c], 'norm2.bias': [c],
    alpha_attn: [], alpha_dense: [],
  };
  const w: Record<string, Float32Array> = {};
  const weights: Record<string, TensorToWrite> = {};
  Object.entries(shapes).forEach(([key, shape], i) => {
    const size = shape.reduce((a, d) => a * d, 1);
    w[key] = key === 'alpha_attn' ? Float32Array.of(0.7) : key === 'alpha_dense' ? Float32Array.of(-0.4) : noise(size, 100 + i).map((v) => (key.startsWith('norm') && key.endsWith('weight') ? 1 + 0.2 * v : 0.5 * v));
    weights[`fuser.${key}`] = { dtype: 'F32', shape, data: w[key] };
  });
  const x = noise(b * n * c, 7);
  const objs = noise(b * MAX_OBJECTS * keyDim, 8);
  const gate = Float32Array.of(1, 0);
  const result = await runGraph(weights, (g, root) => {
    const hidden = g.input('x', 'float32', ['B', 'N', c]);
    const inputs = gligenInputs(g, { keyDim } as GligenModel);
    g.output(gatedSelfAttention(root.at('fuser'), hidden, inputs, { prefix: 'fuser', width: c, heads }), 'out');
  }, { x: { dims: [b, n, c], data: x }, [GLIGEN_INPUT.objs]: { dims: [b, MAX_OBJECTS, keyDim], data: objs }, [GLIGEN_INPUT.gate]: { dims: [b], data: gate } });
  const expected = refFuser(w, x, objs, gate, [b, n, c], heads);
  const diff = maxAbsDiff(result.out.data, expected);
  assert.ok(diff < 1e-4 * Math.max(1, maxAbs(expected)), `max diff ${diff}`);
  assert.ok(maxAbsDiff(expected.subarray(0, n * c), x.subarray(0, n * c)) > 0.05, 'the open gate changes row 0');
  assert.deepEqual(result.out.data.subarray(n * c), x.subarray(n * c), 'gate 0 leaves row 1 exactly as it was');
});

// ---------- the whole UNet ----------

test('UNet with GLIGEN: gate 0 gives the plain UNet bitwise, gate 1 changes it; feeds follow the chunks', async () => {
  const cacheDir = tempDir();
  const dims = [2, 4, 8, 8];
  const feeds = {
    sample: { dims, data: noise(2 * 4 * 64, 1) },
    timestep: { dims: [2], data: Float32Array.of(500, 500) },
    encoder_hidden_states: { dims: [2, 77, 32], data: noise(2 * 77 * 32, 2) },
  };
  const run = async (variant: object, extra: Record<string, { dims: readonly number[]; data: Float32Array }>) => {
    const session = await createSession(unetModelPath(cacheDir, checkpoint, variant).path, { device: 'cpu', threads: 1 });
    try {
      return (await session.run({ ...feeds, ...extra })).out.data;
    } finally {
      await session.release();
    }
  };
  const plain = await run({}, {});
  const gligen = openGligen(DEMO_GLIGEN);
  const box = { text: noise(32, 5), height: 4, width: 4, y: 0, x: 4 };
  const plan = planGligen([{ gligen: { model: { gligen }, boxes: [box] } }], [{}]);
  assert.deepEqual(plan.variant, { path: DEMO_GLIGEN });
  const callFeeds = plan.feeds({ guidance: 'uncond+cond', dims }, 2);
  assert.deepEqual([...callFeeds[GLIGEN_INPUT.gate].data], [0, 1]); // uncond row plain, cond row grounded
  const grounded = await run({ gligen: { path: DEMO_GLIGEN } }, callFeeds);
  const rowSize = 4 * 64;
  assert.deepEqual(grounded.subarray(0, rowSize), plain.subarray(0, rowSize), 'gate 0: the plain UNet, bitwise');
  assert.ok(maxAbsDiff(grounded.subarray(rowSize), plain.subarray(rowSize)) > 1e-3, 'gate 1 changes the prediction');
  const closed = await run({ gligen: { path: DEMO_GLIGEN } }, { ...callFeeds, [GLIGEN_INPUT.gate]: { dims: [2], data: new Float32Array(2) } });
  assert.deepEqual(closed, plain, 'both gates 0: the plain UNet, bitwise');
});

test('one sampling uses one GLIGEN model; entries without boxes need no GLIGEN at all', () => {
  const a = openGligen(DEMO_GLIGEN);
  const other = join(tempDir(), 'other.safetensors');
  copyFileSync(DEMO_GLIGEN, other);
  const b = openGligen(other);
  assert.equal(planGligen([{}], [{}]).variant, undefined);
  assert.throws(() => planGligen([{ gligen: { model: { gligen: a }, boxes: [] } }], [{ gligen: { model: { gligen: b }, boxes: [] } }]), /use 2 different GLIGEN models/);
});

test('grounding feeds follow the call\'s chunks and are relative to the rows\' crop (area entries)', () => {
  const gligen = openGligen(DEMO_GLIGEN);
  const box = { text: noise(32, 9), height: 2, width: 2, y: 1, x: 1 };
  const grounded = { gligen: { model: { gligen }, boxes: [box] } };
  const plan = planGligen([{}, grounded], [grounded]);
  const chunks = [{ branch: 'cond', entry: 0 }, { branch: 'cond', entry: 1 }, { branch: 'uncond', entry: 0 }] as const;
  const size = MAX_OBJECTS * gligen.keyDim;
  const feeds = plan.feeds({ guidance: 'uncond+cond', chunks, dims: [6, 4, 4, 4] }, 6); // batch 2, a 4×4 crop
  assert.deepEqual([...feeds[GLIGEN_INPUT.gate].data], [0, 0, 1, 1, 1, 1]);
  assert.deepEqual(feeds[GLIGEN_INPUT.objs].dims, [6, MAX_OBJECTS, gligen.keyDim]);
  const objs = feeds[GLIGEN_INPUT.objs].data;
  assert.ok(objs.subarray(0, 2 * size).every((v) => v === 0));
  assert.deepEqual(objs.subarray(2 * size, 3 * size), groundingTokens(gligen, [box], 4, 4));
  assert.deepEqual(objs.subarray(5 * size, 6 * size), groundingTokens(gligen, [box], 4, 4));
  const whole = plan.feeds({ guidance: 'cond', chunks: [{ branch: 'cond', entry: 1 }], dims: [1, 4, 8, 8] }, 1);
  assert.deepEqual(whole[GLIGEN_INPUT.objs].data, groundingTokens(gligen, [box], 8, 8));
});

// fp16-parity.test.ts's bound; measured on the CPU: 4.4e-3 against a bound of 2.7e-2.
test('the float16 (GPU) UNet with GLIGEN, run on the CPU: gate 0 rows as the float16 plain UNet, gate 1 rows near float32', async () => {
  const cacheDir = tempDir();
  const dims = [2, 4, 8, 8];
  const gligen = openGligen(DEMO_GLIGEN);
  const plan = planGligen([{ gligen: { model: { gligen }, boxes: [{ text: noise(32, 5), height: 4, width: 4, y: 0, x: 4 }] } }], [{}]);
  const feeds = {
    sample: { dims, data: noise(2 * 4 * 64, 1) },
    timestep: { dims: [2], data: Float32Array.of(300, 300) },
    encoder_hidden_states: { dims: [2, 77, 32], data: noise(2 * 77 * 32, 2) },
    ...plan.feeds({ guidance: 'uncond+cond', dims }, 2),
  };
  const run = async (variant: object) => {
    const session = await createSession(unetModelPath(cacheDir, checkpoint, variant).path, { device: 'cpu', threads: 1 });
    try {
      const { sample, timestep, encoder_hidden_states } = feeds;
      return (await session.run('gligen' in variant ? feeds : { sample, timestep, encoder_hidden_states })).out.data;
    } finally {
      await session.release();
    }
  };
  const half = await run({ compute: 'float16', gligen: { path: DEMO_GLIGEN } });
  const halfPlain = await run({ compute: 'float16' });
  const full = await run({ gligen: { path: DEMO_GLIGEN } });
  const rowSize = 4 * 64;
  assert.deepEqual(half.subarray(0, rowSize), halfPlain.subarray(0, rowSize));
  const error = maxAbsDiff(half.subarray(rowSize), full.subarray(rowSize));
  assert.ok(error <= 1e-2 * (1 + maxAbs(full.subarray(rowSize))), `float16 vs float32: ${error}`);
});

test('a torch .pth GLIGEN file reads the same as its .safetensors and runs in the UNet graph', async () => {
  const pth = join(tempDir(), 'gligen.pth');
  safetensorsToTorch(DEMO_GLIGEN, pth);
  const fromTorch = openGligen(pth);
  const fromSafetensors = openGligen(DEMO_GLIGEN);
  assert.deepEqual(fromTorch.fusers, fromSafetensors.fusers);
  assert.deepEqual(fromTorch.file.read('position_net.linears.0.weight'), fromSafetensors.file.read('position_net.linears.0.weight'));
  const dims = [1, 4, 8, 8];
  const plan = planGligen([{ gligen: { model: { gligen: fromTorch }, boxes: [{ text: noise(32, 5), height: 4, width: 4, y: 0, x: 4 }] } }], []);
  const feeds = {
    sample: { dims, data: noise(4 * 64, 1) },
    timestep: { dims: [1], data: Float32Array.of(700) },
    encoder_hidden_states: { dims: [1, 77, 32], data: noise(77 * 32, 2) },
    ...plan.feeds({ guidance: 'cond', dims }, 1),
  };
  const cacheDir = tempDir();
  const outputs = [];
  for (const path of [pth, DEMO_GLIGEN]) {
    const session = await createSession(unetModelPath(cacheDir, checkpoint, { gligen: { path } }).path, { device: 'cpu', threads: 1 });
    try {
      outputs.push((await session.run(feeds)).out.data);
    } finally {
      await session.release();
    }
  }
  assert.deepEqual(outputs[0], outputs[1]);
});
