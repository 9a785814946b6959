// Subgraph and group node expansion on small graphs: the boundary rules the fixture files
// (subgraph-nested.json, group-node.json) do not reach — mute and bypass of an instance, values
// that fall back to the inner widget, pass-through outputs, self-reference and size limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workflowToPrompt } from './workflow-to-prompt.ts';
import { MAX_EXPANDED_NODES } from './workflow-expand.ts';
import { WorkflowError } from './workflow-types.ts';
import { testRegistry } from './test-registry.ts';

const registry = testRegistry();
const SUB = '0c0c0c0c-1111-4222-8333-444444444444';

/** TestInt (1) → instance (2) of a subgraph holding TestInt (5) and a pass-through, → TestSink (3, 4). */
function workflow(instance: Record<string, unknown>, subgraph: Record<string, unknown> = {}): unknown {
  return {
    version: 0.4,
    nodes: [
      { id: 1, type: 'TestInt', widgets_values: [7], outputs: [{ name: 'INT', type: 'INT', links: [1] }] },
      {
        id: 2, type: SUB, mode: 0,
        inputs: [{ name: 'value', type: 'INT', widget: { name: 'value' }, link: null }, { name: 'through', type: 'INT', link: 1 }],
        outputs: [{ name: 'INT', type: 'INT', links: [2] }, { name: 'through', type: 'INT', links: [3] }],
        widgets_values: [42],
        ...instance,
      },
      { id: 3, type: 'TestSink', inputs: [{ name: 'value', type: '*', link: 2 }] },
      { id: 4, type: 'TestSink', inputs: [{ name: 'value', type: '*', link: 3 }] },
    ],
    links: [[1, 1, 0, 2, 1, 'INT'], [2, 2, 0, 3, 0, 'INT'], [3, 2, 1, 4, 0, 'INT']],
    definitions: {
      subgraphs: [{
        id: SUB, name: 'Inner',
        inputs: [{ name: 'value', type: 'INT' }, { name: 'through', type: 'INT' }],
        outputs: [{ name: 'INT', type: 'INT' }, { name: 'through', type: 'INT' }],
        nodes: [{ id: 5, type: 'TestInt', inputs: [{ name: 'value', type: 'INT', widget: { name: 'value' }, link: 1 }], outputs: [{ name: 'INT', type: 'INT', links: [2] }], widgets_values: [3] }],
        links: [
          { id: 1, origin_id: -10, origin_slot: 0, target_id: 5, target_slot: 0, type: 'INT' },
          { id: 2, origin_id: 5, origin_slot: 0, target_id: -20, target_slot: 0, type: 'INT' },
          { id: 3, origin_id: -10, origin_slot: 1, target_id: -20, target_slot: 1, type: 'INT' },
        ],
        ...subgraph,
      }],
    },
  };
}

test('subgraph: a promoted widget takes the instance value; an input wired to an output passes straight through', () => {
  const prompt = workflowToPrompt(workflow({}), registry);
  assert.deepEqual(prompt['2:5'].inputs, { value: 42 });
  assert.deepEqual(prompt['3'].inputs, { value: ['2:5', 0] });
  assert.deepEqual(prompt['4'].inputs, { value: ['1', 0] });
  assert.deepEqual(Object.keys(prompt).sort(), ['1', '2:5', '3', '4']);
});

test('subgraph: without an instance value the inner widget keeps its own', () => {
  const prompt = workflowToPrompt(workflow({ widgets_values: [] }), registry);
  assert.deepEqual(prompt['2:5'].inputs, { value: 3 });
});

test('subgraph: a muted instance runs nothing inside; a bypassed one passes its inputs through', () => {
  const muted = workflowToPrompt(workflow({ mode: 2 }), registry);
  assert.deepEqual(Object.keys(muted).sort(), ['1', '3', '4']);
  assert.deepEqual(muted['4'].inputs, {});
  const bypassed = workflowToPrompt(workflow({ mode: 4 }), registry);
  assert.equal(bypassed['2:5'], undefined);
  assert.deepEqual(bypassed['4'].inputs, { value: ['1', 0] });
});

test('subgraph: a definition containing itself, and one that expands too far, are refused', () => {
  const selfNested = workflow({}, {
    nodes: [{ id: 5, type: SUB, inputs: [], outputs: [] }],
    links: [],
  });
  assert.throws(() => workflowToPrompt(selfNested, registry), (e: unknown) => e instanceof WorkflowError && /contains an instance of itself/.test(e.message));
  const many = Array.from({ length: MAX_EXPANDED_NODES + 1 }, (_, i) => ({ id: 100 + i, type: 'TestInt', widgets_values: [1] }));
  assert.throws(() => workflowToPrompt(workflow({}, { nodes: many, links: [] }), registry), /expands into more than/);
});

test('subgraph: a malformed definition is a WorkflowError naming it', () => {
  const bad = workflow({}, { links: [{ id: 'x' }] });
  assert.throws(() => workflowToPrompt(bad, registry), (e: unknown) => e instanceof WorkflowError && /definitions\.subgraphs\[0\]\.links\[0\]/.test(e.message));
});

test('group node: the older "workflow/name" type expands like "workflow>name"', () => {
  const wf = {
    version: 0.4,
    nodes: [
      { id: 7, type: 'workflow/Two ints', outputs: [{ name: 'INT', type: 'INT', links: [1] }], widgets_values: [11, 12] },
      { id: 8, type: 'TestSink', inputs: [{ name: 'value', type: '*', link: 1 }] },
    ],
    links: [[1, 7, 1, 8, 0, 'INT']],
    extra: { groupNodes: { 'Two ints': { nodes: [{ id: 1, type: 'TestInt', widgets_values: [1] }, { id: 2, type: 'TestInt', widgets_values: [2] }], links: [] } } },
  };
  const prompt = workflowToPrompt(wf, registry);
  assert.deepEqual(prompt['7:0'].inputs, { value: 11 });
  assert.deepEqual(prompt['7:1'].inputs, { value: 12 });
  assert.deepEqual(prompt['8'].inputs, { value: ['7:1', 0] }, 'group output 1 is the second inner node\'s output');
});
