// Prompt/workflow shape checks: readable messages naming node and field, limits without recursion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPromptShape, findLimitProblem, parseWorkflow } from './schemas.ts';
import { WorkflowError } from './workflow-types.ts';

test('prompt shape errors name the node, its class and the field', () => {
  assert.deepEqual(checkPromptShape({ 3: { class_type: 'KSampler', inputs: [] } }), ['node 3 (KSampler): inputs must be object']);
  assert.deepEqual(checkPromptShape({ 3: { class_type: 'KSampler' } }), ["node 3 (KSampler) must have required property 'inputs'"]);
  assert.deepEqual(checkPromptShape({ 3: { class_type: 'KSampler', inputs: {}, extra: 1, _meta: { title: 'x', more: true } } }), []);
  assert.deepEqual(checkPromptShape('x'), ['prompt must be a JSON object mapping node ids to nodes, not a string']);
});

test('limits: long strings anywhere and deep nesting, with the path', () => {
  const prompt = { 6: { class_type: 'CLIPTextEncode', inputs: { text: { __value__: ['ok', 'y'.repeat(11)] } } } };
  assert.deepEqual(checkPromptShape(prompt, { maxStringLength: 10 }), [
    'node 6 (CLIPTextEncode): inputs.text.__value__[1] is a string of 11 characters, longer than the limit of 10; shorten it',
  ]);
  let deep: unknown = 1;
  for (let i = 0; i < 1_000_000; i++) deep = [deep];
  assert.match(findLimitProblem(deep)!.problem, /nested more than 64 levels deep/);
  assert.equal(findLimitProblem({ a: [1, 'abc'] }, { maxStringLength: 3 }), null);
});

test('workflow: both size forms, int or string ids, links with extra entries', () => {
  const wf = {
    nodes: [
      { id: 1, type: 'A', size: [1, 2], widgets_values: { x: 1 } },
      { id: 'group-1', type: 'B', size: { 0: 1, 1: 2 }, inputs: [{ name: 'a', link: null, widget: { name: 'a' } }], outputs: [{ links: null }] },
    ],
    links: [[1, 1, 0, 'group-1', 0, 'IMAGE', { extra: true }]],
    version: 0.4,
  };
  assert.equal(parseWorkflow(wf), wf);
});

test('workflow errors list every problem, each naming the node', () => {
  const wf = { nodes: [{ id: 7, type: 'KSampler', mode: 'on' }, { id: 8 }], links: [[1, 2]] };
  assert.throws(() => parseWorkflow(wf), (e: unknown) => {
    assert.ok(e instanceof WorkflowError);
    assert.deepEqual(e.problems, ['node 7 (KSampler): mode must be integer', "node 8 must have required property 'type'", 'links[0] must NOT have fewer than 5 items']);
    return true;
  });
  assert.throws(() => parseWorkflow({ version: 1, nodes: [], links: [{ id: 1 }] }), /links\[0\] must have required property 'origin_id'/);
});
