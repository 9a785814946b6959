import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSafetensors } from '../onnx/index.ts';
import { noise } from '../autodiff/gradcheck.ts';
import { AdamW } from './adamw.ts';
import { saveAdapterFile, saveTrainingState, loadTrainingState } from './checkpoint-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'invgraph-ckpt-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

// A stand-in gradient that depends on the parameters, so resuming with wrong state would diverge.
const gradOf = (p: Float32Array, step: number) => p.map((x, i) => Math.sin(3 * x + i + step));

test('training resumes exactly: 5 straight steps == 3 steps, save, load, 2 steps (params and moments)', () => {
  const start = () => ({ w: Float32Array.from(noise(12, 3)) });
  const straight = start();
  const optA = new AdamW({ lr: 1e-2 });
  for (let s = 0; s < 5; s++) optA.update(straight, { w: gradOf(straight.w, s) });

  const first = start();
  const optB = new AdamW({ lr: 1e-2 });
  for (let s = 0; s < 3; s++) optB.update(first, { w: gradOf(first.w, s) });
  saveTrainingState(join(dir, 'state.safetensors'), { w: { shape: [3, 4], data: first.w } }, optB);
  const { params, opt } = loadTrainingState(join(dir, 'state.safetensors'));
  assert.equal(opt.state.step, 3);
  assert.equal(opt.options.lr, 1e-2);
  const resumed = { w: params.w.data };
  for (let s = 3; s < 5; s++) opt.update(resumed, { w: gradOf(resumed.w, s) });
  assert.deepEqual(Array.from(resumed.w), Array.from(straight.w));
  assert.deepEqual(Array.from(opt.state.v.w), Array.from(optA.state.v.w));
});

test('adapter file carries the §5 metadata and keys; a non-state file is refused', () => {
  const path = join(dir, 'adapter.safetensors');
  saveAdapterFile(path, { 'mid_block.attentions.0.cross.aggregate.bias': { shape: [4], data: new Float32Array(4) } }, { tokens: 4, referenceSize: 512 });
  const f = openSafetensors(path);
  assert.deepEqual(f.metadata, { format: 'inv-adapter', base: 'sd15', tokens: '4', reference_size: '512' });
  assert.deepEqual(f.tensors.get('mid_block.attentions.0.cross.aggregate.bias')?.shape, [4]);
  assert.throws(() => loadTrainingState(path), /not an invgraph adapter training state/);
});
