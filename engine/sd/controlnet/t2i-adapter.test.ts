// T2I-Adapters: full (Adapter, sk=True, ksize 1, average-pool down: ComfyUI's SD1.5 files) and light (Adapter_light)
// graphs equal a plain-TS implementation of ComfyUI's adapter.py on tiny shapes (odd level sizes included); keys in
// the original and the diffusers layout open to the same network; other files are refused saying what they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeSafetensors, GraphBuilder, Module, createSession, saveModel } from '../../onnx/index.ts';
import type { TensorToWrite } from '../../onnx/index.ts';
import { tempDir, noise, refConv, maxAbsDiff, maxAbs } from '../../onnx/test-helpers.ts';
import { openT2iAdapter, t2iAdapterForward, T2iAdapterError, isT2iAdapterKeys, t2iSkipIndex } from './t2i-adapter.ts';

const dir = tempDir();
type T = { shape: number[]; data: Float32Array };
let seed = 1;
const param = (shape: number[]): T => ({ shape, data: noise(shape.reduce((a, b) => a * b, 1), seed++).map((v) => v * 0.3) });

/** ComfyUI Adapter(cin, channels, nums_rb=2, ksize=1, sk=True, use_conv=False) weights. */
function fullWeights(cin: number, channels: number[], k = 1): Record<string, T> {
  const w: Record<string, T> = { 'conv_in.weight': param([channels[0], cin, 3, 3]), 'conv_in.bias': param([channels[0]]) };
  channels.forEach((c, i) => {
    for (let j = 0; j < 2; j++) {
      const p = `body.${i * 2 + j}`;
      const inC = j === 0 && i > 0 ? channels[i - 1] : c;
      if (inC !== c) Object.assign(w, { [`${p}.in_conv.weight`]: param([c, inC, k, k]), [`${p}.in_conv.bias`]: param([c]) });
      Object.assign(w, {
        [`${p}.block1.weight`]: param([c, c, 3, 3]), [`${p}.block1.bias`]: param([c]),
        [`${p}.block2.weight`]: param([c, c, k, k]), [`${p}.block2.bias`]: param([c]),
      });
    }
  });
  return w;
}

/** ComfyUI Adapter_light(cin, channels, nums_rb) weights. */
function lightWeights(cin: number, channels: number[], rb: number): Record<string, T> {
  const w: Record<string, T> = {};
  channels.forEach((c, i) => {
    const inter = c / 4;
    const inC = i === 0 ? cin : channels[i - 1];
    Object.assign(w, { [`body.${i}.in_conv.weight`]: param([inter, inC, 1, 1]), [`body.${i}.in_conv.bias`]: param([inter]) });
    for (let j = 0; j < rb; j++) {
      for (const b of ['block1', 'block2']) Object.assign(w, { [`body.${i}.body.${j}.${b}.weight`]: param([inter, inter, 3, 3]), [`body.${i}.body.${j}.${b}.bias`]: param([inter]) });
    }
    Object.assign(w, { [`body.${i}.out_conv.weight`]: param([c, inter, 1, 1]), [`body.${i}.out_conv.bias`]: param([c]) });
  });
  return w;
}

function save(name: string, w: Record<string, T>): string {
  const path = join(dir, name);
  writeSafetensors(path, Object.fromEntries(Object.entries(w).map(([k, t]) => [k, { dtype: 'F32', shape: t.shape, data: t.data } as TensorToWrite])));
  return path;
}

// ---------- plain-TS reference (ComfyUI adapter.py) ----------

type X = { data: Float32Array; dims: number[] };
const conv = (x: X, w: Record<string, T>, name: string, stride = 1): X => {
  const k = w[`${name}.weight`];
  const p = Math.floor(k.shape[2] / 2);
  return refConv(x.data, x.dims, k.data, k.shape, w[`${name}.bias`]?.data ?? null, stride, [p, p, p, p]);
};
const relu = (x: X): X => ({ dims: x.dims, data: x.data.map((v) => Math.max(v, 0)) });
const plus = (a: X, b: X): X => ({ dims: a.dims, data: a.data.map((v, i) => v + b.data[i]) });
function unshuffle(x: X, r: number): X {
  const [b, c, h, w] = x.dims;
  const out = new Float32Array(x.data.length);
  const [oh, ow] = [h / r, w / r];
  for (let n = 0; n < b; n++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    out[(((n * c * r * r) + ch * r * r + i * r + j) * oh + y) * ow + xx] = x.data[((n * c + ch) * h + y * r + i) * w + xx * r + j];
  }
  return { data: out, dims: [b, c * r * r, oh, ow] };
}
function avgDown(x: X): X {
  const [b, c, h, w] = x.dims;
  const [ph, pw] = [h % 2, w % 2];
  const [oh, ow] = [Math.floor((h + 2 * ph - 2) / 2) + 1, Math.floor((w + 2 * pw - 2) / 2) + 1];
  const out = new Float32Array(b * c * oh * ow);
  for (let n = 0; n < b * c; n++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let s = 0;
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      const [iy, ix] = [2 * y + i - ph, 2 * xx + j - pw];
      if (iy >= 0 && ix >= 0 && iy < h && ix < w) s += x.data[(n * h + iy) * w + ix];
    }
    out[(n * oh + y) * ow + xx] = s / 4; // count_include_pad
  }
  return { data: out, dims: [b, c, oh, ow] };
}
function referenceFull(w: Record<string, T>, hint: X, levels: number): X[] {
  let x = conv(unshuffle(hint, 8), w, 'conv_in');
  const out: X[] = [];
  for (let i = 0; i < levels; i++) {
    for (let j = 0; j < 2; j++) {
      const p = `body.${i * 2 + j}`;
      if (i > 0 && j === 0) x = avgDown(x);
      if (w[`${p}.in_conv.weight`]) x = conv(x, w, `${p}.in_conv`);
      x = plus(conv(relu(conv(x, w, `${p}.block1`)), w, `${p}.block2`), x);
    }
    out.push(x);
  }
  return out;
}
function referenceLight(w: Record<string, T>, hint: X, levels: number, rb: number): X[] {
  let x = unshuffle(hint, 8);
  const out: X[] = [];
  for (let i = 0; i < levels; i++) {
    if (i > 0) x = avgDown(x);
    x = conv(x, w, `body.${i}.in_conv`);
    for (let j = 0; j < rb; j++) x = plus(conv(relu(conv(x, w, `body.${i}.body.${j}.block1`)), w, `body.${i}.body.${j}.block2`), x);
    x = conv(x, w, `body.${i}.out_conv`);
    out.push(x);
  }
  return out;
}

async function runAdapter(path: string, hint: X): Promise<Float32Array[]> {
  const adapter = openT2iAdapter(path);
  const g = new GraphBuilder({ name: 't2i' });
  const features = t2iAdapterForward(new Module(g, adapter.weights, ''), g.input('hint', 'float32', hint.dims), adapter.config);
  features.forEach((f, l) => g.output(f, `feature.${l}`));
  const session = await createSession(saveModel(g, join(dir, `graph-${seed++}`)), { device: 'cpu', threads: 1 });
  try {
    const out = await session.run({ hint });
    return features.map((_, l) => out[`feature.${l}`].data);
  } finally {
    await session.release();
  }
}

function assertFeatures(got: Float32Array[], want: X[], what: string): void {
  assert.equal(got.length, want.length);
  want.forEach((r, l) => {
    assert.equal(got[l].length, r.data.length, `${what} level ${l} size`);
    assert.ok(maxAbsDiff(got[l], r.data) <= 1e-4 * (1 + maxAbs(r.data)), `${what} level ${l}: ${maxAbsDiff(got[l], r.data)}`);
  });
}

const channels = [8, 16, 32, 32];
// 64×48 pixels: levels of 8×6, 4×3, 2×2 (3 is odd: padded average), 1×1.
const gray: X = { dims: [2, 1, 64, 48], data: noise(2 * 64 * 48, 77).map((v) => (v + 1) / 2) };
const rgb: X = { dims: [1, 3, 64, 48], data: noise(64 * 48 * 3, 78).map((v) => (v + 1) / 2) };

test('a full T2I-Adapter (original and diffusers names) equals the reference implementation', async () => {
  const w = fullWeights(64, channels);
  const path = save('t2iadapter_canny_sd15v2.safetensors', w);
  const adapter = openT2iAdapter(path);
  assert.deepEqual(adapter.config, { kind: 'full', inputChannels: 1, channels, blocksPerLevel: 2, kernel: 1, convDown: false });
  const want = referenceFull(w, gray, 4);
  assert.deepEqual(want.map((f) => f.dims), [[2, 8, 8, 6], [2, 16, 4, 3], [2, 32, 2, 2], [2, 32, 1, 1]]);
  assertFeatures(await runAdapter(path, gray), want, 'full');
  // diffusers T2IAdapter names: adapter.conv_in, adapter.body.<i>.in_conv, adapter.body.<i>.resnets.<j>.…
  const diffusers = Object.fromEntries(Object.entries(w).map(([k, t]) => {
    const m = k.match(/^body\.(\d+)\.(.+)$/);
    if (!m) return [`adapter.${k}`, t];
    const [i, j] = [Math.floor(+m[1] / 2), +m[1] % 2];
    return [m[2].startsWith('in_conv') ? `adapter.body.${i}.${m[2]}` : `adapter.body.${i}.resnets.${j}.${m[2]}`, t];
  }));
  const diffusersPath = save('diffusers-t2i.safetensors', diffusers);
  assert.deepEqual(openT2iAdapter(diffusersPath).config, adapter.config);
  assertFeatures(await runAdapter(diffusersPath, gray), want, 'full (diffusers names)');
});

test('a light T2I-Adapter (Adapter_light, RGB hint) equals the reference implementation', async () => {
  const w = lightWeights(192, channels, 2);
  const path = save('t2iadapter_color_sd14v1-light.safetensors', w);
  assert.deepEqual(openT2iAdapter(path).config, { kind: 'light', inputChannels: 3, channels, blocksPerLevel: 2, kernel: 3, convDown: false });
  assertFeatures(await runAdapter(path, rgb), referenceLight(w, rgb, 4, 2), 'light');
});

test('T2I-Adapter keys, skip positions, and files that are not SD1.5 adapters', () => {
  assert.ok(isT2iAdapterKeys(['conv_in.weight', 'body.0.block1.weight']));
  assert.ok(isT2iAdapterKeys(['adapter.conv_in.weight', 'adapter.body.0.resnets.0.block1.weight']));
  assert.ok(isT2iAdapterKeys(['body.0.in_conv.weight']));
  assert.ok(!isT2iAdapterKeys(['conv_in.weight', 'down_blocks.0.resnets.0.conv1.weight']));
  assert.deepEqual([0, 1, 2, 3].map(t2iSkipIndex), [2, 5, 8, 11]);
  const refused = (path: string, pattern: RegExp) => assert.throws(() => openT2iAdapter(path), (e: Error) => e instanceof T2iAdapterError && e.message.includes(path) && pattern.test(e.message));
  refused(save('xl.safetensors', fullWeights(256, channels)), /SDXL T2I-Adapter/);
  refused(save('other.safetensors', { 'foo.weight': param([1]) }), /not a T2I-Adapter/);
  const w = fullWeights(64, channels);
  delete w['body.7.block1.weight'];
  refused(save('broken.safetensors', w), /residual blocks, not a multiple of 4/);
});
