// validatePrompt ordering details: node_errors in completion order (deepest upstream first),
// dependent_outputs per output, async custom validators.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineNode, type NodeDefinition } from './node-definition.ts';
import { testRegistry, TEST_ENV } from './test-registry.ts';
import { validatePrompt } from './validate.ts';

test('node_errors list the deepest upstream node first and each failing output it blocks', async () => {
  const prompt = {
    src: { class_type: 'LoadImage', inputs: { image: 'missing.png' } },
    mid: { class_type: 'ImageScale', inputs: { image: ['src', 0], upscale_method: 'area', width: -1, height: 8, crop: 'center' } },
    outA: { class_type: 'SaveImage', inputs: { images: ['mid', 0], filename_prefix: 'a' } },
    outB: { class_type: 'SaveImage', inputs: { images: ['src', 0] } },
  };
  const result = await validatePrompt(prompt, testRegistry(), TEST_ENV);
  assert.equal(result.ok, false);
  assert.deepEqual(Object.keys(result.node_errors), ['src', 'mid', 'outB']);
  assert.deepEqual(result.node_errors.src.dependent_outputs, ['outA', 'outB']);
  assert.deepEqual(result.node_errors.mid.dependent_outputs, ['outA']);
  assert.deepEqual(result.node_errors.outB.dependent_outputs, ['outB']);
  assert.ok(!result.ok && result.error.details === 'Required input is missing: filename_prefix');
});

test('async custom validators are awaited and see only constant inputs', async () => {
  const seen: unknown[] = [];
  const registry = new Map(testRegistry());
  registry.set('AsyncCheck', defineNode({
    name: 'AsyncCheck', category: 't', description: '', outputNode: true, outputs: [],
    inputs: { required: { image: { kind: 'LINK', type: 'IMAGE' }, level: { kind: 'INT', min: 0, max: 1 } } },
    validate: {
      inputs: ['image', 'level'],
      check: async (inputs) => {
        seen.push({ ...inputs });
        await new Promise((resolve) => setTimeout(resolve, 1));
        return inputs.level === 5 ? true : 'level must be 5';
      },
    },
    run: () => ({ outputs: [] }),
  }) as unknown as NodeDefinition);
  const prompt = { 1: { class_type: 'LoadImage', inputs: { image: 'example.png' } }, 2: { class_type: 'AsyncCheck', inputs: { image: ['1', 0], level: '5' } } };
  const ok = await validatePrompt(prompt, registry, TEST_ENV);
  assert.equal(ok.ok, true, 'level 5 is above max 1, but the validator owns that input');
  assert.deepEqual(seen, [{ level: 5 }]);
  prompt[2].inputs.level = '4';
  const bad = await validatePrompt(prompt, registry, TEST_ENV);
  assert.deepEqual(bad.node_errors['2'].errors.map((e) => e.details), ['image - level must be 5', 'level - level must be 5']);
});
