import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unknownInputs } from './unknown-inputs.ts';
import { testRegistry } from './test-registry.ts';

test('inputs a node does not declare are named, with the likely intended one', () => {
  const registry = testRegistry();
  const [name, definition] = [...registry.entries()].find(([, d]) => Object.keys(d.inputs.required ?? {}).length > 0)!;
  const declared = Object.keys(definition.inputs.required ?? {});
  const typo = `${declared[0]}x`;
  const found = unknownInputs({ '1': { class_type: name, inputs: { [declared[0]]: 1, [typo]: 2, zzzzzzzzzz: 3 } }, '2': { class_type: 'NoSuchNode', inputs: { a: 1 } } }, registry);
  assert.deepEqual(found.map((f) => [f.nodeId, f.input]), [['1', typo], ['1', 'zzzzzzzzzz']]);
  assert.match(found[0].message, new RegExp(`has no input "${typo}" \\(did you mean "${declared[0]}"\\?\\)`));
  assert.doesNotMatch(found[1].message, /did you mean/);
});
