// Frozen network weights stay checkpoint initializers (one copy, no weight-gradient nodes); only the
// gradient towards the trained input is built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GraphBuilder, Module, writeSafetensors, openSafetensors, safetensorsSource } from '../onnx/index.ts';
import { tempDir, noise } from '../onnx/test-helpers.ts';
import { Tape } from './tape.ts';
import * as ad from './ops.ts';

test('gradient through a frozen conv + groupNorm reads each checkpoint weight once and builds no weight gradient', () => {
  const dir = tempDir();
  const f32 = (shape: number[], seed: number) => ({ dtype: 'F32' as const, shape, data: noise(shape.reduce((a, b) => a * b, 1), seed) });
  writeSafetensors(join(dir, 'w.safetensors'), { 'c.weight': f32([4, 3, 3, 3], 1), 'c.bias': f32([4], 2), 'n.weight': f32([4], 3), 'n.bias': f32([4], 4) });
  const g = new GraphBuilder({ name: 'frozen' });
  const root = new Module(g, safetensorsSource(openSafetensors(join(dir, 'w.safetensors'))), '');
  const t = new Tape(g);
  const x = t.param(g.input('x', 'float32', [1, 3, 6, 6]));
  const c = root.at('c');
  const n = root.at('n');
  const y = ad.groupNorm(t, ad.conv2d(t, x, c.param('weight'), c.param('bias'), { pad: 1 }), n.param('weight'), n.param('bias'), 2, 1e-5);
  const [dx] = t.gradients(ad.sumAll(t, ad.mul(t, y, y)), [x]);
  g.output(dx, 'dx');
  const model = g.toModelData();
  const ops = model.nodes.map((node) => node.opType);
  assert.equal(ops.filter((o) => o === 'Conv').length, 1, 'only the forward Conv: no weight-gradient Conv');
  assert.equal(ops.filter((o) => o === 'ConvTranspose').length, 1, 'the input gradient is one ConvTranspose');
  for (const name of ['c.weight', 'c.bias', 'n.weight', 'n.bias']) {
    assert.equal(model.initializers.filter((i) => i.name === name).length, 1, `${name} is one external initializer`);
  }
  assert.equal(model.initializers.filter((i) => !(i.data instanceof Uint8Array)).length, 4, 'no weight copied into the graph');
});
