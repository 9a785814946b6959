// GLIGEN nodes: ComfyUI's classes, inputs and defaults, the loader's list and errors, and how
// GLIGENTextBoxApply marks conditioning entries (pooled CLIP feature, pixel box // 8, chaining, limits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gligenNodes, GLIGENLoader, GLIGENTextBoxApply, listGligens } from './gligen.ts';
import type { Conditioning, SdGligen } from '../engine/sd/index.ts';
import { encodeTextIds, encodePooled } from '../engine/sd/index.ts';
import { writeSafetensors } from '../engine/onnx/index.ts';
import { noise } from '../engine/onnx/test-helpers.ts';
import { fixtureModels, runtime, withSd } from './sd-test-fixture.ts';
import type { TestContext } from './test-context.ts';

const DEMO_GLIGEN = fileURLToPath(new URL('../models/gligen/invgraph-demo-gligen.safetensors', import.meta.url));

async function loadDemo(t: TestContext): Promise<SdGligen> {
  await mkdir(join(t.folders.models, 'gligen'), { recursive: true });
  await copyFile(DEMO_GLIGEN, join(t.folders.models, 'gligen', 'demo.safetensors'));
  return (await GLIGENLoader.run({ gligen_name: 'demo.safetensors' }, t.ctx)).outputs[0] as SdGligen;
}

test('the family has ComfyUI\'s classes, categories, inputs and defaults', () => {
  assert.deepEqual(gligenNodes.map((n) => [n.name, n.category]), [['GLIGENLoader', 'loaders'], ['GLIGENTextBoxApply', 'conditioning/gligen']]);
  const inputs = GLIGENTextBoxApply.inputs.required;
  assert.deepEqual(Object.keys(inputs), ['conditioning_to', 'clip', 'gligen_textbox_model', 'text', 'width', 'height', 'x', 'y']);
  assert.deepEqual([inputs.width.default, inputs.width.min, inputs.width.step, inputs.height.default, inputs.x.default, inputs.x.min, inputs.y.step], [64, 8, 8, 64, 0, 0, 8]);
});

test('GLIGENLoader lists models/gligen, loads the demo file and refuses other files with the reason', async () => {
  await withSd(async (t) => {
    const gligen = await loadDemo(t);
    assert.deepEqual(listGligens({ folders: t.folders } as never), ['demo.safetensors']);
    assert.equal(gligen.gligen.fusers.length, 16);
    await writeFile(join(t.folders.models, 'gligen', 'broken.safetensors'), 'not a model');
    await assert.rejects(async () => GLIGENLoader.run({ gligen_name: 'broken.safetensors' }, t.ctx), /broken\.safetensors/);
    await copyFile(new URL('../models/loras/invgraph-demo-lora.safetensors', import.meta.url), join(t.folders.models, 'gligen', 'lora.safetensors'));
    await assert.rejects(async () => GLIGENLoader.run({ gligen_name: 'lora.safetensors' }, t.ctx), /is not a GLIGEN model/);
    await assert.rejects(async () => GLIGENLoader.run({ gligen_name: 'missing.safetensors' }, t.ctx), /missing\.safetensors/);
  });
});

test('the pooled text feature is the last layer at the first end token, whatever the clip skip', async () => {
  await withSd(async () => {
    const { clip } = await fixtureModels();
    const text = 'a red sofa';
    const pooled = await encodePooled(runtime(), clip, text);
    const ids = clip.tokenizer.tokenizeSd15(text);
    const hidden = await encodeTextIds(runtime(), clip.checkpoint, [ids]);
    const width = hidden.dims[2];
    const eos = ids.indexOf(clip.tokenizer.eosId);
    assert.ok(eos > 1);
    assert.deepEqual(pooled, hidden.data.slice(eos * width, (eos + 1) * width));
    assert.deepEqual(await encodePooled(runtime(), { ...clip, stopAtLayer: -2 }, text), pooled);
  });
});

test('GLIGENTextBoxApply appends a box per call to every entry: pooled text, pixels // 8, at most 30', async () => {
  await withSd(async (t) => {
    const { clip } = await fixtureModels();
    const gligen = await loadDemo(t);
    const entry = { embeds: { dims: [1, 77, 32], data: new Float32Array(77 * 32) } };
    const base: Conditioning = [entry, { ...entry, strength: 0.5 }];
    const apply = async (conditioning_to: Conditioning, text: string, box: [number, number, number, number]) =>
      (await GLIGENTextBoxApply.run({ conditioning_to, clip, gligen_textbox_model: gligen, text, width: box[0], height: box[1], x: box[2], y: box[3] }, t.ctx)).outputs[0] as Conditioning;
    const one = await apply(base, 'a red sofa', [80, 48, 8, 72]);
    assert.equal(one.length, 2);
    assert.equal(one[1].strength, 0.5);
    assert.equal(base[0].gligen, undefined, 'the input conditioning is not changed');
    const [first] = one[0].gligen!.boxes;
    assert.deepEqual({ ...first, text: undefined }, { text: undefined, width: 10, height: 6, x: 1, y: 9 });
    assert.deepEqual(first.text, await encodePooled(runtime(), clip, 'a red sofa'));
    const two = await apply(one, 'a lamp', [36, 100, 95, 15]);
    assert.deepEqual(two[0].gligen!.boxes.map((b) => [b.width, b.height, b.x, b.y]), [[10, 6, 1, 9], [4, 12, 11, 1]]);
    let many = two;
    for (let i = 0; i < 28; i++) many = await apply(many, 'x', [8, 8, 0, 0]);
    assert.equal(many[0].gligen!.boxes.length, 30);
    await assert.rejects(async () => apply(many, 'x', [8, 8, 0, 0]), /at most 30 GLIGEN boxes/);
  });
});

test('box text may use embedding:NAME (textual inversion), as CLIPTextEncode', async () => {
  await withSd(async (t) => {
    const { clip } = await fixtureModels();
    const gligen = await loadDemo(t);
    await mkdir(join(t.folders.models, 'embeddings'), { recursive: true });
    writeSafetensors(join(t.folders.models, 'embeddings', 'sofa.safetensors'), { emb_params: { dtype: 'F32', shape: [2, 32], data: noise(64, 4) } });
    const entry = { embeds: { dims: [1, 77, 32], data: new Float32Array(77 * 32) } };
    const apply = async (text: string) =>
      ((await GLIGENTextBoxApply.run({ conditioning_to: [entry], clip, gligen_textbox_model: gligen, text, width: 64, height: 64, x: 0, y: 0 }, t.ctx)).outputs[0] as Conditioning)[0].gligen!.boxes[0].text;
    const withEmbedding = await apply('a embedding:sofa');
    await rm(join(t.folders.models, 'embeddings', 'sofa.safetensors'));
    const dropped = await apply('a embedding:sofa'); // a missing embedding is dropped, as in CLIPTextEncode
    assert.deepEqual(dropped, await apply('a'));
    assert.ok(withEmbedding.some((v, i) => Math.abs(v - dropped[i]) > 1e-4), 'the embedding vectors reach the text feature');
    assert.equal(withEmbedding.length, 32);
  });
});
