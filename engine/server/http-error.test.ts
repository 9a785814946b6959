// The error → HTTP mapping: client mistakes are 4xx with a message, bugs are a generic 500.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonInputError } from '../graph/index.ts';
import { UnsafePathError } from '../files/index.ts';
import { HttpError, toHttp } from './http-error.ts';

test('known errors map to their status and message', () => {
  assert.deepEqual(toHttp(new HttpError(409, 'exists')), [409, { error: 'exists' }]);
  assert.deepEqual(toHttp(new HttpError(400, 'x', { error: { type: 'no_prompt' }, node_errors: {} })), [400, { error: { type: 'no_prompt' }, node_errors: {} }]);
  assert.equal(toHttp(new JsonInputError('Invalid JSON'))[0], 400);
  assert.equal(toHttp(new UnsafePathError('../a', 'it contains a ".." segment'))[0], 400);
  assert.deepEqual(toHttp(Object.assign(new Error('request entity too large'), { status: 413 })), [413, { error: 'request entity too large' }]);
});

test('a bug is a 500 without internals', () => {
  const [status, body] = toHttp(new TypeError('x is undefined'));
  assert.equal(status, 500);
  assert.doesNotMatch(JSON.stringify(body), /undefined/);
});
