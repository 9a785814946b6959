// Every differentiable op's backward rule against central finite differences (gradcheck.ts), per input.
// Tolerance: float32 forward values carry ~1e-7 relative rounding; with h = 1e-2 over unit-scale inputs
// the difference quotient's rounding error is ~1e-5 relative and its truncation error O(h²) ~1e-4, so
// a correct rule lands below 1e-3 while a wrong one (missing term, wrong transpose, wrong padding) is off
// by O(1). TOL = 5e-3 leaves margin for the curvier ops (GELU, softmax, norms).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Value } from '../onnx/index.ts';
import { gradCheck } from './gradcheck.ts';
import type { GradCheckInput } from './gradcheck.ts';
import type { Tape } from './tape.ts';
import * as ad from './ops.ts';

const TOL = 5e-3;
const dir = mkdtempSync(join(tmpdir(), 'invgraph-autodiff-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

async function check(name: string, inputs: GradCheckInput[], build: (t: Tape, xs: Value[]) => Value): Promise<void> {
  const result = await gradCheck(join(dir, name), inputs, build);
  assert.ok(result.recordedOps > 0, `${name}: nothing was recorded`);
  for (const r of result.inputs) {
    assert.ok(Math.abs(r.numeric) > 1e-3, `${name}/${r.name}: the check is vacuous (derivative ${r.numeric})`);
    assert.ok(r.relError < TOL, `${name}/${r.name}: analytic ${r.analytic} vs finite difference ${r.numeric} (rel ${r.relError})`);
  }
}

const cases: Array<[string, GradCheckInput[], (t: Tape, xs: Value[]) => Value]> = [
  ['add-broadcast', [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [3, 1] }], (t, [a, b]) => ad.add(t, a, b)],
  ['sub', [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [1, 3] }], (t, [a, b]) => ad.sub(t, a, b)],
  ['mul-broadcast', [{ name: 'a', shape: [2, 4, 3, 3] }, { name: 'b', shape: [4, 1, 1] }], (t, [a, b]) => ad.mul(t, a, b)],
  ['matmul-batched', [{ name: 'a', shape: [2, 3, 5] }, { name: 'b', shape: [5, 4] }], (t, [a, b]) => ad.matmul(t, a, b)],
  ['linear', [{ name: 'x', shape: [2, 3, 6] }, { name: 'w', shape: [4, 6] }, { name: 'b', shape: [4] }], (t, [x, w, b]) => ad.linear(t, x, w, b)],
  ['conv3x3-pad1', [{ name: 'x', shape: [2, 3, 5, 6] }, { name: 'w', shape: [4, 3, 3, 3] }, { name: 'b', shape: [4] }],
    (t, [x, w, b]) => ad.conv2d(t, x, w, b, { pad: 1 })],
  ['conv3x3-stride2', [{ name: 'x', shape: [1, 2, 7, 6] }, { name: 'w', shape: [3, 2, 3, 3] }, { name: 'b', shape: [3] }],
    (t, [x, w, b]) => ad.conv2d(t, x, w, b, { stride: 2, pad: [0, 0, 1, 1] })],
  ['conv1x1', [{ name: 'x', shape: [2, 4, 3, 3] }, { name: 'w', shape: [2, 4, 1, 1] }], (t, [x, w]) => ad.conv2d(t, x, w, null)],
  ['softmax', [{ name: 'x', shape: [2, 3, 5] }], (t, [x]) => ad.softmax(t, ad.mul(t, x, 3), -1)],
  ['layerNorm', [{ name: 'x', shape: [2, 3, 8] }, { name: 'g', shape: [8] }, { name: 'b', shape: [8] }], (t, [x, g, b]) => ad.layerNorm(t, x, g, b, 1e-5)],
  ['groupNorm', [{ name: 'x', shape: [2, 4, 3, 3] }, { name: 'g', shape: [4] }, { name: 'b', shape: [4] }], (t, [x, g, b]) => ad.groupNorm(t, x, g, b, 2, 1e-5)],
  ['gelu', [{ name: 'x', shape: [3, 7] }], (t, [x]) => ad.gelu(t, ad.mul(t, x, 2))],
  ['geglu', [{ name: 'x', shape: [2, 3, 8] }], (t, [x]) => ad.geglu(t, ad.mul(t, x, 2))],
  ['silu', [{ name: 'x', shape: [3, 7] }], (t, [x]) => ad.silu(t, ad.mul(t, x, 2))],
  ['sigmoid', [{ name: 'x', shape: [3, 7] }], (t, [x]) => ad.sigmoid(t, ad.mul(t, x, 2))],
  ['reshape-transpose', [{ name: 'x', shape: [2, 3, 4] }], (t, [x]) => ad.mul(t, ad.transpose(t, ad.reshape(t, x, [2, 12]), [1, 0]), ad.transpose(t, ad.reshape(t, x, [2, 12]), [1, 0]))],
  ['concat-slice', [{ name: 'a', shape: [2, 3, 2] }, { name: 'b', shape: [2, 1, 2] }],
    (t, [a, b]) => { const c = ad.concat(t, [a, b, a], 1); return ad.mul(t, ad.slice(t, c, 1, 1, 5), ad.slice(t, c, 1, 2, 6)); }],
  ['upsampleNearest2x', [{ name: 'x', shape: [1, 2, 3, 4] }], (t, [x]) => ad.upsampleNearest(t, x, 2)],
  ['attention', [{ name: 'q', shape: [2, 3, 8] }, { name: 'k', shape: [2, 5, 8] }, { name: 'v', shape: [2, 5, 4] }],
    (t, [q, k, v]) => ad.attention(t, ad.mul(t, q, 2), ad.mul(t, k, 2), v, 2)],
  ['mseLoss', [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 3] }], (t, [a, b]) => ad.mseLoss(t, a, b)],
];

for (const [name, inputs, build] of cases) {
  test(`backward rule of ${name} matches central finite differences`, () => check(name, inputs, build));
}

test('a frozen input gets no gradient nodes: only ops fed by a param are recorded', async () => {
  const { GraphBuilder } = await import('../onnx/index.ts');
  const { Tape } = await import('./tape.ts');
  const g = new GraphBuilder({ name: 'frozen' });
  const t = new Tape(g);
  const frozen = g.input('w', 'float32', [4, 4]);
  const x = g.input('x', 'float32', [2, 4]);
  const y = ad.matmul(t, x, frozen); // nothing here depends on a param
  assert.equal(t.size, 0);
  const p = t.param(g.input('p', 'float32', [2, 4]));
  ad.matmul(t, ad.add(t, y, p), frozen);
  assert.equal(t.size, 2);
});
