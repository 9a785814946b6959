import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closestName, didYouMean, editDistance } from './did-you-mean.ts';

test('edit distance', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('stepz', 'steps'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('CFG', 'cfg'), 0);
});

test('the closest name when it looks like a typo, nothing for an unrelated word', () => {
  const inputs = ['seed', 'steps', 'cfg', 'sampler_name', 'scheduler', 'denoise'];
  assert.equal(closestName('stepz', inputs), 'steps');
  assert.equal(closestName('denoize', inputs), 'denoise');
  assert.equal(closestName('width', inputs), undefined);
  assert.equal(didYouMean('schedular', inputs), ' (did you mean "scheduler"?)');
  assert.equal(didYouMean('zzzzzz', inputs), '');
});
