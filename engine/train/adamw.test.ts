import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW } from './adamw.ts';

test('AdamW: first step moves each weight by lr·sign(g) (+ decay); clipping scales the gradient; bad gradients throw', () => {
  const p = { w: Float32Array.from([1, -1]), b: Float32Array.from([0.5]) };
  const opt = new AdamW({ lr: 0.1, weightDecay: 0.01, clipNorm: 0 }, (n) => n === 'w');
  opt.update(p, { w: Float32Array.from([2, -3]), b: Float32Array.from([4]) });
  // Bias-corrected m/√v = sign(g) at step 1.
  assert.ok(Math.abs(p.w[0] - (1 - 0.1 * (1 + 0.01))) < 1e-6);
  assert.ok(Math.abs(p.w[1] - (-1 + 0.1 * (1 + 0.01))) < 1e-6);
  assert.ok(Math.abs(p.b[0] - 0.4) < 1e-6);
  const clipped = new AdamW({ clipNorm: 1 });
  const norm = clipped.update({ x: Float32Array.from([0]) }, { x: Float32Array.from([5]) });
  assert.equal(norm, 5);
  assert.ok(Math.abs(clipped.state.m.x[0] - 0.1) < 1e-6, 'm holds (1−β1)·clipped gradient');
  assert.throws(() => clipped.update({ x: Float32Array.from([0]) }, { x: Float32Array.from([NaN]) }), /not finite/);
  assert.throws(() => clipped.update({ x: Float32Array.from([0]) }, {}), /missing/);
});
