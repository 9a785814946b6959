import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrownianTree } from './brownian.ts';

const range = { sigmaMin: 0.0292, sigmaMax: 14.6146 };
const SIZE = 20000;

function variance(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return sum / values.length;
}

test('W(σ) is a pure function of seed and σ, whatever was queried before', () => {
  const first = new BrownianTree(3n, 64, range);
  const second = new BrownianTree(3n, 64, range);
  const a = first.at(5);
  second.at(1);
  second.at(9.5);
  assert.deepEqual(second.at(5), a);
  assert.deepEqual(first.at(range.sigmaMin), new Float64Array(64));
  assert.notDeepEqual(new BrownianTree(4n, 64, range).at(5), a);
});

// Brownian scaling: Var(W(t) − W(σ_min)) = t − σ_min, also at points that are not tree nodes; 20000
// values give ~1% standard error, bound 5%.
test('W has Brownian variance at every point, and normalised increments are standard normal', () => {
  const tree = new BrownianTree(11n, SIZE, range);
  for (const t of [0.1, 1.234, 7, 14]) {
    const ratio = variance(tree.at(t)) / (t - range.sigmaMin);
    assert.ok(Math.abs(ratio - 1) < 0.05, `t=${t}: ${ratio}`);
  }
  const late = tree.increment(14, 7);
  const early = tree.increment(0.5, 0.2);
  assert.ok(Math.abs(variance(late) - 1) < 0.05 && Math.abs(variance(early) - 1) < 0.05);
  let covariance = 0;
  for (let i = 0; i < SIZE; i++) covariance += late[i] * early[i];
  assert.ok(Math.abs(covariance / SIZE) < 0.03, `disjoint intervals correlate: ${covariance / SIZE}`);
});

test('adjacent increments add up to the increment of their union (one path, refined)', () => {
  const tree = new BrownianTree(5n, 16, range);
  const whole = tree.increment(8, 2);
  const upper = tree.increment(8, 5);
  const lower = tree.increment(5, 2);
  whole.forEach((v, i) => {
    const recombined = (upper[i] * Math.sqrt(3) + lower[i] * Math.sqrt(3)) / Math.sqrt(6);
    assert.ok(Math.abs(v - recombined) < 1e-5);
  });
});
