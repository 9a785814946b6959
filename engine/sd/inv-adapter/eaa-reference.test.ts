// Training-free reference attention (inv-adapter.md §5): one softmax over [generation ; reference] attn1 keys
// with the reference logits biased by ln σ. A hand-computed two-key example of the block maths, σ monotonicity,
// and on the tiny UNet: the duplicated-keys invariant (reference = the generation's own norm1, σ = 1 → the base
// model), σ = 0 bitwise the base model, no cross-side input, and a reference of another size than the generation.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { attention } from '../../onnx/index.ts';
import type { Feed } from '../../onnx/index.ts';
import { createSession } from '../../onnx/index.ts';
import { referenceBlockExtras } from './unet-eaa.ts';
import { unetModelPath } from '../unet/unet.ts';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import { transformerBlocks } from '../unet/unet-blocks.ts';
import { FIXTURE_CHECKPOINT, goldens } from '../test-fixture.ts';
import { runGraph, tempDir, noise } from '../../onnx/test-helpers.ts';

/** One block's reference attention alone: heads 1, width 2; query/key/value/reference fed directly, to_k = to_v = identity. */
async function twoKeyBlock(q: number[], kGen: number[], vGen: number[], ref: number[], sigma: number, mask?: number): Promise<number[]> {
  const out = await runGraph({}, (g) => {
    const query = g.input('q', 'float32', ['B', 1, 2]);
    const key = g.input('k', 'float32', ['B', 1, 2]);
    const value = g.input('v', 'float32', ['B', 1, 2]);
    const blocks = referenceBlockExtras(g, {
      block: 'b', index: 0, width: 2, heads: 1,
      sigma: { self: g.input('eaa.sigma_self', 'float32', ['B']), blockWeights: g.input('eaa.block_weights', 'float32', [1]) },
      mask: mask === undefined ? undefined : () => g.input('mask', 'float32', [1, 1, 1]),
    });
    const base = attention(query, key, value, { heads: 1 });
    // Reference keys and values are the reference itself (to_k = to_v = identity).
    g.output(blocks.selfAdapter!({ query, key, value, out: base, project: (f) => ({ key: f, value: f }) }), 'out');
  }, {
    q: { dims: [1, 1, 2], data: Float32Array.from(q) },
    k: { dims: [1, 1, 2], data: Float32Array.from(kGen) },
    v: { dims: [1, 1, 2], data: Float32Array.from(vGen) },
    'eaa.b.self': { dims: [1, 1, 2], data: Float32Array.from(ref) },
    'eaa.sigma_self': { dims: [1], data: Float32Array.of(sigma) },
    'eaa.block_weights': { dims: [1], data: Float32Array.of(1) },
    ...(mask === undefined ? {} : { mask: { dims: [1, 1, 1], data: Float32Array.of(mask) } }),
  });
  return [...out.out.data];
}

test('two keys by hand: weights e^{q·k/√2} and σ·e^{q·r/√2} in one softmax; σ = 0 is the generation value; mask multiplies σ', async () => {
  const q = [1, 2];
  const kGen = [0.5, -1];
  const vGen = [3, -2];
  const ref = [1, 0.25]; // reference key = value = ref
  const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1];
  const expected = (sigma: number) => {
    const wGen = Math.exp(dot(q, kGen) / Math.SQRT2);
    const wRef = sigma * Math.exp(dot(q, ref) / Math.SQRT2);
    return [0, 1].map((i) => (wGen * vGen[i] + wRef * ref[i]) / (wGen + wRef));
  };
  for (const sigma of [1, 0.3, 1.7]) {
    const got = await twoKeyBlock(q, kGen, vGen, ref, sigma);
    got.forEach((v, i) => assert.ok(Math.abs(v - expected(sigma)[i]) < 1e-5, `σ=${sigma}: ${got} vs ${expected(sigma)}`));
  }
  assert.deepEqual(await twoKeyBlock(q, kGen, vGen, ref, 0), vGen, 'σ = 0: only the generation key');
  const masked = await twoKeyBlock(q, kGen, vGen, ref, 1.5, 0.4);
  masked.forEach((v, i) => assert.ok(Math.abs(v - expected(0.6)[i]) < 1e-5, `σ·m = 0.6: ${masked}`));
  assert.deepEqual(await twoKeyBlock(q, kGen, vGen, ref, 1.5, 0), vGen, 'mask 0: only the generation key');
});

test('σ monotonicity: the output moves from the generation value towards the reference value as σ grows', async () => {
  const q = [0.3, -0.7];
  const kGen = [1, 1];
  const vGen = [-1, 2];
  const ref = [2, 0.5];
  let previous = -Infinity;
  for (const sigma of [0, 0.1, 0.5, 1, 1.5, 2, 8]) {
    const [x] = await twoKeyBlock(q, kGen, vGen, ref, sigma);
    assert.ok(x > previous, `σ=${sigma}: ${x} after ${previous}`);
    assert.ok(x >= vGen[0] && x < ref[0], 'a convex mix of the two values');
    previous = x;
  }
});

// ---------- on the tiny UNet ----------

const cacheDir = tempDir();
const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
const blocks = transformerBlocks(checkpoint.config.unet);
const text = goldens('unet.safetensors')('encoder_hidden_states');
const sessions: Array<{ release(): Promise<void> }> = [];
after(async () => { for (const s of sessions) await s.release(); });

async function session(variant: Parameters<typeof unetModelPath>[2]) {
  const s = await createSession(unetModelPath(cacheDir, checkpoint, variant).path, { device: 'cpu', threads: 1 });
  sessions.push(s);
  return s;
}

function baseFeeds(rows: number, h: number, w: number, seed: number): Record<string, Feed> {
  return {
    sample: { dims: [rows, 4, h, w], data: noise(rows * 4 * h * w, seed) },
    timestep: { dims: [rows], data: new Float32Array(rows).fill(421) },
    encoder_hidden_states: { dims: [rows, 77, 32], data: text.data.slice(0, rows * 77 * 32) },
  };
}

const sigmaFeeds = (sigmas: number[]): Record<string, Feed> => ({
  'eaa.sigma_self': { dims: [sigmas.length], data: Float32Array.from(sigmas) },
  'eaa.block_weights': { dims: [blocks.length], data: new Float32Array(blocks.length).fill(1) },
});

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function maxRelative(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / scale;
}

test('UNet: reference = the generation\'s own norm1 with σ = 1 is the base model (duplicated keys); σ = 0 bitwise; no cross input', async () => {
  const recorder = await session({ recordFeatures: true });
  const reference = await session({ eaa: {} });
  assert.ok(!reference.inputNames.some((n) => n.endsWith('.cross') || n === 'eaa.sigma_cross'), 'training-free mode has no cross side');
  const base = baseFeeds(1, 8, 8, 7);
  const recorded = await recorder.run(base);
  const own: Record<string, Feed> = {};
  for (const { name } of blocks) own[`eaa.${name}.self`] = recorded[`features.${name}.self`];
  const same = await reference.run({ ...base, ...own, ...sigmaFeeds([1]) });
  const relative = maxRelative(same.out.data, recorded.out.data);
  assert.ok(relative < 1e-5, `duplicated keys: relative difference ${relative}`);
  const zero = await reference.run({ ...base, ...own, ...sigmaFeeds([0]) });
  assert.ok(sameBits(zero.out.data, recorded.out.data), 'σ = 0 is the base model bitwise');
  // Not trivially the base model: another reference changes the output, and more so with a larger σ.
  const other: Record<string, Feed> = {};
  for (const { name } of blocks) {
    const f = recorded[`features.${name}.self`];
    other[`eaa.${name}.self`] = { dims: f.dims, data: noise(f.data.length, 11) };
  }
  const delta = async (sigma: number) => maxRelative((await reference.run({ ...base, ...other, ...sigmaFeeds([sigma]) })).out.data, recorded.out.data);
  const [small, large] = [await delta(0.25), await delta(2)];
  assert.ok(small > 1e-4 && large > small, `another face acts, more with larger σ: ${small} < ${large}`);
});

test('UNet: a reference of another size than the generation (8×8 face, 8×12 image), σ per CFG row', async () => {
  const recorder = await session({ recordFeatures: true });
  const reference = await session({ eaa: {} });
  const face = await recorder.run(baseFeeds(1, 8, 8, 5));
  const feeds: Record<string, Feed> = { ...baseFeeds(2, 8, 12, 9) };
  for (const { name } of blocks) feeds[`eaa.${name}.self`] = face[`features.${name}.self`];
  const base = await recorder.run(baseFeeds(2, 8, 12, 9));
  const out = await reference.run({ ...feeds, ...sigmaFeeds([0, 1]) });
  assert.deepEqual(out.out.dims, [2, 4, 8, 12]);
  const half = out.out.data.length / 2;
  assert.ok(sameBits(out.out.data.subarray(0, half), base.out.data.subarray(0, half)), 'row with σ = 0: base model bitwise');
  assert.ok(maxRelative(out.out.data.subarray(half), base.out.data.subarray(half)) > 1e-4, 'row with σ = 1: the face acts');
});
