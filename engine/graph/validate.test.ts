// validatePrompt: every error type of comfyui-api.md §2.1/§6.2 with its exact shape, partial
// failure, coercion, cycles and hostile inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseJson } from './json.ts';
import { defineNode, type NodeDefinition, type NodeRegistry } from './node-definition.ts';
import type { ApiPrompt, PromptInputValue } from './prompt-types.ts';
import { testRegistry, TEST_ENV, SAMPLERS } from './test-registry.ts';
import { typesMatch, validatePrompt, type ValidationResult } from './validate.ts';

const registry = testRegistry();
const apiText = readFileSync(new URL('../../test/fixtures/workflows/txt2img-default.api.json', import.meta.url), 'utf8');

/** A fresh copy of ComfyUI's default txt2img prompt (§5.1). */
function base(): ApiPrompt {
  return parseJson(apiText) as ApiPrompt;
}

async function failed(prompt: unknown, reg: NodeRegistry = registry): Promise<Extract<ValidationResult, { ok: false }>> {
  const result = await validatePrompt(prompt, reg, TEST_ENV);
  assert.equal(result.ok, false, 'expected validation to fail');
  return result as Extract<ValidationResult, { ok: false }>;
}

/** The single error reported for node `id` when the prompt fails only there. */
async function onlyError(prompt: ApiPrompt, id: string) {
  const result = await validatePrompt(prompt, registry, TEST_ENV);
  assert.deepEqual(Object.keys(result.node_errors), [id]);
  assert.equal(result.node_errors[id].errors.length, 1);
  return result.node_errors[id].errors[0];
}

test('a valid prompt passes; the coerced copy has SEED as bigint and leaves the input untouched', async () => {
  const prompt = base();
  prompt['3'].inputs.steps = '25';
  const result = await validatePrompt(prompt, registry, TEST_ENV);
  assert.ok(result.ok);
  assert.deepEqual(result.outputs, ['9']);
  assert.deepEqual(result.node_errors, {});
  assert.equal(result.prompt['3'].inputs.seed, 156680208700286n);
  assert.equal(result.prompt['3'].inputs.steps, 25);
  assert.equal(prompt['3'].inputs.steps, '25');
});

test('§2.1 example: missing filename_prefix and unknown checkpoint, exact answer', async () => {
  const prompt = base();
  prompt['4'].inputs.ckpt_name = 'nope.safetensors';
  delete prompt['9'].inputs.filename_prefix;
  const result = await failed(prompt);
  assert.deepEqual(result, {
    ok: false,
    error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: 'Required input is missing: filename_prefix', extra_info: {} },
    node_errors: {
      4: {
        errors: [{
          type: 'value_not_in_list', message: 'Value not in list', details: "ckpt_name: 'nope.safetensors' not in ['v1-5-pruned-emaonly.safetensors']",
          extra_info: { input_name: 'ckpt_name', input_config: [['v1-5-pruned-emaonly.safetensors'], { tooltip: 'The name of the checkpoint (model) to load.' }], received_value: 'nope.safetensors' },
        }],
        dependent_outputs: ['9'],
        class_type: 'CheckpointLoaderSimple',
      },
      9: {
        errors: [{ type: 'required_input_missing', message: 'Required input is missing', details: 'filename_prefix', extra_info: { input_name: 'filename_prefix' } }],
        dependent_outputs: ['9'],
        class_type: 'SaveImage',
      },
    },
  });
});

test('whole-prompt errors: not an object, node not an object, missing class_type', async () => {
  for (const bad of [[], null, 'x', 5]) assert.equal((await failed(bad)).error.type, 'invalid_prompt');
  const notObject = await failed({ 7: 'KSampler' });
  assert.deepEqual(notObject.node_errors, {});
  assert.match(notObject.error.message, /node #7 is a string/);
  const missing = await failed({ ...base(), 7: { inputs: {} } });
  assert.deepEqual(missing.error, { type: 'invalid_prompt', message: 'Cannot execute because a node is missing the class_type property.', details: "Node ID '#7'", extra_info: {} });
});

test('missing_node_type names the node title, id and class', async () => {
  const result = await failed({ ...base(), 12: { class_type: 'FooNode', inputs: {}, _meta: { title: 'My Foo' } } });
  assert.deepEqual(result.error, {
    type: 'missing_node_type', message: "Node 'My Foo' not found. The custom node may not be installed.", details: "Node ID '#12'",
    extra_info: { node_id: '12', class_type: 'FooNode', node_title: 'My Foo' },
  });
});

test('missing_node_type names every missing node at once, each with its id and class', async () => {
  const result = await failed({
    ...base(),
    12: { class_type: 'FooNode', inputs: {}, _meta: { title: 'My Foo' } },
    13: { class_type: 'BarNode', inputs: {} },
    14: { class_type: 'FooNode', inputs: {} },
  });
  assert.equal(result.error.type, 'missing_node_type');
  assert.equal(result.error.message, "Nodes 'My Foo' (#12, FooNode), 'BarNode' (#13), 'FooNode' (#14) not found: this install has no node type FooNode, BarNode. The custom nodes may not be installed.");
  assert.equal(result.error.details, "Node ID '#12', Node ID '#13', Node ID '#14'");
  assert.deepEqual((result.error.extra_info as { missing_nodes: unknown[] }).missing_nodes, [
    { node_id: '12', class_type: 'FooNode', node_title: 'My Foo' },
    { node_id: '13', class_type: 'BarNode', node_title: 'BarNode' },
    { node_id: '14', class_type: 'FooNode', node_title: 'FooNode' },
  ]);
});

test('prompt_no_outputs', async () => {
  const prompt = base();
  delete prompt['9'];
  assert.deepEqual((await failed(prompt)).error, { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} });
});

test('bad_linked_input', async () => {
  const prompt = base();
  prompt['8'].inputs.samples = ['3', 0, 1] as unknown as PromptInputValue;
  assert.deepEqual(await onlyError(prompt, '8'), {
    type: 'bad_linked_input', message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]', details: 'samples',
    extra_info: { input_name: 'samples', input_config: ['LATENT'], received_value: ['3', 0, 1] },
  });
});

test('return_type_mismatch and type matching rules', async () => {
  const prompt = base();
  prompt['8'].inputs.vae = ['4', 1];
  assert.deepEqual(await onlyError(prompt, '8'), {
    type: 'return_type_mismatch', message: 'Return type mismatch between linked nodes', details: 'vae, received_type(CLIP) mismatch input_type(VAE)',
    extra_info: { input_name: 'vae', input_config: ['VAE'], received_type: 'CLIP', linked_node: ['4', 1] },
  });
  assert.ok(typesMatch('INT', 'FLOAT,INT'));
  assert.ok(typesMatch('INT,STRING', 'STRING'));
  assert.ok(typesMatch('IMAGE', '*') && typesMatch('*', 'MASK'));
  assert.ok(!typesMatch('IMAGE', 'MASK'));
  const chain = { 1: { class_type: 'TestInt', inputs: { value: 3 } }, 2: { class_type: 'TestMix', inputs: { value: ['1', 0], flag: 'false' } }, 3: { class_type: 'TestSink', inputs: { value: ['2', 0] } } };
  const result = await validatePrompt(chain, registry, TEST_ENV);
  assert.ok(result.ok);
  assert.equal(result.prompt['2'].inputs.flag, true, 'bool("false") is True in ComfyUI');
});

test('invalid_input_type follows int()/float() rules; floats truncate, numeric strings convert', async () => {
  const prompt = base();
  prompt['3'].inputs.steps = '5.7';
  assert.deepEqual(await onlyError(prompt, '3'), {
    type: 'invalid_input_type', message: 'Failed to convert an input value to a INT value', details: "steps, 5.7, invalid literal for int() with base 10: '5.7'",
    extra_info: { input_name: 'steps', input_config: ['INT', { default: 20, min: 1, max: 10000, tooltip: 'The number of steps used in the denoising process.' }], received_value: '5.7', exception_message: "invalid literal for int() with base 10: '5.7'" },
  });
  prompt['3'].inputs.steps = null;
  assert.match((await onlyError(prompt, '3')).details, /steps, None, int\(\) argument must be .* not 'NoneType'/);
  prompt['3'].inputs.steps = 5.7;
  prompt['3'].inputs.cfg = '7.5';
  prompt['3'].inputs.seed = '18446744073709551615';
  const ok = await validatePrompt(prompt, registry, TEST_ENV);
  assert.ok(ok.ok);
  assert.equal(ok.prompt['3'].inputs.steps, 5);
  assert.equal(ok.prompt['3'].inputs.cfg, 7.5);
  assert.equal(ok.prompt['3'].inputs.seed, 18446744073709551615n);
  prompt['3'].inputs.cfg = 'nan';
  assert.equal((await onlyError(prompt, '3')).type, 'invalid_input_type');
  const linkOnly = base();
  linkOnly['8'].inputs.vae = 'vae.safetensors';
  assert.match((await onlyError(linkOnly, '8')).details, /a VAE input takes a link/);
});

test('value_smaller_than_min / value_bigger_than_max, exact for seeds beyond 2^53', async () => {
  const prompt = base();
  prompt['3'].inputs.steps = 0;
  const small = await onlyError(prompt, '3');
  assert.equal(small.type, 'value_smaller_than_min');
  assert.equal(small.message, 'Value 0 smaller than min of 1');
  assert.equal(small.details, 'steps');
  assert.equal(small.extra_info.received_value, 0);
  prompt['3'].inputs.steps = 20;
  prompt['3'].inputs.seed = 18446744073709551616n;
  const big = await onlyError(prompt, '3');
  assert.equal(big.message, 'Value 18446744073709551616 bigger than max of 18446744073709551615');
  prompt['3'].inputs.seed = 1;
  prompt['3'].inputs.denoise = 1.5;
  assert.equal((await onlyError(prompt, '3')).message, 'Value 1.5 bigger than max of 1.0');
  prompt['3'].inputs.denoise = 1;
  prompt['6'].inputs.text = 'x'.repeat(100_001);
  const long = await onlyError(prompt, '6');
  assert.equal(long.type, 'value_bigger_than_max');
  assert.equal(long.message, 'String length 100001 bigger than max length of 100000');
});

test('value_not_in_list, with the long-list form past 20 options, and {__value__} unwrapping', async () => {
  const prompt = base();
  prompt['3'].inputs.sampler_name = 'nope';
  const e = await onlyError(prompt, '3');
  assert.equal(e.details, `sampler_name: 'nope' not in ['${SAMPLERS.join("', '")}']`);
  prompt['3'].inputs.sampler_name = { __value__: 'euler' };
  const ok = await validatePrompt(prompt, registry, TEST_ENV);
  assert.ok(ok.ok);
  assert.equal(ok.prompt['3'].inputs.sampler_name, 'euler');
  const many = Array.from({ length: 21 }, (_, i) => `o${i}`);
  const local = new Map(registry);
  local.set('Many', defineNode({ name: 'Many', category: 't', description: '', outputNode: true, inputs: { required: { pick: { kind: 'COMBO', options: many } } }, outputs: [], run: () => ({ outputs: [] }) }) as unknown as NodeDefinition);
  const result = await failed({ 1: { class_type: 'Many', inputs: { pick: 'zz' } } }, local);
  assert.deepEqual(result.node_errors['1'].errors[0].extra_info, { input_name: 'pick', input_config: null, received_value: 'zz' });
  assert.equal(result.node_errors['1'].errors[0].details, "pick: 'zz' not in (list of length 21)");
});

test('custom_validation_failed; validated inputs skip the list check', async () => {
  const prompt: ApiPrompt = { ...base(), 10: { class_type: 'LoadImage', inputs: { image: 'missing.png' } }, 11: { class_type: 'SaveImage', inputs: { images: ['10', 0], filename_prefix: 'x' } } };
  const result = await validatePrompt(prompt, registry, TEST_ENV);
  assert.ok(result.ok);
  assert.deepEqual(result.node_errors['10'], {
    errors: [{ type: 'custom_validation_failed', message: 'Custom validation failed for node', details: 'image - Invalid image file: missing.png', extra_info: { input_name: 'image' } }],
    dependent_outputs: ['11'],
    class_type: 'LoadImage',
  });
  prompt['10'].inputs.image = 'sub/not-listed.png';
  assert.deepEqual((await validatePrompt(prompt, registry, TEST_ENV)).node_errors, {});
});

test('exception_during_validation (output) and exception_during_inner_validation (upstream)', async () => {
  const onOutput = base();
  onOutput['9'].inputs.images = ['99', 0];
  const outer = await onlyError(onOutput, '9');
  assert.equal(outer.type, 'exception_during_validation');
  assert.equal(outer.message, 'Exception when validating node');
  assert.equal(outer.details, "Input 'images' of node 9 (SaveImage) links to node '99', which is not in the prompt");
  assert.deepEqual(outer.extra_info, { exception_type: 'KeyError', traceback: [] });
  const upstream = base();
  upstream['8'].inputs.samples = ['3', 5];
  const inner = await onlyError(upstream, '8');
  assert.equal(inner.type, 'exception_during_inner_validation');
  assert.equal(inner.message, 'Exception when validating inner node');
  assert.match(inner.details, /links to output 5 of node 3 \(KSampler\), which has 1 output/);
  assert.deepEqual({ ...inner.extra_info, input_config: undefined }, {
    input_name: 'images', input_config: undefined, exception_message: inner.details, exception_type: 'IndexError', traceback: [], linked_node: ['8', 0],
  });
  const numericId = base();
  numericId['8'].inputs.vae = [4, 2] as unknown as [string, number];
  assert.match((await onlyError(numericId, '8')).details, /links to node 4: node ids in links must be strings, e.g. \["4", 0\]/);
});

test('a validator that throws becomes an exception error, not a crash', async () => {
  const local = new Map(registry);
  local.set('Thrower', defineNode({
    name: 'Thrower', category: 't', description: '', outputNode: true, inputs: { required: { x: { kind: 'INT' } } }, outputs: [],
    validate: { inputs: ['x'], check: () => { throw new Error('boom'); } }, run: () => ({ outputs: [] }),
  }) as unknown as NodeDefinition);
  const result = await failed({ 1: { class_type: 'Thrower', inputs: { x: 1 } } }, local);
  assert.equal(result.node_errors['1'].errors[0].type, 'exception_during_validation');
  assert.equal(result.error.details, 'Exception when validating node: boom');
});

test('dependency cycles are detected and named', async () => {
  const prompt = base();
  prompt['10'] = { class_type: 'KSampler', inputs: { ...prompt['3'].inputs, latent_image: ['3', 0] } };
  prompt['3'].inputs.latent_image = ['10', 0];
  const result = await failed(prompt);
  assert.equal(result.error.type, 'prompt_outputs_failed_validation');
  const [entry] = Object.values(result.node_errors);
  assert.match(entry.errors[0].details, /^Dependency cycle detected: node 3 \(KSampler\) takes input from node 10 \(KSampler\) takes input from node 3 \(KSampler\)/);
  assert.equal(entry.errors[0].extra_info.exception_type, 'graph.DependencyCycleError');
  const selfLoop = base();
  selfLoop['3'].inputs.latent_image = ['3', 0];
  assert.match(JSON.stringify((await failed(selfLoop)).node_errors), /Dependency cycle detected/);
});

test('partial failure: good outputs kept, bad ones in node_errors; partial targets; unreachable nodes ignored', async () => {
  const prompt: ApiPrompt = {
    ...base(),
    11: { class_type: 'ImageScale', inputs: { image: ['8', 0], upscale_method: 'bogus', width: 1, height: 1, crop: 'center' } },
    12: { class_type: 'SaveImage', inputs: { images: ['11', 0], filename_prefix: '../not-a-path-here' } },
    13: { class_type: 'EmptyLatentImage', inputs: { width: 'wide' } },
  };
  const result = await validatePrompt(prompt, registry, TEST_ENV);
  assert.ok(result.ok);
  assert.deepEqual(result.outputs, ['9']);
  assert.deepEqual(Object.keys(result.node_errors), ['11']);
  assert.deepEqual(result.node_errors['11'].dependent_outputs, ['12']);
  const onlyBad = await validatePrompt(prompt, registry, TEST_ENV, { partialExecutionTargets: ['12'] });
  assert.equal(onlyBad.ok, false);
  const onlyGood = await validatePrompt(prompt, registry, TEST_ENV, { partialExecutionTargets: ['9'] });
  assert.ok(onlyGood.ok);
  assert.deepEqual(onlyGood.node_errors, {});
});

test('hostile inputs: 10 MB string, deep nesting, odd shapes never throw', async () => {
  const huge = base();
  huge['6'].inputs.text = 'x'.repeat(10 * 1024 * 1024);
  const tooLong = await failed(huge);
  assert.equal(tooLong.error.type, 'invalid_prompt');
  assert.match(tooLong.error.details, /node 6 \(CLIPTextEncode\): inputs\.text is a string of 10485760 characters, longer than the limit of 1000000/);
  let nested: unknown = 'x';
  for (let i = 0; i < 100_000; i++) nested = { __value__: [nested] };
  const deep = base();
  deep['6'].inputs.text = nested as ApiPrompt[string]['inputs'][string];
  assert.match((await failed(deep)).error.details, /nested more than 64 levels deep/);
  const odd: unknown[] = [
    { 1: { class_type: 'SaveImage' } },
    { 1: { class_type: 'SaveImage', inputs: [] } },
    { 1: { class_type: 'SaveImage', inputs: null } },
    { 1: { class_type: 5, inputs: {} } },
    { 1: { class_type: 'SaveImage', inputs: { images: [{}, {}], filename_prefix: {} } } },
    { 1: { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'a' } } },
    { 1: { class_type: 'SaveImage', inputs: { images: ['__proto__', 0], filename_prefix: 'a' } } },
    { 1: { class_type: 'SaveImage', inputs: { images: ['1', -1], filename_prefix: 'a' } } },
    { 1: { class_type: 'SaveImage', inputs: { images: [null, 0.5], filename_prefix: 'a' } } },
    { 1: { class_type: 'SaveImage', inputs: { images: [], filename_prefix: ['a'] } } },
    { 1: { class_type: 'TestSink', inputs: { value: { __value__: 5 } } } },
  ];
  for (const prompt of odd) {
    const result = await validatePrompt(prompt, registry, TEST_ENV);
    assert.equal(result.ok, false, JSON.stringify(prompt));
  }
});

test('a chain of 5000 nodes is validated without overflowing the stack', async () => {
  const prompt: ApiPrompt = { 0: { class_type: 'LoadImage', inputs: { image: 'example.png' } } };
  for (let i = 1; i <= 5000; i++) prompt[String(i)] = { class_type: 'ImageScale', inputs: { image: [String(i - 1), 0], upscale_method: 'area', width: 8, height: 8, crop: 'center' } };
  prompt.out = { class_type: 'SaveImage', inputs: { images: ['5000', 0], filename_prefix: 'x' } };
  assert.ok((await validatePrompt(prompt, registry, TEST_ENV)).ok);
});
