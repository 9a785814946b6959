import { test } from 'node:test';
import assert from 'node:assert/strict';
import { philox4x32, gaussianNoise, NoiseStream, NOISE_STREAM_SAMPLER } from './noise.ts';

const hex = (words: Uint32Array) => [...words].map((w) => w.toString(16).padStart(8, '0')).join(' ');
const words = (text: string) => text.split(' ').map((h) => parseInt(h, 16));

test('Philox4x32-10 matches the Random123 known-answer vectors', () => {
  const vectors = [
    ['00000000 00000000 00000000 00000000', '00000000 00000000', '6627e8d5 e169c58d bc57ac4c 9b00dbd8'],
    ['ffffffff ffffffff ffffffff ffffffff', 'ffffffff ffffffff', '408f276d 41c83b0e a20bc7c6 6d5451fd'],
    ['243f6a88 85a308d3 13198a2e 03707344', 'a4093822 299f31d0', 'd16cfe09 94fdcceb 5001e420 24126ea1'],
  ];
  const out = new Uint32Array(4);
  for (const [counter, key, expected] of vectors) {
    philox4x32(words(counter), words(key), out);
    assert.equal(hex(out), expected);
  }
});

// Reference values from an independent Python implementation of the definition in noise.ts
// (arbitrary-precision integers, libm log/cos/sin, struct float32 rounding).
test('the first normals of a seed follow the documented definition exactly', () => {
  const expected: Array<[bigint, number[]]> = [
    [0n, [-0.12151796370744705, -1.3500326871871948, -0.08187421411275864, -0.2227090448141098, 1.7764242887496948, 2.173520803451538]],
    [42n, [0.8864974975585938, 0.4393560588359833, -0.15660962462425232, -0.013718678615987301, -0.49410051107406616, -0.37216684222221375]],
    [2n ** 53n + 1n, [-0.08754228055477142, -0.7183071970939636, 1.6004846096038818, -1.2577717304229736, -0.6924092769622803, 1.866753101348877]],
    [2n ** 64n - 1n, [-0.9125069975852966, -0.8798009753227234, -1.6136175394058228, -1.403834581375122, 1.6479671001434326, -1.4389054775238037]],
  ];
  for (const [seed, values] of expected) assert.deepEqual([...gaussianNoise(seed, [6])], values, `seed ${seed}`);
  assert.deepEqual([...new NoiseStream(42n, NOISE_STREAM_SAMPLER).next(4)], [0.341031551361084, 3.013685941696167, 1.5944727659225464, 1.2470359802246094]);
});

test('same seed twice gives bit-identical noise; neighbouring big seeds differ', () => {
  const dims = [2, 4, 8, 8];
  assert.deepEqual(gaussianNoise(123456789n, dims), gaussianNoise(123456789n, dims));
  const above = gaussianNoise(2n ** 53n + 1n, dims);
  const at = gaussianNoise(2n ** 53n, dims);
  const top = gaussianNoise(2n ** 64n - 1n, dims);
  assert.notDeepEqual(above, at); // a float64 seed would fold these two together
  assert.notDeepEqual(top, gaussianNoise(2n ** 64n - 2n, dims));
  assert.deepEqual(top, gaussianNoise(2n ** 64n - 1n, dims));
});

test('a stream continues across calls: element k is normal k however it is split', () => {
  const whole = new NoiseStream(7n, 0).next(11);
  const parts = new NoiseStream(7n, 0);
  assert.deepEqual([...parts.next(3), ...parts.next(5), ...parts.next(3)], [...whole]);
  assert.notDeepEqual(new NoiseStream(7n, 1).next(11), whole);
});

test('noise has mean 0 and variance 1', () => {
  const n = 200_000;
  const values = gaussianNoise(99n, [n]);
  let sum = 0;
  let squares = 0;
  let beyond3 = 0;
  for (const v of values) {
    sum += v;
    squares += v * v;
    if (Math.abs(v) > 3) beyond3++;
  }
  const mean = sum / n;
  const variance = squares / n - mean * mean;
  assert.ok(Math.abs(mean) < 5 / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 5 * Math.sqrt(2 / n), `variance ${variance}`);
  assert.ok(Math.abs(beyond3 / n - 0.0027) < 0.0006, `tail ${beyond3 / n}`); // P(|z| > 3) = 0.0027
});

test('seeds outside 0 … 2^64 − 1 are refused with the range in the message', () => {
  assert.throws(() => gaussianNoise(-1n, [4]), /outside 0 … 18446744073709551615/);
  assert.throws(() => gaussianNoise(2n ** 64n, [4]), /outside/);
});
