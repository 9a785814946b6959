// Graph cache and model files: built once per key, checkpoints reached through symlinks or in two
// folders load (external data relative to their common real folder), fingerprints follow the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder, Module } from './graph-builder.ts';
import { linear } from './ops-nn.ts';
import { add } from './ops-tensor.ts';
import { writeSafetensors, openSafetensors, safetensorsSource } from './safetensors.ts';
import { cachedModel, checkpointFingerprint, graphFolder } from './graph-cache.ts';
import { createSession } from './session.ts';
import { tempDir } from './test-helpers.ts';

function weightsFile(dir: string, value: number): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'w.safetensors');
  writeSafetensors(path, { 'l.weight': { dtype: 'F32', shape: [1, 1], data: Float32Array.from([value]) } });
  return path;
}

test('a cached graph is built once per key and reused', () => {
  const dir = tempDir();
  const file = openSafetensors(weightsFile(join(dir, 'models'), 2));
  let builds = 0;
  const build = () => {
    builds++;
    const g = new GraphBuilder({ name: 'g' });
    g.output(linear(new Module(g, safetensorsSource(file), 'l'), g.input('x', 'float32', [1, 1])), 'y');
    return g;
  };
  const key = { name: 'lin', checkpoints: [checkpointFingerprint(file)], variant: { a: 1 } };
  const first = cachedModel(join(dir, 'cache'), key, build);
  const second = cachedModel(join(dir, 'cache'), key, build);
  assert.equal(first.built, true);
  assert.equal(second.built, false);
  assert.equal(first.path, second.path);
  assert.equal(builds, 1);
  assert.notEqual(graphFolder(join(dir, 'cache'), { ...key, variant: { a: 2 } }), graphFolder(join(dir, 'cache'), key));
});

test('fingerprint changes when the checkpoint file is rewritten', () => {
  const path = weightsFile(tempDir(), 1);
  const before = checkpointFingerprint(openSafetensors(path));
  assert.equal(checkpointFingerprint(openSafetensors(path)), before);
  utimesSync(path, new Date(), new Date(Date.now() + 5000));
  assert.notEqual(checkpointFingerprint(openSafetensors(path)), before);
});

test('weights from two folders, one reached through a symlink, load and compute', async () => {
  const dir = tempDir();
  const a = openSafetensors(weightsFile(join(dir, 'models', 'checkpoints'), 2));
  const realB = weightsFile(join(dir, 'elsewhere'), 3);
  mkdirSync(join(dir, 'models', 'controlnet'), { recursive: true });
  symlinkSync(realB, join(dir, 'models', 'controlnet', 'linked.safetensors'));
  const b = openSafetensors(join(dir, 'models', 'controlnet', 'linked.safetensors'));
  const { path } = cachedModel(join(dir, 'cache'), { name: 'two', checkpoints: [], variant: {} }, () => {
    const g = new GraphBuilder({ name: 'two' });
    const x = g.input('x', 'float32', [1, 1]);
    g.output(add(linear(new Module(g, safetensorsSource(a), 'l'), x), linear(new Module(g, safetensorsSource(b), 'l', 'b.'), x)), 'y');
    return g;
  });
  const session = await createSession(path, { device: 'cpu' });
  const out = await session.run({ x: { dims: [1, 1], data: Float32Array.from([10]) } });
  assert.deepEqual(Array.from(out.y.data), [50]);
  await session.release();
});
