// Issue #12 item 10: "image: 'example.png' not in []" did not say which folder was empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineNode, type NodeDefinition } from './node-definition.ts';
import { validatePrompt } from './validate.ts';
import { TEST_ENV } from './test-registry.ts';

function registryWith(files: string[]) {
  const load = defineNode({
    name: 'LoadThing', displayName: 'Load Thing', category: 'test', description: 'test',
    inputs: { required: { image: { kind: 'COMBO', options: () => [...files], source: (env) => `the input folder ${env.folders.input}` } } },
    outputs: [], outputNode: true,
    run: () => ({ outputs: [] }),
  });
  return new Map([[load.name, load as unknown as NodeDefinition]]);
}

test('a value missing from an empty folder names the folder searched', async () => {
  const result = await validatePrompt({ '1': { class_type: 'LoadThing', inputs: { image: 'example.png' } } }, registryWith([]), TEST_ENV);
  assert.equal(result.ok, false);
  const details = result.node_errors['1'].errors[0].details;
  assert.equal(details, "image: 'example.png' not in [] (no matching files in the input folder /tmp/in)");
});

test('a value missing from a non-empty folder names it too, after ComfyUI\'s text', async () => {
  const result = await validatePrompt({ '1': { class_type: 'LoadThing', inputs: { image: 'b.png' } } }, registryWith(['a.png']), TEST_ENV);
  assert.match(result.node_errors['1'].errors[0].details, /^image: 'b\.png' not in \['a\.png'\] \(listed from the input folder \/tmp\/in\)$/);
});
