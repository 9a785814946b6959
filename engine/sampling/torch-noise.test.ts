// Reference values: torch.randn printouts with 4 decimals, as published widely (PyTorch docs examples,
// tutorials) and cross-checked by several independent ports (e.g. the path-A/B notes on torch's CPU
// normal kernel). Tolerance 5e-5 = half the last printed digit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torchRandn, Mt19937 } from './torch-noise.ts';

test('mt19937 passes the C++ standard check: the 10000th output for seed 5489 is 4123659995', () => {
  const engine = new Mt19937(5489);
  assert.equal(engine.nextU32(), 3499211612);
  for (let i = 2; i < 10000; i++) engine.nextU32();
  assert.equal(engine.nextU32(), 4123659995);
});

function assertPrinted(actual: Float32Array, printed: number[], label: string): void {
  printed.forEach((value, i) => assert.ok(Math.abs(actual[i] - value) <= 5.01e-5, `${label}[${i}]: ${actual[i]} vs ${value}`));
}

test('torch.manual_seed(0); torch.randn(16) and randn(4, 4)', () => {
  assertPrinted(torchRandn(0n, [4, 4]), [-1.1258, -1.1524, -0.2506, -0.4339, 0.8487, 0.692, -0.316, -2.1152, 0.3223, -1.2633, 0.35, 0.3081, 0.1198, 1.2377, 1.1168, -0.2473], 'seed 0');
});

// 54 values: positions 38 … 53 are the redrawn tail (54 % 16 = 6), so values 38+ also test the tail rule.
test('torch.manual_seed(42); torch.randn(54) (first 43 printed)', () => {
  const printed = [
    1.9269, 1.4873, 0.9007, -2.1055, 0.6784, -1.2345, -0.0431, -1.6047, -0.7521, 1.6487, -0.3925, -1.4036, -0.7279, -0.5594,
    -0.7688, 0.7624, 1.6423, -0.1596, -0.4974, 0.4396, -0.7581, 1.0783, 0.8008, 1.6806, 1.2791, 1.2964, 0.6105, 1.3347,
    -0.2316, 0.0418, -0.2516, 0.8599, -1.3847, -0.8712, -0.2234, 1.7174, 0.3189, -0.4245, -0.814, -0.736, -0.8371, -0.9224, 1.8113,
  ];
  assertPrinted(torchRandn(42n, [3, 2, 9]), printed, 'seed 42');
});

test('a size that is not a multiple of 16 redraws the last 16 values (n = 17, 20, 40)', () => {
  assertPrinted(torchRandn(0n, [17]), [-1.1258, -1.6959, 0.5667, 0.7935, 0.5988], 'n=17');
  assertPrinted(torchRandn(0n, [20]), [-1.1258, -1.1524, -0.2506, -0.4339, 0.5988], 'n=20');
  const forty = torchRandn(0n, [10, 4]);
  assertPrinted(forty.subarray(16), [-1.3527, -1.6959, 0.5667, 0.7935, 0.5988, -1.5551, -0.3414, 1.853, -0.2159, -0.7425, 0.5627, 0.2596, -0.174, -0.6787, 0.9383, 0.4889, 1.2032, 0.0845, -1.2001], 'n=40');
});

test('fewer than 16 values use the double-precision path (torch.manual_seed(0); torch.randn(8))', () => {
  assertPrinted(torchRandn(0n, [8]), [1.541, -0.2934, -2.1788, 0.5684, -1.0845, -1.3986, 0.4033, 0.838], 'n=8');
});

test('only the low 32 bits of the seed matter, as in torch', () => {
  assert.deepEqual(torchRandn(2n ** 32n + 7n, [16]), torchRandn(7n, [16]));
  assert.notDeepEqual(torchRandn(8n, [16]), torchRandn(7n, [16]));
});
