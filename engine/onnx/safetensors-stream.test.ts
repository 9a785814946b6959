// Streaming safetensors writer: byte-identical to writeSafetensors, complete-or-absent files; float16 packing
// equal to half.ts bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsStreamWriter, toFloat16, fromFloat16 } from './safetensors-stream.ts';
import { writeSafetensors, openSafetensors } from './safetensors.ts';
import { f32ToF16, f16ToF32 } from './half.ts';
import { tempDir, noise } from './test-helpers.ts';

test('a streamed file is byte-identical to writeSafetensors and appears only on finish', () => {
  const dir = tempDir();
  const a = noise(6, 1);
  const b = toFloat16(noise(4, 2));
  writeSafetensors(join(dir, 'whole.safetensors'), { a: { dtype: 'F32', shape: [2, 3], data: a }, b: { dtype: 'F16', shape: [4], data: b } }, { k: 'v' });
  const writer = SafetensorsStreamWriter.create(join(dir, 'streamed.safetensors'), [{ name: 'a', dtype: 'F32', shape: [2, 3] }, { name: 'b', dtype: 'F16', shape: [4] }], { k: 'v' });
  writer.write('a', a);
  assert.throws(() => writer.write('a', a), /expected 'b' next, got 'a'/);
  assert.ok(!readdirSync(dir).includes('streamed.safetensors'));
  writer.write('b', b);
  writer.finish();
  assert.ok(readFileSync(join(dir, 'streamed.safetensors')).equals(readFileSync(join(dir, 'whole.safetensors'))));
  assert.deepEqual(openSafetensors(join(dir, 'streamed.safetensors')).read('a'), a);
});

test('finishing early or aborting leaves no file behind', () => {
  const dir = tempDir();
  const writer = SafetensorsStreamWriter.create(join(dir, 'x.safetensors'), [{ name: 'a', dtype: 'F32', shape: [1] }, { name: 'b', dtype: 'F32', shape: [1] }]);
  writer.write('a', new Float32Array(1));
  assert.throws(() => writer.finish(), /only 1 of 2 tensors/);
  assert.deepEqual(readdirSync(dir), []);
  assert.throws(() => writer.write('b', new Float32Array(1)), /already closed/);
});

test('toFloat16 / fromFloat16 agree with half.ts for random bit patterns and edge values', () => {
  const bits = new Uint32Array(200_000).map((_, i) => Math.imul(i + 1, 2654435761) >>> 0);
  const values = new Float32Array([...new Float32Array(bits.buffer), 0, -0, 65504, 65519, 65520, 1e-8, 6e-5, Infinity, -Infinity, NaN, 2049]);
  const half = toFloat16(values);
  values.forEach((v, i) => assert.equal(half[i], f32ToF16(v), `value ${v}`));
  const back = fromFloat16(new Uint8Array(half.buffer));
  half.forEach((h, i) => assert.ok(Object.is(back[i], f16ToF32(h)) || (Number.isNaN(back[i]) && Number.isNaN(f16ToF32(h)))));
});
