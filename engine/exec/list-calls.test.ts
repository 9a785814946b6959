// List semantics helpers (comfyui-api.md §6.4).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeResults, splitCalls } from './list-calls.ts';

describe('splitCalls', () => {
  it('calls once per index, repeating the last element of shorter lists', () => {
    assert.deepEqual(splitCalls({ a: [1, 2, 3], b: ['x'] }, false), [
      { a: 1, b: 'x' },
      { a: 2, b: 'x' },
      { a: 3, b: 'x' },
    ]);
  });

  it('calls once for a node without inputs, and once with whole lists for inputIsList', () => {
    assert.deepEqual(splitCalls({}, false), [{}]);
    assert.deepEqual(splitCalls({ a: [1, 2] }, true), [{ a: [1, 2] }]);
  });

  it('rejects an empty list with a message naming the input', () => {
    assert.throws(() => splitCalls({ images: [] }, false), /input "images" received an empty list/);
  });
});

describe('mergeResults', () => {
  const specs = [{ type: 'INT' }, { type: 'INT', isList: true }];

  it('collects plain slots per call and concatenates list slots', () => {
    const merged = mergeResults([{ outputs: [1, [10, 11]] }, { outputs: [2, [12]] }], specs);
    assert.deepEqual(merged.outputs, [[1, 2], [10, 11, 12]]);
    assert.equal(merged.ui, undefined);
  });

  it('merges UI key by key', () => {
    const merged = mergeResults(
      [{ outputs: [1, []], ui: { images: ['a'] } }, { outputs: [2, []], ui: { images: ['b'], text: ['t'] } }],
      specs,
    );
    assert.deepEqual(merged.ui, { images: ['a', 'b'], text: ['t'] });
  });

  it('names what is wrong with a malformed result', () => {
    assert.throws(() => mergeResults([{ outputs: [1] }], specs), /returned 1 outputs but the node declares 2/);
    assert.throws(() => mergeResults([{ outputs: [1, 5] }], specs), /declared as a list but call 0 returned number/);
    assert.throws(() => mergeResults([undefined as never], specs), /returned undefined instead of \{outputs/);
  });
});
