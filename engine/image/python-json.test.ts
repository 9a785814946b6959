import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toPythonJson, pythonFloatRepr } from './python-json.ts';

test('a typical API prompt prints as Python json.dumps would, bigint seeds exact', () => {
  const prompt = {
    '3': {
      inputs: { seed: 18446744073709551615n, steps: 20, cfg: 8, sampler_name: 'euler', denoise: 1, model: ['4', 0] },
      class_type: 'KSampler',
      _meta: { title: 'KSampler' },
    },
    '6': { inputs: { text: 'a photo, "best"\n', clip: ['4', 1] }, class_type: 'CLIPTextEncode' },
  };
  const floats = new Set(['3/inputs/cfg', '3/inputs/denoise']);
  const text = toPythonJson(prompt, { isFloat: (path) => floats.has(path.join('/')) });
  assert.equal(
    text,
    '{"3": {"inputs": {"seed": 18446744073709551615, "steps": 20, "cfg": 8.0, "sampler_name": "euler", "denoise": 1.0, "model": ["4", 0]}, ' +
      '"class_type": "KSampler", "_meta": {"title": "KSampler"}}, ' +
      '"6": {"inputs": {"text": "a photo, \\"best\\"\\n", "clip": ["4", 1]}, "class_type": "CLIPTextEncode"}}',
  );
  // Without the hint, integral numbers print as Python ints.
  assert.match(toPythonJson(prompt), /"cfg": 8, /);
});

test('floats use Python repr: exponent form below 1e-4 and from 1e16, two exponent digits', () => {
  const cases: Array<[number, string]> = [
    [0.1, '0.1'],
    [2.5, '2.5'],
    [7.5, '7.5'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [123456789012345.6, '123456789012345.6'],
    [1e16, '1e+16'],
    [1.2345678901234567e16, '1.2345678901234568e+16'],
    [1e100, '1e+100'],
    [-0.5, '-0.5'],
    [-0, '-0.0'],
    [100, '100.0'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [5e-324, '5e-324'],
  ];
  for (const [value, expected] of cases) assert.equal(pythonFloatRepr(value), expected, String(value));
  assert.equal(toPythonJson([0.1, 1e-7, 3]), '[0.1, 1e-07, 3]');
});

test('large integral numbers print all digits like Python ints', () => {
  assert.equal(toPythonJson(1e22), '10000000000000000000000');
  assert.equal(toPythonJson(-0), '0');
  assert.equal(toPythonJson(123456789n * 10n ** 30n), '123456789000000000000000000000000000000');
});

test('strings escape every non-printable-ASCII character as lowercase \\uXXXX (ensure_ascii)', () => {
  assert.equal(toPythonJson('h\u00e9 \u2603 \u{1F600}\t\r\b\f\\/\u007f\u0001'), '"h\\u00e9 \\u2603 \\ud83d\\ude00\\t\\r\\b\\f\\\\/\\u007f\\u0001"');
  assert.equal(toPythonJson({ 'k\u00e9y': 'v' }), '{"k\\u00e9y": "v"}');
});

test('containers, null, booleans and undefined entries', () => {
  assert.equal(toPythonJson({ a: [], b: {}, c: null, d: true, e: false, f: undefined, g: [undefined, 1] }), '{"a": [], "b": {}, "c": null, "d": true, "e": false, "g": [null, 1]}');
  assert.equal(toPythonJson('x'), '"x"');
});
