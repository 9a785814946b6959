// Input signatures: what changes a node's cache key and what must not (comfyui-api.md §6.5).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiPrompt } from '../graph/index.ts';
import { canonicalJson, computeSignatures } from './cache-key.ts';

const none = new Map<string, unknown>();
const sign = (prompt: ApiPrompt, fingerprints = none, idBoundNodes?: Set<string>) => computeSignatures({ prompt, fingerprints, idBoundNodes });

const chain = (value: unknown = 5, ids = ['1', '2', '3']): ApiPrompt => ({
  [ids[0]]: { class_type: 'Const', inputs: { value: value as number } },
  [ids[1]]: { class_type: 'Scale', inputs: { x: [ids[0], 0], factor: 2 } },
  [ids[2]]: { class_type: 'Show', inputs: { value: [ids[1], 0] } },
});

describe('computeSignatures', () => {
  it('ignores node ids and the order of inputs', () => {
    const a = sign(chain());
    const renumbered = chain(5, ['7', '12', '40']);
    renumbered['12'].inputs = { factor: 2, x: ['7', 0] };
    const b = sign(renumbered);
    assert.deepEqual([a.get('1'), a.get('2'), a.get('3')], [b.get('7'), b.get('12'), b.get('40')]);
    assert.equal(new Set(a.values()).size, 3);
  });

  it('changes a node and everything downstream when a constant changes, nothing upstream', () => {
    const a = sign(chain(5));
    const prompt = chain(5);
    prompt['2'].inputs.factor = 3;
    const b = sign(prompt);
    assert.equal(a.get('1'), b.get('1'));
    assert.notEqual(a.get('2'), b.get('2'));
    assert.notEqual(a.get('3'), b.get('3'));
  });

  it('depends on the class, the link slot and the fingerprint', () => {
    const base = sign(chain()).get('3');
    const otherClass = chain();
    otherClass['3'].class_type = 'Preview';
    assert.notEqual(sign(otherClass).get('3'), base);
    const otherSlot = chain();
    otherSlot['3'].inputs.value = ['2', 1];
    assert.notEqual(sign(otherSlot).get('3'), base);
    const fp1 = sign(chain(), new Map([['1', 'sha-a']])).get('3');
    const fp2 = sign(chain(), new Map([['1', 'sha-b']])).get('3');
    assert.notEqual(fp1, fp2);
    assert.notEqual(fp1, base);
    assert.equal(sign(chain(), new Map([['1', 'sha-a']])).get('3'), fp1);
  });

  it('tells numbers, bigints and strings apart and keeps big seeds exact', () => {
    const values = [1, 1n, '1', 2n ** 64n - 1n, 2n ** 64n - 2n, true];
    const keys = values.map((v) => sign(chain(v)).get('1'));
    assert.equal(new Set(keys).size, values.length);
    assert.equal(sign(chain(2n ** 64n - 1n)).get('1'), keys[3]);
  });

  it('makes a NaN fingerprint and its downstream uncacheable (null)', () => {
    const s = sign(chain(), new Map([['2', Number.NaN]]));
    assert.notEqual(s.get('1'), null);
    assert.equal(s.get('2'), null);
    assert.equal(s.get('3'), null);
    assert.equal(sign(chain(), new Map([['2', { nested: [Number.NaN] }]])).get('2'), null);
  });

  it('includes the node id only for id-bound nodes (UNIQUE_ID)', () => {
    const a = sign(chain(5), none, new Set(['1']));
    const b = sign(chain(5, ['9', '2', '3']), none, new Set(['9']));
    assert.notEqual(a.get('1'), b.get('9'));
    assert.notEqual(a.get('3'), b.get('3'));
  });

  it('gives null, not an exception, for broken unreachable parts: missing upstream, cycles', () => {
    const prompt: ApiPrompt = {
      ...chain(),
      '8': { class_type: 'Show', inputs: { value: ['99', 0] } },
      '10': { class_type: 'Add', inputs: { a: ['11', 0], b: ['1', 0] } },
      '11': { class_type: 'Add', inputs: { a: ['10', 0], b: ['1', 0] } },
    };
    const s = sign(prompt);
    assert.equal(s.get('8'), null);
    assert.equal(s.get('10'), null);
    assert.equal(s.get('11'), null);
    assert.equal(s.get('3'), sign(chain()).get('3'));
  });

  it('gives null for constants it cannot encode stably', () => {
    const prompt = chain();
    prompt['1'].inputs.value = new Date(0) as unknown as number;
    assert.equal(sign(prompt).get('1'), null);
  });
});

describe('canonicalJson', () => {
  it('sorts object keys and tags non-JSON values', () => {
    assert.equal(canonicalJson({ b: 1, a: [2, undefined] }), canonicalJson({ a: [2, undefined], b: 1 }));
    assert.notEqual(canonicalJson([Infinity]), canonicalJson([null]));
    assert.notEqual(canonicalJson(new Uint8Array([1, 2])), canonicalJson([1, 2]));
    assert.equal(canonicalJson(new Uint8Array([1, 2])), canonicalJson(Buffer.from([1, 2])));
  });
});

describe('computeSignatures with hostile ids', () => {
  it('does not mistake Object.prototype names for nodes', () => {
    const prompt: ApiPrompt = { '1': { class_type: 'Show', inputs: { value: ['toString', 0] } } };
    assert.equal(sign(prompt).get('1'), null);
  });
});
