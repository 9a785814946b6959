// Model merging nodes: ComfyUI's names, category and inputs; ratio 1 passes model1 through; the merge weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelMergeSimple, ModelMergeSubtract, ModelMergeAdd, CLIPMergeSimple } from './model-merge.ts';
import { createTestContext } from './test-context.ts';
import { openCheckpoint } from '../engine/sd/index.ts';
import type { SdModel } from '../engine/sd/index.ts';
import { FIXTURE_CHECKPOINT } from '../engine/sd/test-fixture.ts';

test('the merge nodes have ComfyUI\'s inputs, and merge with its weights', async () => {
  assert.deepEqual(ModelMergeSimple.inputs.required.ratio, { kind: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 });
  assert.deepEqual(ModelMergeSubtract.inputs.required.multiplier, { kind: 'FLOAT', default: 1.0, min: -10.0, max: 10.0, step: 0.01 });
  assert.deepEqual(Object.keys(ModelMergeAdd.inputs.required), ['model1', 'model2']);
  assert.deepEqual(Object.keys(CLIPMergeSimple.inputs.required), ['clip1', 'clip2', 'ratio']);
  for (const n of [ModelMergeSimple, ModelMergeSubtract, ModelMergeAdd, CLIPMergeSimple]) assert.equal(n.category, 'advanced/model_merging');
  const t = await createTestContext();
  try {
    const model: SdModel = { checkpoint: openCheckpoint(FIXTURE_CHECKPOINT) };
    const other: SdModel = { checkpoint: { ...openCheckpoint(FIXTURE_CHECKPOINT), fingerprint: 'other' } };
    const run = (node: typeof ModelMergeSimple | typeof ModelMergeSubtract | typeof ModelMergeAdd, inputs: Record<string, unknown>) =>
      ((node.run as (i: unknown, c: unknown) => { outputs: [SdModel] })({ model1: model, model2: other, ...inputs }, t.ctx)).outputs[0];
    assert.equal(run(ModelMergeSimple, { ratio: 1 }), model);
    assert.match(run(ModelMergeSimple, { ratio: 0.25 }).checkpoint.fingerprint, /\*0\.25,unet,other\*0\.75\)$/);
    assert.match(run(ModelMergeSubtract, { multiplier: 2 }).checkpoint.fingerprint, /\*2,unet,other\*-2\)$/);
    assert.match(run(ModelMergeAdd, {}).checkpoint.fingerprint, /\*1,unet,other\*1\)$/);
  } finally {
    await t.dispose();
  }
});
