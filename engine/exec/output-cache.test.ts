// Cache modes between prompts (comfyui-api.md §6.5).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOutputCache } from './output-cache.ts';

const entry = (n: number) => ({ outputs: [[n]] });

describe('output cache', () => {
  it('classic keeps only the signatures of the new prompt', () => {
    const cache = createOutputCache({ mode: 'classic' });
    cache.set('a', entry(1));
    cache.set('b', entry(2));
    cache.beginPrompt(new Set(['b', 'c']));
    assert.equal(cache.get('a'), undefined);
    assert.deepEqual(cache.get('b'), entry(2));
  });

  it('lru evicts the least recently used entries, never those of the running prompt', () => {
    const cache = createOutputCache({ mode: 'lru', lruSize: 2 });
    cache.beginPrompt(new Set());
    cache.set('a', entry(1));
    cache.set('b', entry(2));
    cache.get('a');
    cache.set('c', entry(3));
    assert.equal(cache.get('b'), undefined, 'b was least recently used');
    assert.ok(cache.get('a') && cache.get('c'));
    cache.beginPrompt(new Set(['x', 'y', 'z']));
    cache.set('x', entry(4));
    cache.set('y', entry(5));
    cache.set('z', entry(6));
    assert.equal(cache.size, 3, 'the running prompt may exceed the size');
    assert.ok(cache.get('x') && cache.get('y') && cache.get('z'));
    cache.beginPrompt(new Set(['z']));
    assert.equal(cache.size, 2);
    assert.ok(cache.get('z'));
  });

  it('lru needs a size', () => {
    assert.throws(() => createOutputCache({ mode: 'lru' }), /needs lruSize/);
  });

  it('none stores nothing', () => {
    const cache = createOutputCache({ mode: 'none' });
    cache.set('a', entry(1));
    assert.equal(cache.get('a'), undefined);
  });
});
