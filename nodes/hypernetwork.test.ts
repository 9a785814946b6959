// HypernetworkLoader: ComfyUI's inputs and defaults, models/hypernetworks listing, refusals, stacking (one patch
// per model, nets in order, its place among the model's patches kept), and the shipped demo file is the
// generator's output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HypernetworkLoader, listHypernetworks } from './hypernetwork.ts';
import { createTestContext } from './test-context.ts';
import { fixtureModels, runtime } from './sd-test-fixture.ts';
import { tempDir } from '../engine/onnx/test-helpers.ts';
import { prepareModelPatch } from '../engine/sd/index.ts';
import type { SdModel } from '../engine/sd/index.ts';
import type { ModelPatch } from '../engine/sd/model-patch.ts';
import { writeDemoHypernetwork } from '../engine/sd/hypernetwork/demo-hypernetwork.ts';
import { HYPERNETWORK_INPUT } from '../engine/sd/hypernetwork/hypernetwork-io.ts';
import { DEMO_HYPERNETWORK, demoHypernetworkOptions } from '../models/generate-demo-hypernetwork.ts';

test('HypernetworkLoader has ComfyUI\'s inputs, defaults and category', () => {
  assert.deepEqual(Object.keys(HypernetworkLoader.inputs.required), ['model', 'hypernetwork_name', 'strength']);
  assert.deepEqual({ ...HypernetworkLoader.inputs.required.strength, tooltip: undefined }, { kind: 'FLOAT', default: 1.0, min: -10.0, max: 10.0, step: 0.01, tooltip: undefined });
  assert.equal(HypernetworkLoader.category, 'loaders');
  assert.deepEqual(HypernetworkLoader.outputs.map((o) => o.type), ['MODEL']);
});

test('the shipped demo hypernetwork is the generator\'s output', () => {
  const out = join(tempDir(), 'demo.pt');
  writeDemoHypernetwork(out, demoHypernetworkOptions());
  assert.ok(readFileSync(out).equals(readFileSync(DEMO_HYPERNETWORK)), 'regenerate with: node --import tsx models/generate-demo-hypernetwork.ts');
});

test('models/hypernetworks is listed; loaders stack into one patch in order, keeping its place; other files are refused', async () => {
  const t = await createTestContext({ services: { sd: runtime() } });
  try {
    const folder = join(t.folders.models, 'hypernetworks');
    mkdirSync(join(folder, 'styles'), { recursive: true });
    copyFileSync(DEMO_HYPERNETWORK, join(folder, 'a.pt'));
    copyFileSync(DEMO_HYPERNETWORK, join(folder, 'styles', 'b.pt'));
    writeFileSync(join(folder, 'notes.txt'), 'not a model');
    writeFileSync(join(folder, 'broken.pt'), 'not a zip');
    assert.deepEqual(listHypernetworks(t.env), ['a.pt', 'broken.pt', 'styles/b.pt']);

    const { model } = await fixtureModels();
    const other: ModelPatch = { kind: 'other', prepare: () => ({ variant: {} }) };
    const load = async (m: SdModel, name: string, strength: number) => (await HypernetworkLoader.run({ model: m, hypernetwork_name: name, strength }, t.ctx)).outputs[0] as SdModel;
    const once = await load({ ...model, patches: [other] }, 'a.pt', 0.5);
    const twice = await load({ ...once, patches: [...once.patches!, other] }, 'styles/b.pt', -1.25);
    assert.deepEqual(twice.patches!.map((p) => p.kind), ['other', 'hypernetwork', 'other']);
    assert.equal(once.patches!.length, 2, 'the input model is not changed');
    const prepared = prepareModelPatch(twice);
    assert.deepEqual((prepared.variant.hypernetwork?.nets ?? []).map((n) => n.path), [join(folder, 'a.pt'), join(folder, 'styles', 'b.pt')]);
    const feeds = prepared.extraFeeds!({} as never, 2);
    assert.deepEqual([...feeds[HYPERNETWORK_INPUT.strength(0)].data], [0.5]);
    assert.deepEqual([...feeds[HYPERNETWORK_INPUT.strength(1)].data], [-1.25]);
    assert.match(t.logs.join('\n'), /a\.pt: MLPs for widths 32, 64, relu activation, strength 0\.5/);

    await assert.rejects(load(model, 'broken.pt', 1), /broken\.pt: is not a hypernetwork: A1111 hypernetworks are PyTorch \.pt files/);
  } finally {
    await t.dispose();
  }
});
