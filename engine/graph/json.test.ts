// Lossless JSON: seeds beyond 2^53 keep their exact value both ways; bad input gets clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonInputError, parseJson, stringifyJson } from './json.ts';

test('integers beyond 2^53 parse to bigint and print back exactly', () => {
  const text = '{"seed":18446744073709551615,"small":9007199254740991,"big":9007199254740993,"neg":-12345678901234567890}';
  const value = parseJson(text) as Record<string, unknown>;
  assert.equal(value.seed, 18446744073709551615n);
  assert.equal(value.small, 9007199254740991);
  assert.equal(value.big, 9007199254740993n);
  assert.equal(value.neg, -12345678901234567890n);
  assert.equal(stringifyJson(value), text);
});

test('other numbers stay numbers; formatting options work', () => {
  assert.deepEqual(parseJson('[1.5, 1e3, -0.25, 2.0, 1e20]'), [1.5, 1000, -0.25, 2, 1e20]);
  assert.equal(stringifyJson({ a: [1, 2n] }, 2), '{\n  "a": [\n    1,\n    2\n  ]\n}');
});

test('duplicate keys keep the last value, as JSON.parse does', () => {
  assert.deepEqual(parseJson('{"a":1,"a":2}'), { a: 2 });
});

test('NaN, Infinity and out-of-range numbers are rejected with a clear error', () => {
  assert.throws(() => parseJson('{"cfg": NaN}'), (e: unknown) => e instanceof JsonInputError && /Invalid JSON/.test(e.message) && /NaN and Infinity are not valid JSON/.test(e.message));
  assert.throws(() => parseJson('[-Infinity]'), /NaN and Infinity are not valid JSON/);
  assert.throws(() => parseJson('[1e400]'), /1e400 is out of range/);
  assert.throws(() => parseJson('{"a":'), JsonInputError);
});

test('size guard and deep nesting', () => {
  assert.throws(() => parseJson('"' + 'x'.repeat(100) + '"', { maxBytes: 50 }), /more than the limit of 50 bytes/);
  assert.throws(() => parseJson('"ééé"', { maxBytes: 7 }), /JSON text is 8 bytes, more than the limit of 7 bytes/);
  assert.equal(parseJson('"ééé"', { maxBytes: 8 }), 'ééé');
  assert.throws(() => parseJson('['.repeat(200_000) + ']'.repeat(200_000)), /nested too deeply/);
  assert.throws(() => parseJson('{"a":'.repeat(257) + '1' + '}'.repeat(257)), /more than 256 levels/);
  assert.deepEqual(parseJson('['.repeat(256) + ']'.repeat(256)) !== undefined, true);
  // Brackets inside strings do not count.
  assert.deepEqual(parseJson(JSON.stringify({ text: '['.repeat(1000) })), { text: '['.repeat(1000) });
});

test('the fast native path and the lossless path agree; big integers anywhere take the lossless one', () => {
  const doc = { seed: 123456789012345, cfg: 7.5, neg: -0.001, exp: 1.5e-7, list: [1, 'a"\\b', null, true], nested: { k: [{}] } };
  assert.deepEqual(parseJson(JSON.stringify(doc)), doc);
  assert.deepEqual(parseJson('{"seed": 18446744073709551615}'), { seed: 18446744073709551615n });
  assert.deepEqual(parseJson('[12345678901234567, 1e5]'), [12345678901234567n, 100000]);
  assert.deepEqual(parseJson('{"s": "12345678901234567"}'), { s: '12345678901234567' });
});

test('stringifying NaN is a bug and throws', () => {
  assert.throws(() => stringifyJson({ x: Number.NaN }), /key "x" is NaN/);
});
