// safetensors reader/writer: every dtype, metadata, and clear errors for broken or hostile files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors, writeSafetensors, SafetensorsError, MAX_HEADER_BYTES } from './safetensors.ts';
import { f32ToF16, f32ToBf16 } from './half.ts';
import { tempDir } from './test-helpers.ts';

const values = [1.5, -2, 0.25, 3];

test('round trip of every dtype, with metadata and absolute offsets', () => {
  const path = join(tempDir(), 'all.safetensors');
  writeSafetensors(path, {
    f64: { dtype: 'F64', shape: [2, 2], data: Float64Array.from(values) },
    f32: { dtype: 'F32', shape: [4], data: Float32Array.from(values) },
    f16: { dtype: 'F16', shape: [4], data: Uint16Array.from(values, f32ToF16) },
    bf16: { dtype: 'BF16', shape: [4], data: Uint16Array.from(values, f32ToBf16) },
    i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-5n, 7n]) },
    i32: { dtype: 'I32', shape: [2], data: Int32Array.from([-5, 7]) },
    i16: { dtype: 'I16', shape: [2], data: Int16Array.from([-5, 7]) },
    i8: { dtype: 'I8', shape: [2], data: Int8Array.from([-5, 7]) },
    u8: { dtype: 'U8', shape: [2], data: Uint8Array.from([250, 7]) },
    bool: { dtype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
    scalar: { dtype: 'F32', shape: [], data: Float32Array.from([9]) },
  }, { format: 'pt' });
  const st = openSafetensors(path);
  assert.deepEqual(st.metadata, { format: 'pt' });
  for (const name of ['f64', 'f32', 'f16', 'bf16']) assert.deepEqual(Array.from(st.read(name)), values, name);
  for (const name of ['i64', 'i32', 'i16', 'i8']) assert.deepEqual(Array.from(st.read(name)), [-5, 7], name);
  assert.deepEqual(Array.from(st.read('u8')), [250, 7]);
  assert.deepEqual(Array.from(st.read('bool')), [1, 0]);
  assert.deepEqual(Array.from(st.read('scalar')), [9]);
  const info = st.tensors.get('f32')!;
  assert.deepEqual(info.shape, [4]);
  const raw = readFileSync(path);
  assert.equal(raw.readFloatLE(info.offset + 4), -2, 'offset is absolute in the file');
  assert.equal((8 + st.headerLength) % 8, 0, 'writer aligns the data to 8 bytes');
});

function fileWithHeader(header: string | object, dataBytes = 0, lengthOverride?: bigint): string {
  const json = typeof header === 'string' ? header : JSON.stringify(header);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(Buffer.byteLength(json)));
  const path = join(tempDir(), 'bad.safetensors');
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(json), Buffer.alloc(dataBytes)]));
  return path;
}

function rejects(path: string, pattern: RegExp): void {
  assert.throws(() => openSafetensors(path), (err: Error) => {
    assert.ok(err instanceof SafetensorsError, 'SafetensorsError');
    assert.match(err.message, pattern);
    assert.ok(err.message.includes(path), `message names the file: ${err.message}`);
    return true;
  });
}

test('missing file, truncated data and short files give clear errors naming the path', () => {
  rejects('/nonexistent/model.safetensors', /does not exist/);
  const path = join(tempDir(), 'ok.safetensors');
  writeSafetensors(path, { w: { dtype: 'F32', shape: [64], data: new Float32Array(64) } });
  const whole = readFileSync(path);
  writeFileSync(path, whole.subarray(0, whole.length - 10));
  rejects(path, /past the end of the file.*truncated/);
  writeFileSync(path, whole.subarray(0, 20));
  rejects(path, /does not fit .*truncated/);
  writeFileSync(path, whole.subarray(0, 5));
  rejects(path, /only 5 bytes long/);
});

test('hostile headers are refused', () => {
  rejects(fileWithHeader('{}', 0, BigInt(MAX_HEADER_BYTES) + 1n), /exceeds the 100000000-byte limit/);
  rejects(fileWithHeader('{"a": '), /not UTF-8 JSON/);
  rejects(fileWithHeader('[1,2]'), /not a JSON object/);
  rejects(fileWithHeader({ w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, 2), /unsupported dtype "F8_E4M3".*8-bit float/);
  rejects(fileWithHeader({ w: { dtype: 'Q4', shape: [2], data_offsets: [0, 2] } }, 2), /unsupported dtype "Q4"/);
  rejects(fileWithHeader({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /needs 12 bytes but data_offsets give 8/);
  rejects(fileWithHeader({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /bad shape/);
  rejects(fileWithHeader({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, 4), /bad data_offsets/);
  rejects(fileWithHeader({ w: 'x' }), /entry 'w' is not an object/);
  rejects(fileWithHeader({
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
  }, 12), /overlaps/);
  rejects(fileWithHeader({ __metadata__: { n: 1 } }), /__metadata__ value 'n' is not a string/);
});

test('read of an unknown tensor names it', () => {
  const path = join(tempDir(), 'one.safetensors');
  writeSafetensors(path, { w: { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
  assert.throws(() => openSafetensors(path).read('nope'), /has no tensor 'nope'/);
});
