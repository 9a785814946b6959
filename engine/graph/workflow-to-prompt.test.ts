// UI workflow → API prompt on hand-written ComfyUI-style files (test/fixtures/workflows), with
// the expected prompts derived by hand from comfyui-api.md §5.1/§5.3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseJson } from './json.ts';
import { detectWorkflowFormat, loadWorkflow, workflowToPrompt } from './workflow-to-prompt.ts';
import { WorkflowError } from './workflow-types.ts';
import { testRegistry, TEST_ENV } from './test-registry.ts';
import { defineNode, type InputSpec, type NodeDefinition, type NodeRegistry } from './node-definition.ts';
import { validatePrompt } from './validate.ts';

const registry = testRegistry();
const fixtures = new URL('../../test/fixtures/workflows/', import.meta.url);

function fixture(name: string): unknown {
  return parseJson(readFileSync(new URL(name, fixtures), 'utf8'));
}

function convertFixture(name: string): { actual: unknown; expected: unknown } {
  return { actual: workflowToPrompt(fixture(`${name}.json`), registry, TEST_ENV), expected: fixture(`${name}.api.json`) };
}

for (const name of ['txt2img-default', 'legacy-2023', 'reroutes', 'primitive', 'bypass-mute', 'converted-widget', 'subgraph-nested', 'group-node', 'frontend-default']) {
  test(`converts ${name}.json to the hand-derived API prompt`, () => {
    const { actual, expected } = convertFixture(name);
    assert.deepEqual(actual, expected);
  });
}

test('default graph: widgets come first, in input_order, then links in slot order', () => {
  const { actual } = convertFixture('txt2img-default');
  const prompt = actual as Record<string, { inputs: Record<string, unknown> }>;
  assert.deepEqual(Object.keys(prompt['3'].inputs), ['seed', 'steps', 'cfg', 'sampler_name', 'scheduler', 'denoise', 'model', 'positive', 'negative', 'latent_image']);
});

test('seeds above 2^53 keep their exact value through conversion (reroutes, primitive)', () => {
  const reroutes = workflowToPrompt(fixture('reroutes.json'), registry, TEST_ENV);
  assert.equal(reroutes['3'].inputs.seed, 12345678901234567890n);
  const primitive = workflowToPrompt(fixture('primitive.json'), registry, TEST_ENV);
  assert.equal(primitive['3'].inputs.seed, 987654321098765432n);
});

test('converted default graph validates cleanly', async () => {
  const result = await validatePrompt(workflowToPrompt(fixture('txt2img-default.json'), registry, TEST_ENV), registry, TEST_ENV);
  assert.equal(result.ok, true);
  assert.deepEqual(result.node_errors, {});
});

test('muted source leaves a required input missing, which validation names', async () => {
  const prompt = workflowToPrompt(fixture('bypass-mute.json'), registry, TEST_ENV);
  const result = await validatePrompt(prompt, registry, TEST_ENV);
  assert.equal(result.ok, true);
  assert.deepEqual(Object.keys(result.node_errors), ['12']);
  assert.equal(result.node_errors['12'].errors[0].type, 'required_input_missing');
});

test('version 1 workflows with object links are normalised', () => {
  const v1 = {
    version: 1,
    state: { lastGroupId: 0, lastNodeId: 2, lastLinkId: 1, lastRerouteId: 0 },
    nodes: [
      { id: 1, type: 'TestInt', mode: 0, outputs: [{ name: 'INT', type: 'INT', links: [1] }], widgets_values: [5] },
      { id: 2, type: 'TestSink', mode: 0, inputs: [{ name: 'value', type: '*', link: 1 }] },
    ],
    links: [{ id: 1, origin_id: 1, origin_slot: 0, target_id: 2, target_slot: 0, type: 'INT', parentId: 3 }],
    reroutes: [{ id: 3, pos: [0, 0], linkIds: [1] }],
  };
  assert.deepEqual(workflowToPrompt(v1, registry), {
    1: { class_type: 'TestInt', inputs: { value: 5 }, _meta: { title: 'TestInt' } },
    2: { class_type: 'TestSink', inputs: { value: ['1', 0] }, _meta: { title: 'TestSink' } },
  });
});

function tinyWorkflow(nodes: unknown[], links: unknown[]): unknown {
  return { nodes, links, version: 0.4 };
}

test('widgets_values as an object keyed by widget name', () => {
  const wf = tinyWorkflow([{ id: 1, type: 'EmptyLatentImage', widgets_values: { width: 64, height: 128, batch_size: 2, extra: 1 } }], []);
  assert.deepEqual(workflowToPrompt(wf, registry)['1'].inputs, { width: 64, height: 128, batch_size: 2 });
});

test('control value slots: explicit flag, seed/noise_seed by name, explicit false suppresses; forceInput has no slot', () => {
  const seedLike = (name: string, spec: InputSpec) =>
    defineNode({ name, category: 't', description: '', inputs: { required: { [name === 'NoFlag' ? 'noise_seed' : 'seed']: spec, steps: { kind: 'INT' } } }, outputs: [], run: () => ({ outputs: [] }) }) as unknown as NodeDefinition;
  const local: NodeRegistry = new Map([
    ['NoFlag', seedLike('NoFlag', { kind: 'INT' })],
    ['FlagFalse', seedLike('FlagFalse', { kind: 'SEED', controlAfterGenerate: false })],
    ['ComboFlag', defineNode({ name: 'ComboFlag', category: 't', description: '', inputs: { required: { pick: { kind: 'COMBO', options: ['a', 'b'], controlAfterGenerate: true }, steps: { kind: 'INT' } } }, outputs: [], run: () => ({ outputs: [] }) }) as unknown as NodeDefinition],
    ['TestMix', registry.get('TestMix')!],
  ]);
  const wf = tinyWorkflow([
    { id: 1, type: 'NoFlag', widgets_values: [5, 'fixed', 10] },
    { id: 2, type: 'FlagFalse', widgets_values: [5, 10] },
    { id: 3, type: 'ComboFlag', widgets_values: ['b', 'increment-wrap', 10] },
    // TestMix: flag is a BOOLEAN widget, scale is forceInput, so widgets_values is [flag] only.
    { id: 4, type: 'TestMix', widgets_values: [true, 'ignored extra'] },
  ], []);
  const prompt = workflowToPrompt(wf, local);
  assert.deepEqual(prompt['1'].inputs, { noise_seed: 5, steps: 10 });
  assert.deepEqual(prompt['2'].inputs, { seed: 5, steps: 10 });
  assert.deepEqual(prompt['3'].inputs, { pick: 'b', steps: 10 });
  assert.deepEqual(prompt['4'].inputs, { flag: true });
});

test('widgets without a saved value take their declared default, as the editor sends them; a list value is wrapped in __value__', () => {
  const wf = tinyWorkflow([{ id: 1, type: 'ImageScale', widgets_values: [['a', 'b'], 10] }], []);
  // ImageScale's height defaults to 512 and crop (a list without default) to its first option.
  assert.deepEqual(workflowToPrompt(wf, registry)['1'].inputs, { upscale_method: { __value__: ['a', 'b'] }, width: 10, height: 512, crop: 'disabled' });
});

test('a node saved without widgets_values (the frontend\'s default workflow) gets every declared default', () => {
  const wf = tinyWorkflow([{ id: 9, type: 'SaveImage', inputs: [{ name: 'images', type: 'IMAGE', link: null }] }, { id: 5, type: 'EmptyLatentImage' }], []);
  const prompt = workflowToPrompt(wf, registry);
  assert.deepEqual(prompt['9'].inputs, { filename_prefix: 'ComfyUI' });
  assert.deepEqual(prompt['5'].inputs, { width: 512, height: 512, batch_size: 1 });
});

test('bypass prefers the input at the same index, then the first input of matching type', () => {
  const wf = tinyWorkflow(
    [
      { id: 1, type: 'TestInt', widgets_values: [1], outputs: [{ type: 'INT', links: [1] }] },
      { id: 2, type: 'ImageScale', widgets_values: ['area', 1, 1, 'center'], outputs: [{ type: 'IMAGE', links: [2] }] },
      { id: 3, type: 'TestMix', mode: 4, inputs: [{ name: 'value', type: 'FLOAT,INT', link: 1 }, { name: 'anything', type: 'IMAGE', link: 2 }], outputs: [{ name: 'result', type: 'IMAGE', links: [3] }] },
      { id: 4, type: 'TestSink', inputs: [{ name: 'value', type: '*', link: 3 }] },
      { id: 5, type: 'TestMix', mode: 4, inputs: [{ name: 'value', type: 'FLOAT,INT', link: null }], outputs: [{ name: 'result', type: 'FLOAT,INT', links: [4] }] },
      { id: 6, type: 'TestSink', inputs: [{ name: 'value', type: '*', link: 4 }] },
    ],
    [[1, 1, 0, 3, 0, 'INT'], [2, 2, 0, 3, 1, 'IMAGE'], [3, 3, 0, 4, 0, 'IMAGE'], [4, 5, 0, 6, 0, 'INT']],
  );
  const prompt = workflowToPrompt(wf, registry);
  assert.deepEqual(prompt['4'].inputs, { value: ['2', 0] });
  assert.equal(prompt['3'], undefined);
  // The bypassed node's matching input is unconnected: the consumer's input is dropped.
  assert.deepEqual(prompt['6'].inputs, {});
});

test('bypassing a node with two inputs of one type keeps each output on its own input', () => {
  const wf = tinyWorkflow(
    [
      { id: 1, type: 'CLIPTextEncode', widgets_values: ['pos'], outputs: [{ type: 'CONDITIONING', links: [1] }] },
      { id: 2, type: 'CLIPTextEncode', widgets_values: ['neg'], outputs: [{ type: 'CONDITIONING', links: [2] }] },
      { id: 3, type: 'ControlNetApplyAdvanced', mode: 4,
        inputs: [{ name: 'positive', type: 'CONDITIONING', link: 1 }, { name: 'negative', type: 'CONDITIONING', link: 2 }, { name: 'control_net', type: 'CONTROL_NET', link: null }],
        outputs: [{ name: 'positive', type: 'CONDITIONING', links: [3] }, { name: 'negative', type: 'CONDITIONING', links: [4] }] },
      { id: 4, type: 'KSampler', inputs: [{ name: 'positive', type: 'CONDITIONING', link: 3 }, { name: 'negative', type: 'CONDITIONING', link: 4 }] },
    ],
    [[1, 1, 0, 3, 0, 'CONDITIONING'], [2, 2, 0, 3, 1, 'CONDITIONING'], [3, 3, 0, 4, 0, 'CONDITIONING'], [4, 3, 1, 4, 1, 'CONDITIONING']],
  );
  const { positive, negative } = workflowToPrompt(wf, registry)['4'].inputs;
  assert.deepEqual({ positive, negative }, { positive: ['1', 0], negative: ['2', 0] });
});

test('malformed workflows throw WorkflowError naming node, input and link', () => {
  const danglingLink = tinyWorkflow([{ id: 9, type: 'SaveImage', inputs: [{ name: 'images', type: 'IMAGE', link: 12 }] }], []);
  assert.throws(() => workflowToPrompt(danglingLink, registry), (e: unknown) =>
    e instanceof WorkflowError && /node 9 \(SaveImage\): input 'images' uses link 12, which is not in the workflow's links/.test(e.message));
  const missingOrigin = tinyWorkflow([{ id: 9, type: 'SaveImage', inputs: [{ name: 'images', type: 'IMAGE', link: 1 }] }], [[1, 99, 0, 9, 0, 'IMAGE']]);
  assert.throws(() => workflowToPrompt(missingOrigin, registry), /from node 99, which is not in the workflow/);
  const duplicate = tinyWorkflow([{ id: 1, type: 'TestInt' }, { id: 1, type: 'TestInt' }], []);
  assert.throws(() => workflowToPrompt(duplicate, registry), /node id 1 is used by more than one node/);
  const rerouteLoop = tinyWorkflow(
    [
      { id: 1, type: 'Reroute', inputs: [{ name: '', type: '*', link: 2 }], outputs: [{ type: '*', links: [1, 3] }] },
      { id: 2, type: 'Reroute', inputs: [{ name: '', type: '*', link: 1 }], outputs: [{ type: '*', links: [2] }] },
      { id: 3, type: 'TestSink', inputs: [{ name: 'value', type: '*', link: 3 }] },
    ],
    [[1, 1, 0, 2, 0, '*'], [2, 2, 0, 1, 0, '*'], [3, 1, 0, 3, 0, '*']],
  );
  assert.throws(() => workflowToPrompt(rerouteLoop, registry), /form a loop/);
});

test('shape errors name the node and field', () => {
  const badLink = tinyWorkflow([{ id: 7, type: 'KSampler', inputs: [{ name: 'model', link: 'x' }] }], []);
  assert.throws(() => workflowToPrompt(badLink, registry), /node 7 \(KSampler\): inputs\[0\]\.link must be integer,null/);
  const badSize = tinyWorkflow([{ id: 7, type: 'KSampler', size: 'big' }], []);
  assert.throws(() => workflowToPrompt(badSize, registry), /node 7 \(KSampler\): size must be \[width, height\]/);
  assert.throws(() => workflowToPrompt([], registry), /workflow must be a JSON object, not an array/);
  const hugeTitle = tinyWorkflow([{ id: 3, type: 'TestInt', widgets_values: ['x'.repeat(1_000_001)] }], []);
  assert.throws(() => workflowToPrompt(hugeTitle, registry), /node 3 \(TestInt\): widgets_values\[0\] is a string of 1000001 characters/);
});

test('detectWorkflowFormat and loadWorkflow accept both formats', () => {
  const ui = fixture('txt2img-default.json');
  const api = fixture('txt2img-default.api.json');
  assert.equal(detectWorkflowFormat(ui), 'ui');
  assert.equal(detectWorkflowFormat(api), 'api');
  assert.deepEqual(loadWorkflow(ui, registry, TEST_ENV), api);
  assert.equal(loadWorkflow(api, registry, TEST_ENV), api);
  assert.throws(() => loadWorkflow({ 3: { inputs: {} } }, registry), /node 3 must have required property 'class_type'/);
});

test("the frontend's default graph (SaveImage saved without widgets_values) no longer misses filename_prefix", async () => {
  const result = await validatePrompt(workflowToPrompt(fixture('frontend-default.json'), registry, TEST_ENV), registry, TEST_ENV);
  const text = JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
  assert.doesNotMatch(text, /required_input_missing/);
  // Its checkpoint is not among the test registry's files: the only problem left.
  assert.match(text, /value_not_in_list/);
});
