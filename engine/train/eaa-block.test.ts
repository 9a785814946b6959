// The adapter training step on one transformer block: whole-gradient directional-derivative check,
// and evidence that AdamW on the step's gradients learns (loss falls, held-out loss falls).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModel, createSession } from '../onnx/index.ts';
import { gradCheck, noise } from '../autodiff/gradcheck.ts';
import { ad } from '../autodiff/index.ts';
import { AdamW } from './adamw.ts';
import { buildEaaBlockStep, eaaBlockForward, frozenShapes, adapterShapes, dataShapes, initialAdapter } from './eaa-block.ts';
import type { BlockDims } from './eaa-block.ts';

const dir = mkdtempSync(join(tmpdir(), 'invgraph-train-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
const dims: BlockDims = { batch: 2, tokens: 16, width: 8, heads: 2, aggTokens: 4, textTokens: 3, textWidth: 6 };

function randomTensors(shapes: Record<string, number[]>, seed: number, scale = 0.5): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(shapes).map(([k, s], i) => [k, noise(size(s), seed + i).map((v) => v * scale)]));
}

test('whole adapter gradient of the block step: (L(θ+hv) − L(θ−hv))/2h matches ∇L·v; frozen weights get none', async () => {
  const frozen = randomTensors(frozenShapes(dims), 10);
  const adapter = initialAdapter(dims, frozen);
  const data = randomTensors(dataShapes(dims), 50, 1);
  const fNames = Object.keys(frozen);
  const aNames = Object.keys(adapter);
  const dNames = Object.keys(data);
  const inputs = [
    ...fNames.map((n) => ({ name: `f.${n}`, shape: frozenShapes(dims)[n], data: frozen[n], frozen: true })),
    ...aNames.map((n) => ({ name: `a.${n}`, shape: adapterShapes(dims)[n], data: adapter[n] })),
    ...dNames.map((n) => ({ name: n, shape: dataShapes(dims)[n], data: data[n], frozen: true })),
  ];
  const result = await gradCheck(join(dir, 'step'), inputs, (t, xs) => {
    const pick = (names: string[], offset: number) => Object.fromEntries(names.map((n, i) => [n, xs[offset + i]]));
    const io = pick(dNames, fNames.length + aNames.length);
    return ad.mseLoss(t, eaaBlockForward(t, dims, pick(fNames, 0), pick(aNames, fNames.length), io, 1), io.target);
  });
  // Tolerance as in autodiff/ops.test.ts (float32 forward, h = 1e-2): a correct gradient lands ~1e-4.
  assert.ok(Math.abs(result.joint.numeric) > 1e-4, `vacuous check: ${result.joint.numeric}`);
  assert.ok(result.joint.relError < 5e-3, JSON.stringify(result.joint));
  assert.deepEqual(result.inputs.map((r) => r.name), aNames.map((n) => `a.${n}`), 'only adapter tensors are differentiated');
  for (const r of result.inputs) assert.ok(r.relError < 2e-2 || Math.abs(r.analytic - r.numeric) < 1e-5, JSON.stringify(r));
});

test('AdamW on the step graph learns: training loss falls 3×, held-out loss falls too', async () => {
  const session = await createSession(saveModel(buildEaaBlockStep(dims), join(dir, 'learn')), { device: 'cpu', threads: 1 });
  try {
    const frozen = randomTensors(frozenShapes(dims), 10);
    const teacher = randomTensors(adapterShapes(dims), 300, 0.6);
    const student = initialAdapter(dims, frozen);
    // The regression target is the block's output under a random 'teacher' adapter (forward-only graph).
    const { GraphBuilder } = await import('../onnx/index.ts');
    const { Tape } = await import('../autodiff/index.ts');
    const g = new GraphBuilder({ name: 'teacher' });
    const t = new Tape(g);
    const inp = (prefix: string, shapes: Record<string, number[]>) =>
      Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, g.input(`${prefix}${k}`, 'float32', s)]));
    const io = inp('', dataShapes(dims));
    g.output(eaaBlockForward(t, dims, inp('frozen.', frozenShapes(dims)), inp('adapter.', adapterShapes(dims)), io, 1), 'y');
    const teacherSession = await createSession(saveModel(g, join(dir, 'teacher')), { device: 'cpu', threads: 1 });
    const feedsOf = (adapter: Record<string, Float32Array>, batch: Record<string, Float32Array>) => {
      const feeds: Record<string, { dims: number[]; data: Float32Array }> = {};
      for (const [k, s] of Object.entries(frozenShapes(dims))) feeds[`frozen.${k}`] = { dims: s, data: frozen[k] };
      for (const [k, s] of Object.entries(adapterShapes(dims))) feeds[`adapter.${k}`] = { dims: s, data: adapter[k] };
      for (const [k, s] of Object.entries(dataShapes(dims))) feeds[k] = { dims: s, data: batch[k] };
      return feeds;
    };
    async function run(adapter: Record<string, Float32Array>, batch: Record<string, Float32Array>) {
      return session.run(feedsOf(adapter, batch));
    }
    const makeBatch = async (seed: number) => {
      const b = randomTensors(dataShapes(dims), seed, 1);
      b.target = (await teacherSession.run(feedsOf(teacher, b))).y.data as Float32Array;
      return b;
    };
    const train = await Promise.all([0, 1, 2, 3].map((i) => makeBatch(1000 + 10 * i)));
    const heldOut = await makeBatch(5000);
    await teacherSession.release();
    const lossOn = async (b: Record<string, Float32Array>) => (await run(student, b)).loss.data[0];
    const meanTrain = async () => (await Promise.all(train.map(lossOn))).reduce((a, b) => a + b, 0) / train.length;
    const before = await meanTrain();
    const heldBefore = await lossOn(heldOut);
    const opt = new AdamW({ lr: 3e-2, weightDecay: 0, clipNorm: 1 });
    for (let step = 0; step < 60; step++) {
      const out = await run(student, train[step % train.length]);
      const grads = Object.fromEntries(Object.keys(student).map((k) => [k, out[`grad.${k}`].data as Float32Array]));
      opt.update(student, grads);
    }
    const after = await meanTrain();
    const heldAfter = await lossOn(heldOut);
    assert.ok(after < before / 3, `training loss ${before} → ${after}`);
    assert.ok(heldAfter < heldBefore, `held-out loss ${heldBefore} → ${heldAfter}`);
  } finally {
    await session.release();
  }
});
