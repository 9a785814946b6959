// --set values written back into a UI workflow: converting the changed workflow gives the prompt
// that ran, for a saved widget, a socket-linked widget and a short widgets_values list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseJson } from './json.ts';
import { registryLookup, workflowToPrompt } from './workflow-to-prompt.ts';
import { setWorkflowInput } from './workflow-set-input.ts';
import { testRegistry, TEST_ENV } from './test-registry.ts';

const registry = testRegistry();
const lookup = registryLookup(registry, TEST_ENV);
const fixture = (name: string) => parseJson(readFileSync(new URL(`../../test/fixtures/workflows/${name}`, import.meta.url), 'utf8'));

test('a widget value set after conversion is written where the editor reads it back', () => {
  const workflow = fixture('txt2img-default.json');
  const expected = workflowToPrompt(workflow, registry, TEST_ENV);
  const sets: [string, string, unknown][] = [['3', 'seed', 18446744073709551615n], ['3', 'steps', 4], ['5', 'width', 64], ['9', 'filename_prefix', 'run']];
  for (const [id, input, value] of sets) {
    assert.equal(setWorkflowInput(workflow, id, input, value, lookup(expected[id].class_type)), true);
    expected[id].inputs[input] = value as never;
  }
  assert.deepEqual(workflowToPrompt(workflow, registry, TEST_ENV), expected);
  const sampler = (workflow as { nodes: { id: number; widgets_values: unknown[] }[] }).nodes.find((n) => n.id === 3)!;
  assert.deepEqual(sampler.widgets_values.slice(0, 3), [18446744073709551615n, 'randomize', 4], 'the control value stays in its slot');
});

test('a widget fed by a primitive is disconnected so the set value wins; short lists are filled', () => {
  const workflow = fixture('primitive.json');
  const prompt = workflowToPrompt(workflow, registry, TEST_ENV);
  assert.equal(setWorkflowInput(workflow, '3', 'seed', 5, lookup('KSampler')), true);
  assert.equal(workflowToPrompt(workflow, registry, TEST_ENV)['3'].inputs.seed, 5);
  assert.notEqual(prompt['3'].inputs.seed, 5);

  const short = { version: 0.4, nodes: [{ id: 1, type: 'EmptyLatentImage', widgets_values: [] }], links: [] };
  assert.equal(setWorkflowInput(short, '1', 'height', 64, lookup('EmptyLatentImage')), true);
  assert.deepEqual(short.nodes[0].widgets_values, [512, 64]);
});

test('what a workflow cannot say is refused: inner nodes, socket inputs, links, unknown nodes', () => {
  const workflow = fixture('subgraph-nested.json');
  assert.equal(setWorkflowInput(workflow, '10:3', 'steps', 4, lookup('KSampler')), false);
  assert.equal(setWorkflowInput(workflow, '9', 'images', 1, lookup('SaveImage')), false);
  assert.equal(setWorkflowInput(workflow, '9', 'filename_prefix', ['4', 0], lookup('SaveImage')), false);
  assert.equal(setWorkflowInput(workflow, '9', 'filename_prefix', 'x', undefined), false);
});
