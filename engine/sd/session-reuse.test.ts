// Sessions at real size: onnxruntime's optimised form of a built graph is kept on disk and loaded next
// time (same outputs, bit for bit), and a memory budget releases idle sessions, which come back on use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createSession, SessionCache } from '../onnx/index.ts';
import type { Feed } from '../onnx/index.ts';
import { tempDir, noise } from '../onnx/test-helpers.ts';
import { openCheckpoint } from './checkpoint/checkpoint.ts';
import { unetModelPath } from './unet/unet.ts';
import { FIXTURE_CHECKPOINT } from './test-fixture.ts';

const checkpoint = openCheckpoint(FIXTURE_CHECKPOINT);
const feeds: Record<string, Feed> = {
  sample: { dims: [2, 4, 8, 8], data: noise(512, 1) },
  timestep: { dims: [2], data: Float32Array.of(999, 1) },
  encoder_hidden_states: { dims: [2, 77, 32], data: noise(2 * 77 * 32, 2) },
};

function optimizedFolders(modelPath: string): string[] {
  return readdirSync(dirname(modelPath)).filter((n) => n.startsWith('ort-cpu-all-') && !n.includes('.tmp-'));
}

async function unetOut(modelPath: string, reuseOptimized = true): Promise<Float32Array> {
  const session = await createSession(modelPath, { device: 'cpu', threads: 1, reuseOptimized });
  try {
    return (await session.run(feeds)).out.data;
  } finally {
    await session.release();
  }
}

test("the first CPU load writes onnxruntime's optimised model; later loads read it and give the same output bit for bit", async () => {
  const { path } = unetModelPath(tempDir(), checkpoint);
  const first = await unetOut(path);
  const folders = optimizedFolders(path);
  assert.equal(folders.length, 1);
  const folder = join(dirname(path), folders[0]);
  assert.ok(existsSync(join(folder, 'model.onnx')) && existsSync(join(folder, 'weights.bin')));
  assert.deepEqual(await unetOut(path), first);
  const session = await createSession(path, { device: 'cpu', threads: 1 });
  assert.ok(session.weightBytes && session.weightBytes > 1e6, `weight bytes ${session.weightBytes}`);
  await session.release();
  // A damaged optimised copy is made again, not trusted.
  writeFileSync(join(folder, 'model.onnx'), 'not a model');
  assert.deepEqual(await unetOut(path), first);
  assert.notEqual(String(await import('node:fs').then((fs) => fs.readFileSync(join(folder, 'model.onnx'), 'latin1'))).slice(0, 11), 'not a model');
});

test('the optimisation run in a child process (the default) gives the same output bit for bit as in process', async () => {
  const inChild = unetModelPath(tempDir(), checkpoint).path;
  const inProcess = unetModelPath(tempDir(), checkpoint).path;
  const expected = await unetOut(inChild);
  const session = await createSession(inProcess, { device: 'cpu', threads: 1, optimizeInChild: false });
  try {
    assert.deepEqual((await session.run(feeds)).out.data, expected);
  } finally {
    await session.release();
  }
  assert.equal(optimizedFolders(inProcess).length, 1, 'in process, the optimised form is written too');
  assert.deepEqual(await unetOut(inProcess), expected);
});

test('reuseOptimized false writes nothing beside the model', async () => {
  const { path } = unetModelPath(tempDir(), checkpoint);
  await unetOut(path, false);
  assert.deepEqual(optimizedFolders(path), []);
});

test('a memory budget releases the least recently used idle session; its handle loads it again on use', async () => {
  const cache = tempDir();
  const plain = unetModelPath(cache, checkpoint).path;
  const recording = unetModelPath(cache, checkpoint, { recordFeatures: true }).path;
  await unetOut(plain); // optimised forms on disk: their sizes are known before loading
  await unetOut(recording);
  const sessions = new SessionCache({ device: 'cpu', threads: 1 }, 1.5 * (await createSession(plain, { device: 'cpu', threads: 1 })).weightBytes!);
  try {
    const a = await sessions.get(plain);
    const expected = (await a.run(feeds)).out.data;
    const b = await sessions.get(recording);
    assert.deepEqual(sessions.loaded(), [recording], 'the plain UNet was released to make room');
    await b.run(feeds);
    assert.deepEqual((await a.run(feeds)).out.data, expected, 'the released session came back with the same output');
    assert.deepEqual(sessions.loaded(), [plain]);
  } finally {
    await sessions.release();
  }
});

test('without a budget every session stays', async () => {
  const cache = tempDir();
  const sessions = new SessionCache({ device: 'cpu', threads: 1 });
  try {
    await sessions.get(unetModelPath(cache, checkpoint).path);
    await sessions.get(unetModelPath(cache, checkpoint, { recordFeatures: true }).path);
    assert.equal(sessions.loaded().length, 2);
  } finally {
    await sessions.release();
  }
});
