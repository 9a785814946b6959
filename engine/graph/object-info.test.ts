// /object_info shapes (comfyui-api.md §4): key order, input spec arrays, exact SEED_MAX.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringifyJson } from './json.ts';
import { nodeInfo, objectInfo, objectInfoFor } from './object-info.ts';
import { defineNode, type NodeDefinition } from './node-definition.ts';
import { widgetEntries } from './node-inputs.ts';
import { CHECKPOINTS, SAMPLERS, SCHEDULERS, TEST_ENV, testRegistry } from './test-registry.ts';

const registry = testRegistry();

test('KSampler matches the §4.3 structure, keys in order', () => {
  const info = objectInfoFor(registry, TEST_ENV, 'KSampler').KSampler;
  assert.deepEqual(Object.keys(info), [
    'input', 'input_order', 'output', 'output_is_list', 'output_name', 'name', 'display_name', 'description', 'python_module', 'category', 'output_node', 'output_tooltips',
  ]);
  const required = info.input.required!;
  assert.deepEqual(Object.keys(required), info.input_order.required);
  assert.deepEqual(info.input_order, { required: ['model', 'seed', 'steps', 'cfg', 'sampler_name', 'scheduler', 'positive', 'negative', 'latent_image', 'denoise'] });
  assert.deepEqual(required.model, ['MODEL', { tooltip: 'The model used for denoising the input latent.' }]);
  assert.deepEqual(Object.keys(required.seed[1]!), ['default', 'min', 'max', 'control_after_generate', 'tooltip']);
  assert.deepEqual(required.seed, ['INT', { default: 0, min: 0, max: 18446744073709551615n, control_after_generate: true, tooltip: 'The random seed used for creating the noise.' }]);
  assert.deepEqual(required.cfg, ['FLOAT', { default: 8, min: 0, max: 100, step: 0.1, round: 0.01, tooltip: 'The Classifier-Free Guidance scale.' }]);
  assert.deepEqual(required.sampler_name, [SAMPLERS, { tooltip: 'The algorithm used when sampling.' }]);
  assert.deepEqual(required.scheduler[0], SCHEDULERS);
  assert.deepEqual(info.output, ['LATENT']);
  assert.deepEqual(info.output_is_list, [false]);
  assert.deepEqual(info.output_name, ['LATENT']);
  assert.equal(info.name, 'KSampler');
  assert.equal(info.display_name, 'KSampler');
  assert.equal(info.python_module, 'nodes');
  assert.equal(info.category, 'sampling');
  assert.equal(info.output_node, false);
  assert.deepEqual(info.output_tooltips, ['The denoised latent.']);
  assert.match(stringifyJson(info), /"max":18446744073709551615,"control_after_generate":true/);
});

test('link inputs without options are one-element arrays; widget options use ComfyUI names', () => {
  const all = objectInfo(registry, TEST_ENV);
  assert.deepEqual(Object.keys(all), [...registry.keys()]);
  assert.deepEqual(all.VAEDecode.input.required!.samples, ['LATENT']);
  assert.deepEqual(all.CLIPTextEncode.input.required!.text, ['STRING', { multiline: true, dynamicPrompts: true }]);
  assert.deepEqual(all.LoadImage.input.required!.image, [['example.png', 'face.jpg'], { image_upload: true }]);
  assert.deepEqual(all.ImageScale.input.required!.crop, [['disabled', 'center']]);
  assert.deepEqual(all.TestMix.input.required!.flag, ['BOOLEAN', { default: false, label_on: 'yes', label_off: 'no' }]);
  assert.deepEqual(all.TestMix.input.optional!.scale, ['FLOAT', { default: 1, forceInput: true }]);
  assert.deepEqual(all.TestMix.input_order, { required: ['value', 'flag'], optional: ['anything', 'scale'] });
  assert.equal(all.TestMix.experimental, true);
  assert.equal('deprecated' in all.TestMix, false);
  assert.equal('output_tooltips' in all.VAEDecode, false);
  assert.deepEqual(all.TestMix.output_name, ['result']);
});

test('SaveImage: output node, hidden group and its input_order, no outputs', () => {
  const info = objectInfoFor(registry, TEST_ENV, 'SaveImage').SaveImage;
  assert.deepEqual(info.input.hidden, { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' });
  assert.deepEqual(info.input_order, { required: ['images', 'filename_prefix'], hidden: ['prompt', 'extra_pnginfo'] });
  assert.deepEqual(info.input.required!.filename_prefix, ['STRING', { default: 'ComfyUI' }]);
  assert.equal(info.output_node, true);
  assert.deepEqual([info.output, info.output_is_list, info.output_name], [[], [], []]);
  assert.equal(info.display_name, 'Save Image');
});

test('computed COMBO options are evaluated at call time; unknown class gives {}', () => {
  CHECKPOINTS.push('new.safetensors');
  try {
    assert.deepEqual(objectInfoFor(registry, TEST_ENV, 'CheckpointLoaderSimple').CheckpointLoaderSimple.input.required!.ckpt_name[0], ['v1-5-pruned-emaonly.safetensors', 'new.safetensors']);
  } finally {
    CHECKPOINTS.pop();
  }
  assert.deepEqual(objectInfoFor(registry, TEST_ENV, 'Nope'), {});
});

test('a socket-only input of a widget type is advertised with forceInput, so the editor shows no widget for it', () => {
  const node = defineNode({
    name: 'SocketInt', category: 't', description: '', outputs: [], run: () => ({ outputs: [] }),
    inputs: { required: { count: { kind: 'LINK', type: 'INT' }, steps: { kind: 'INT', default: 2 } } },
  }) as unknown as NodeDefinition;
  const info = nodeInfo(node, undefined);
  assert.deepEqual(info.input.required?.count, ['INT', { forceInput: true }]);
  assert.deepEqual(widgetEntries(info).map((e) => e.name), ['steps']);
});
