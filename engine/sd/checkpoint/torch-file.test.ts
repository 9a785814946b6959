// PyTorch zip checkpoints: written byte by byte in the real format (test-torch-file.ts), read through the
// restricted unpickler. Malicious pickles are refused without running anything; the fixture converted to
// a .ckpt opens as the same checkpoint and gives the same graph outputs as the .safetensors original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors, createSession } from '../../onnx/index.ts';
import { tempDir } from '../../onnx/test-helpers.ts';
import { unpickle, torchStorageRef, TorchPickleError } from './torch-pickle.ts';
import { openTensorFile, readTorchFile, TorchFileError } from './torch-file.ts';
import { openCheckpoint } from './checkpoint.ts';
import { sdModelPath } from '../graph-models.ts';
import type { SdGraph } from '../graph-models.ts';
import { FIXTURE_CHECKPOINT, goldens, writeFixtureConfigBeside } from '../test-fixture.ts';
import { PickleWriter, writeTorchZip, writeTorchCheckpoint, safetensorsToTorch, stateDictPickle } from './test-torch-file.ts';

const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const f16 = (...v: number[]) => new Uint8Array(Uint16Array.from(v).buffer);

test('a torch zip with float32 and float16 tensors reads back with shapes, dtypes and values', () => {
  const path = join(tempDir(), 'small.pt');
  writeTorchCheckpoint(path, {
    'a.weight': { dtype: 'F32', shape: [2, 3], data: f32(1, 2, 3, 4, 5, -6) },
    'b.bias': { dtype: 'F16', shape: [2], data: f16(0x3c00, 0xc000) }, // 1, -2
  }, 'state_dict', { global_step: 1234, 'pytorch-lightning_version': '1.4.2' });
  const file = openTensorFile(path);
  assert.deepEqual([...file.tensors.keys()], ['a.weight', 'b.bias']);
  assert.deepEqual(file.tensors.get('a.weight')!.shape, [2, 3]);
  assert.equal(file.tensors.get('b.bias')!.dtype, 'F16');
  assert.deepEqual([...file.read('a.weight')], [1, 2, 3, 4, 5, -6]);
  assert.deepEqual([...file.read('b.bias')], [1, -2]);
  // Tensor bytes are referenced in place, 64-byte aligned as torch writes them.
  assert.equal(file.tensors.get('a.weight')!.offset % 64, 0);
  const root = readTorchFile(path).root as Map<string, unknown>;
  assert.equal(root.get('global_step'), 1234);
});

test('a malicious pickle (os.system through GLOBAL or STACK_GLOBAL) is refused and never runs', () => {
  const dir = tempDir();
  const marker = join(dir, 'pwned');
  const command = `touch ${marker}`;
  // GLOBAL os.system; REDUCE (command,)
  const viaGlobal = new PickleWriter().op(0x80, 0x02).op(0x63, ...Buffer.from('os\nsystem\n')).op(0x28).str(command).op(0x74, 0x52, 0x2e).bytes();
  // STACK_GLOBAL builtins.eval
  const viaStack = new PickleWriter().op(0x80, 0x04).str('builtins').str('eval').op(0x93, 0x28).str('1+1').op(0x74, 0x52, 0x2e).bytes();
  for (const [name, pickle, what] of [['global.ckpt', viaGlobal, 'os.system'], ['stack.ckpt', viaStack, 'builtins.eval']] as const) {
    const path = join(dir, name);
    writeTorchZip(path, pickle, []);
    assert.throws(() => openTensorFile(path), (e: Error) => e instanceof TorchFileError
      && e.message.includes(path) && e.message.includes(`references ${what}`) && /never code/.test(e.message));
    assert.throws(() => openCheckpoint(path), new RegExp(`references ${what.replace('.', '\\.')}`));
  }
  // A state dict with one bad value among good tensors is refused as a whole.
  const good = stateDictPickle({ 'x': { dtype: 'F32', shape: [1], data: f32(1) } });
  const hostile = Uint8Array.from([...good.slice(0, -2), ...new PickleWriter().str('y').op(0x63, ...Buffer.from('subprocess\nPopen\n')).op(0x29, 0x52, 0x73).bytes(), 0x2e]);
  writeTorchZip(join(dir, 'mixed.pt'), hostile, [f32(1)]);
  assert.throws(() => openTensorFile(join(dir, 'mixed.pt')), /references subprocess\.Popen/);
  assert.equal(existsSync(marker), false);
});

test('malformed pickles fail with a clear error, not a crash', () => {
  const none = () => null;
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x7d]), none), (e: Error) => e instanceof TorchPickleError && /truncated/.test(e.message));
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x69, 0x2e]), none), /opcode 0x69/); // INST (protocol 0 class instance)
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x68, 0x05, 0x2e]), none), /memo slot 5/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x4e, 0x4e, 0x73, 0x2e]), none), /stack/);
  assert.throws(() => torchStorageRef(['storage', null, '../../etc/passwd', 'cpu', 1]), TorchPickleError);
});

test('damaged and foreign files are refused naming the problem', () => {
  const dir = tempDir();
  const pk = join(dir, 'zipish.ckpt');
  writeFileSync(pk, 'PK\x03\x04 not really a zip');
  assert.throws(() => openTensorFile(pk), /zipish\.ckpt is not a readable PyTorch checkpoint: no end-of-central-directory/);
  const legacy = join(dir, 'legacy.pt');
  writeFileSync(legacy, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8]));
  assert.throws(() => openTensorFile(legacy), /legacy \(pre-1\.6, non-zip\) format/);
  const missing = join(dir, 'missing-storage.pt');
  writeTorchZip(missing, stateDictPickle({ w: { dtype: 'F32', shape: [2], data: f32(1, 2) } }), []);
  assert.throws(() => openTensorFile(missing), /tensor 'w' uses storage 0, which the zip lacks/);
  const short = join(dir, 'short-storage.pt');
  writeTorchZip(short, stateDictPickle({ w: { dtype: 'F32', shape: [4], data: f32(1, 2) } }), [f32(1, 2)]);
  assert.throws(() => openTensorFile(short), /reads past the end of its storage/);
  const truncated = join(dir, 'truncated.ckpt');
  safetensorsToTorch(FIXTURE_CHECKPOINT, truncated);
  writeFileSync(truncated, readFileSync(truncated).subarray(0, 4096));
  assert.throws(() => openTensorFile(truncated), TorchFileError);
});

test('the fixture converted to a Lightning-style .ckpt is the same checkpoint with the same outputs', async () => {
  const dir = tempDir();
  const ckpt = join(dir, 'sd15-tiny.ckpt');
  safetensorsToTorch(FIXTURE_CHECKPOINT, ckpt, 'state_dict', { epoch: 6, global_step: 470000 });
  writeFixtureConfigBeside(ckpt);
  const copy = join(dir, 'sd15-tiny.safetensors');
  copyFileSync(FIXTURE_CHECKPOINT, copy);
  writeFixtureConfigBeside(copy);
  const fromCkpt = openCheckpoint(ckpt);
  const fromSt = openCheckpoint(copy);
  assert.equal(fromCkpt.layout, 'ldm');
  assert.deepEqual(fromCkpt.config, fromSt.config);
  assert.notEqual(fromCkpt.fingerprint, fromSt.fingerprint);
  // Every tensor (UNet included) reads the same bytes from the zip as from the safetensors file.
  const st = openSafetensors(FIXTURE_CHECKPOINT);
  const pt = openTensorFile(ckpt);
  assert.deepEqual([...pt.tensors.keys()].sort(), [...st.tensors.keys()].sort());
  for (const name of st.tensors.keys()) assert.deepEqual(pt.readBytes(name), st.readBytes(name), name);
  const run = async (graph: SdGraph, feed: Parameters<Awaited<ReturnType<typeof createSession>>['run']>[0]) => {
    const outs = [];
    for (const checkpoint of [fromCkpt, fromSt]) {
      const session = await createSession(sdModelPath(tempDir(), checkpoint, graph).path, { device: 'cpu', threads: 1 });
      outs.push(await session.run(feed));
      await session.release();
    }
    return outs;
  };
  const text = goldens('text_encoder.safetensors');
  const ids = text('input_ids');
  const [a, b] = await run({ kind: 'clip-text' }, { input_ids: { dims: ids.dims, data: ids.int64!, type: 'int64' } });
  assert.deepEqual([...a.last_hidden_state.data], [...b.last_hidden_state.data]);
  const vae = goldens('vae.safetensors');
  const z = vae('decoder_input');
  const [c, d] = await run({ kind: 'vae-decoder' }, { latent: { dims: z.dims, data: z.data } });
  assert.deepEqual([...c.image.data], [...d.image.data]);
  assert.ok(c.image.data.some((x) => x !== 0));
});
