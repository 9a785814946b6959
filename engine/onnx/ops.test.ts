// The op vocabulary against plain-JS reference maths, run through onnxruntime's CPU provider.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  conv2d, linear, groupNorm, layerNorm, attention, silu, gelu, quickGelu, reshape, transpose, concat, slice, split,
  resizeNearest, clamp, argMax, gatherNd, add, mul,
} from './index.ts';
import { GraphBuilder, Module, BuildError } from './graph-builder.ts';
import type { WeightSource } from './graph-builder.ts';
import { runGraph, noise, maxAbsDiff, refConv, refGroupNorm, refAttention } from './test-helpers.ts';

const f32 = (shape: number[], seed: number) => ({ dtype: 'F32' as const, shape, data: noise(shape.reduce((a, b) => a * b, 1), seed) });

test('conv2d (stride 2, asymmetric pad) and groupNorm match the reference; symbolic H, W', async () => {
  const w = { 'c.weight': f32([6, 3, 3, 3], 1), 'c.bias': f32([6], 2), 'n.weight': f32([6], 3), 'n.bias': f32([6], 4) };
  const x = noise(2 * 3 * 6 * 4, 5);
  const out = await runGraph(w, (g, root) => {
    const input = g.input('x', 'float32', ['B', 3, 'H', 'W']);
    const h = conv2d(root.at('c'), input, { stride: 2, pad: [0, 0, 1, 1] });
    assert.deepEqual(h.shape, ['B', 6, 'H/2', 'W/2']);
    g.output(h, 'conv');
    g.output(groupNorm(root.at('n'), h, { groups: 3, eps: 1e-6 }), 'norm');
  }, { x: { dims: [2, 3, 6, 4], data: x } });
  const conv = refConv(x, [2, 3, 6, 4], w['c.weight'].data, [6, 3, 3, 3], w['c.bias'].data, 2, [0, 0, 1, 1]);
  assert.deepEqual(out.conv.dims, conv.dims);
  assert.ok(maxAbsDiff(out.conv.data, conv.data) < 1e-5);
  const norm = refGroupNorm(conv.data, conv.dims, 3, w['n.weight'].data, w['n.bias'].data, 1e-6);
  assert.ok(maxAbsDiff(out.norm.data, norm) < 1e-5);
});

test('linear + attention (plain and causal) match the reference', async () => {
  const w = { 'q.weight': f32([8, 8], 6), 'q.bias': f32([8], 7) };
  const x = noise(2 * 5 * 8, 8);
  const out = await runGraph(w, (g, root) => {
    const q = linear(root.at('q'), g.input('x', 'float32', ['B', 'S', 8]));
    g.output(q, 'q');
    g.output(attention(q, q, q, { heads: 2 }), 'plain');
    g.output(attention(q, q, q, { heads: 2, causal: true }), 'causal');
  }, { x: { dims: [2, 5, 8], data: x } });
  const q = out.q.data;
  for (const causal of [false, true]) {
    const ref = refAttention(q, q, q, [2, 5, 8], 5, 2, causal);
    assert.ok(maxAbsDiff(out[causal ? 'causal' : 'plain'].data, ref) < 1e-5, `causal=${causal}`);
  }
  // The first token of a causal attention only sees itself.
  assert.ok(maxAbsDiff(out.causal.data.slice(0, 8), q.slice(0, 8)) < 1e-6);
});

test('activations, layerNorm, clamp', async () => {
  const w = { 'ln.weight': f32([4], 9), 'ln.bias': f32([4], 10) };
  const x = Float32Array.from(noise(8, 11), (v) => v * 3);
  const out = await runGraph(w, (g, root) => {
    const v = g.input('x', 'float32', [2, 4]);
    g.output(silu(v), 'silu');
    g.output(gelu(v), 'gelu');
    g.output(quickGelu(v), 'qgelu');
    g.output(layerNorm(root.at('ln'), v, { eps: 1e-5 }), 'ln');
    g.output(clamp(v, -1, 0.5), 'clamp');
  }, { x: { dims: [2, 4], data: x } });
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const erf = (v: number) => { // Abramowitz-Stegun 7.1.26 is too coarse; use series for |v| small enough here.
    let sum = 0; let term = v; for (let n = 0; n < 60; n++) { sum += term / (2 * n + 1); term *= -v * v / (n + 1); } return (2 / Math.sqrt(Math.PI)) * sum;
  };
  assert.ok(maxAbsDiff(out.silu.data, Array.from(x, (v) => v * sig(v))) < 1e-6);
  assert.ok(maxAbsDiff(out.gelu.data, Array.from(x, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)))) < 1e-5);
  assert.ok(maxAbsDiff(out.qgelu.data, Array.from(x, (v) => v * sig(1.702 * v))) < 1e-6);
  assert.ok(maxAbsDiff(out.clamp.data, Array.from(x, (v) => Math.min(0.5, Math.max(-1, v)))) < 1e-7);
  const ln = refGroupNorm(x, [2, 1, 4], 1, new Float32Array([1]), new Float32Array([0]), 1e-5);
  const lnRef = ln.map((v, i) => v * w['ln.weight'].data[i % 4] + w['ln.bias'].data[i % 4]);
  assert.ok(maxAbsDiff(out.ln.data, lnRef) < 1e-5);
});

test('tensor plumbing: reshape with symbolic dims, transpose, resize, concat, slice, split, argMax/gatherNd', async () => {
  const x = noise(1 * 2 * 3 * 2, 12);
  const ids = new BigInt64Array([5n, 9n, 1n, 9n, 9n, 2n, 7n, 3n]);
  const out = await runGraph({}, (g) => {
    const v = g.input('x', 'float32', ['B', 2, 'H', 'W']);
    const tokens = reshape(transpose(v, [0, 2, 3, 1]), ['B', 'H*W', 2]);
    const back = transpose(reshape(tokens, ['B', 'H', 'W', 2]), [0, 3, 1, 2]);
    g.output(back, 'back');
    const up = resizeNearest(v, { scale: 2 });
    g.output(resizeNearest(up, { like: v }), 'down');
    g.output(concat([up, up], 1), 'cat');
    const [a, b] = split(v, 1, [1, 1]);
    g.output(add(slice(v, 1, 1, 2), mul(a, 0)), 'second');
    g.output(b, 'b');
    const id = g.input('ids', 'int64', [2, 4]);
    const seq = g.input('seq', 'float32', [2, 4, 3]);
    g.output(gatherNd(seq, argMax(id, 1), 1), 'picked');
  }, {
    x: { dims: [1, 2, 3, 2], data: x },
    ids: { dims: [2, 4], data: ids, type: 'int64' },
    seq: { dims: [2, 4, 3], data: Float32Array.from({ length: 24 }, (_, i) => i) },
  });
  assert.deepEqual(Array.from(out.back.data), Array.from(x));
  assert.deepEqual(out.cat.dims, [1, 4, 6, 4]);
  assert.deepEqual(Array.from(out.down.data), Array.from(x), 'nearest x2 then back to the original size');
  assert.deepEqual(Array.from(out.second.data), Array.from(x.slice(6)));
  assert.deepEqual(Array.from(out.b.data), Array.from(x.slice(6)));
  // argmax of [5,9,1,9] is 1 (first max), of [9,2,7,3] is 0.
  assert.deepEqual(Array.from(out.picked.data), [3, 4, 5, 12, 13, 14]);
});

test('float16 and bfloat16 weights are cast in-graph; a float16 graph runs on the CPU', async () => {
  const wf = noise(12, 13);
  const toBits = (v: Float32Array, conv: (x: number) => number) => Uint16Array.from(v, conv);
  const { f32ToF16, f32ToBf16, f16ToF32, bf16ToF32 } = await import('./half.ts');
  const w = {
    'h.weight': { dtype: 'F16' as const, shape: [3, 4], data: toBits(wf, f32ToF16) },
    'b.weight': { dtype: 'BF16' as const, shape: [3, 4], data: toBits(wf, f32ToBf16) },
  };
  const x = noise(4, 14);
  const build = (g: GraphBuilder, root: Module) => {
    const v = g.input('x', 'float32', [1, 4]);
    g.output(linear(root.at('h'), v), 'h');
    g.output(linear(root.at('b'), v), 'b');
  };
  const ref = (dec: (b: number) => number, bits: Uint16Array) =>
    [0, 1, 2].map((o) => [0, 1, 2, 3].reduce((acc, i) => acc + x[i] * dec(bits[o * 4 + i]), 0));
  for (const compute of ['float32', 'float16'] as const) {
    const out = await runGraph(w, build, { x: { dims: [1, 4], data: x } }, compute);
    const tol = compute === 'float32' ? 1e-6 : 3e-3;
    assert.ok(maxAbsDiff(out.h.data, ref(f16ToF32, w['h.weight'].data)) < tol, `${compute} f16 weights`);
    assert.ok(maxAbsDiff(out.b.data, ref(bf16ToF32, w['b.weight'].data)) < tol, `${compute} bf16 weights`);
    assert.ok(out.h.data instanceof Float32Array);
  }
});

test('shape errors at build time name the node and both shapes', () => {
  const source: WeightSource = {
    has: () => true,
    weight: (name) => ({ file: '/nonexistent', offset: 0, length: 0, dtype: 'float32', shape: name.endsWith('bias') ? [8] : [8, 4, 3, 3] }),
  };
  const g = new GraphBuilder({ name: 'bad' });
  const x = g.input('x', 'float32', ['B', 5, 'H', 'W']);
  assert.throws(() => conv2d(new Module(g, source, 'down_blocks.0.resnets.0.conv1'), x), (err: Error) =>
    err instanceof BuildError && err.message.includes('down_blocks.0.resnets.0.conv1') && err.message.includes('[8,4,3,3]') && err.message.includes('[B,5,H,W]'));
  const y = g.input('y', 'float32', ['B', 7]);
  assert.throws(() => add(x, y), /shapes do not broadcast: \[B,5,H,W\] vs \[B,7\]/);
  assert.throws(() => reshape(x, ['B', 4, 'H', 'W']), /element counts differ/);
});
