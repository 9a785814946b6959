// Session layer: provider choice errors and the reusable session cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GraphBuilder } from './graph-builder.ts';
import { mul } from './ops-tensor.ts';
import { saveModel } from './model-file.ts';
import { createSession, SessionCache, DeviceError, cudaLibraryPresent } from './session.ts';
import { tempDir } from './test-helpers.ts';

function doubler(): string {
  const g = new GraphBuilder({ name: 'double' });
  g.output(mul(g.input('x', 'float32', ['N']), 2), 'y');
  return saveModel(g, join(tempDir(), 'double'));
}

test('asking for CUDA without its provider library says how to get it', { skip: cudaLibraryPresent() }, async () => {
  await assert.rejects(createSession(doubler(), { device: 'cuda' }), (err: Error) =>
    err instanceof DeviceError && /libonnxruntime_providers_cuda\.so is missing/.test(err.message) && /--device cpu/.test(err.message));
});

test('auto runs (on CPU when CUDA is absent); the cache hands out one session per model', async () => {
  const path = doubler();
  const cache = new SessionCache({ device: 'auto', threads: 1 });
  const s1 = await cache.get(path);
  const s2 = await cache.get(path);
  assert.equal(s1, s2);
  if (!cudaLibraryPresent()) assert.equal(s1.device, 'cpu');
  const out = await s1.run({ x: { dims: [3], data: Float32Array.from([1, 2, 3]) } });
  assert.deepEqual(Array.from(out.y.data), [2, 4, 6]);
  await assert.rejects(s1.run({}), /missing inputs x/);
  await cache.release();
});

test('a missing model file is named', async () => {
  await assert.rejects(createSession('/nonexistent/model.onnx'), /model file \/nonexistent\/model.onnx does not exist/);
});

test('--device auto on a machine without a GPU provider says in one line that it chose the CPU, and why', async () => {
  const { describeDevice, cudaLibraryPresent } = await import('./session.ts');
  if (cudaLibraryPresent()) return assert.equal(describeDevice('auto'), 'device auto → cuda');
  const line = describeDevice('auto');
  assert.match(line, /^device auto → cpu: no GPU provider is installed \(.*libonnxruntime_providers_cuda\.so is missing/);
  assert.ok(!line.includes('\n'));
  assert.equal(describeDevice('cpu'), 'device cpu');
});

test('a graph published by another builder meanwhile stays in place (and stays loadable) when a second build lands', async () => {
  const dir = join(tempDir(), 'shared');
  const build = () => {
    const g = new GraphBuilder({ name: 'double' });
    g.output(mul(g.input('x', 'float32', ['N']), 2), 'y');
    return g;
  };
  const first = saveModel(build(), dir);
  const session = await createSession(first, { device: 'cpu', threads: 1 });
  const marker = join(dir, 'loaded-by-someone');
  writeFileSync(marker, 'x');
  assert.equal(saveModel(build(), dir), first);
  assert.ok(existsSync(marker), 'the published folder was replaced under its reader');
  assert.deepEqual(readdirSync(dirname(dir)).filter((n) => n.includes('.tmp-')), [], 'no temporary folder left behind');
  const out = await session.run({ x: { dims: [2], data: Float32Array.from([1, 5]) } });
  assert.deepEqual(Array.from(out.y.data), [2, 10]);
  await session.release();
});
