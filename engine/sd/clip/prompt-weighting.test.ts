// Tests for ComfyUI-style prompt weighting, 77-token chunking of long prompts and the weight formula.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyTokenWeights, chunkWeightedPrompt, parsePromptWeights, parsePythonFloat } from './prompt-weighting.ts';
import type { ChunkingTokenizer, WeightedChunks } from './prompt-weighting.ts';
import { loadTokenizer } from './tokenizer.ts';

const BOS = 49406;
const EOS = 49407;
const CAT = 2368; // 'cat</w>'
const DOG = 1929; // 'dog</w>'

test('parentheses multiply by 1.1 per level; (text:w) sets an absolute weight', () => {
  assert.deepEqual(parsePromptWeights('(masterpiece:1.2), best'), [
    { text: 'masterpiece', weight: 1.2 }, { text: ', best', weight: 1 }]);
  assert.deepEqual(parsePromptWeights('a (b) ((c))'), [
    { text: 'a ', weight: 1 }, { text: 'b', weight: 1.1 }, { text: ' ', weight: 1 }, { text: 'c', weight: 1.1 * 1.1 }]);
  assert.deepEqual(parsePromptWeights('((a:1.5))'), [{ text: 'a', weight: 1.5 }]);
  assert.deepEqual(parsePromptWeights('(a (b:2) c)'), [
    { text: 'a ', weight: 1.1 }, { text: 'b', weight: 2 }, { text: ' c', weight: 1.1 }]);
  assert.deepEqual(parsePromptWeights('(time: 12:30:0.5)'), [{ text: 'time: 12:30', weight: 0.5 }]); // last colon
  assert.deepEqual(parsePromptWeights('[blurry]'), [{ text: '[blurry]', weight: 1 }]); // no [] de-emphasis
  assert.deepEqual(parsePromptWeights(''), []);
});

test('a non-number after the colon keeps the 1.1 factor and the text', () => {
  assert.deepEqual(parsePromptWeights('(a:b)'), [{ text: 'a:b', weight: 1.1 }]);
  assert.deepEqual(parsePromptWeights('(:1.5)'), [{ text: ':1.5', weight: 1.1 }]); // colon at index 0
  assert.deepEqual(parsePromptWeights('( a : 1_0 )'), [{ text: ' a ', weight: 10 }]); // Python float()
  assert.throws(() => parsePromptWeights('(a:inf)'), /prompt weight 'inf' in '\(a:inf\)' is not a finite number/);
});

test('escaped parentheses are literal', () => {
  assert.deepEqual(parsePromptWeights('\\(a\\) (b)'), [{ text: '(a) ', weight: 1 }, { text: 'b', weight: 1.1 }]);
  assert.deepEqual(parsePromptWeights('(\\(a\\):0.5)'), [{ text: '(a)', weight: 0.5 }]);
});

test('unbalanced parentheses stay literal, as in ComfyUI, without throwing', () => {
  assert.deepEqual(parsePromptWeights('a (b'), [{ text: 'a ', weight: 1 }, { text: '(b', weight: 1 }]);
  assert.deepEqual(parsePromptWeights('a) b (c)'), [{ text: 'a) b (c)', weight: 1 }]);
  assert.deepEqual(parsePromptWeights('((a)'), [{ text: '(a', weight: 1.1 }]);
  assert.deepEqual(parsePromptWeights(')))((('), [{ text: ')))(((', weight: 1 }]);
});

test('parsePythonFloat accepts what float() accepts', () => {
  assert.equal(parsePythonFloat('1.2'), 1.2);
  assert.equal(parsePythonFloat(' -.5 '), -0.5);
  assert.equal(parsePythonFloat('1e-1'), 0.1);
  assert.equal(parsePythonFloat('3.'), 3);
  assert.equal(parsePythonFloat('Infinity'), Infinity);
  assert.ok(Number.isNaN(parsePythonFloat('nan')));
  for (const bad of ['', '.', '1..2', '0x10', '1_', 'a', '1 2']) assert.equal(parsePythonFloat(bad), undefined, bad);
});

function assertRowShape(result: Pick<WeightedChunks, 'chunks'>): void {
  for (const chunk of result.chunks) {
    assert.equal(chunk.ids.length, 77);
    assert.equal(chunk.weights.length, 77);
    assert.equal(chunk.ids[0], BOS);
    assert.ok(chunk.ids.slice(1).includes(EOS));
  }
}

test('the fixture weighting prompt gives per-token weights on one row', async () => {
  const tokenizer = await loadTokenizer();
  const { chunks } = tokenizer.tokenizeWeighted('(masterpiece:1.2), best quality, (red hair:0.8), [blurry]');
  assert.equal(chunks.length, 1);
  assert.deepEqual(chunks[0].ids.slice(0, 14), [BOS, 12066, 267, 949, 3027, 267, 736, 2225, 267, 314, 21977, 316, EOS, EOS]);
  assert.deepEqual(chunks[0].weights.slice(0, 13), [1, 1.2, 1, 1, 1, 1, 0.8, 0.8, 1, 1, 1, 1, 1]);
  assert.ok(chunks[0].weights.slice(13).every((w) => w === 1));
  assertRowShape({ chunks });
});

test('plain prompts match tokenizeSd15; the empty prompt is one row', async () => {
  const tokenizer = await loadTokenizer();
  const text = 'A Beautiful SUNSET over the Ocean, highly detailed, 8k';
  assert.deepEqual(tokenizer.tokenizeWeighted(text), {
    chunks: [{ ids: tokenizer.tokenizeSd15(text), weights: new Array(77).fill(1) }], ignoredEmbeddings: [] });
  assert.deepEqual(tokenizer.tokenizeWeighted('').chunks[0].ids, [BOS, ...new Array(76).fill(EOS)]);
});

test('200 words → 3 rows of BOS + 75 + EOS, the last one padded', async () => {
  const tokenizer = await loadTokenizer();
  const { chunks } = tokenizer.tokenizeWeighted('cat '.repeat(200));
  assert.equal(chunks.length, 3);
  assertRowShape({ chunks });
  for (const chunk of chunks.slice(0, 2)) assert.deepEqual(chunk.ids, [BOS, ...new Array(75).fill(CAT), EOS]);
  assert.deepEqual(chunks[2].ids, [BOS, ...new Array(50).fill(CAT), EOS, ...new Array(25).fill(EOS)]);
});

test('a short weighted segment that does not fit moves whole to the next row', async () => {
  const tokenizer = await loadTokenizer();
  const { chunks } = tokenizer.tokenizeWeighted(`${'cat '.repeat(74)}(dog dog dog:1.2)`);
  assert.equal(chunks.length, 2);
  assert.deepEqual(chunks[0].ids, [BOS, ...new Array(74).fill(CAT), EOS, EOS]);
  assert.deepEqual(chunks[1].ids.slice(0, 6), [BOS, DOG, DOG, DOG, EOS, EOS]);
  assert.deepEqual(chunks[1].weights.slice(0, 5), [1, 1.2, 1.2, 1.2, 1]);
});

test('a segment of 8+ tokens is split across rows', async () => {
  const tokenizer = await loadTokenizer();
  const { chunks } = tokenizer.tokenizeWeighted(`${'cat '.repeat(74)}(${'dog '.repeat(10)}:1.2)`);
  assert.equal(chunks.length, 2);
  assert.deepEqual(chunks[0].ids, [BOS, ...new Array(74).fill(CAT), DOG, EOS]);
  assert.equal(chunks[0].weights[75], 1.2);
  assert.deepEqual(chunks[1].ids.slice(0, 11), [BOS, ...new Array(9).fill(DOG), EOS]);
  assertRowShape({ chunks });
});

test('embedding:NAME is dropped like a missing ComfyUI embedding; the words after it stay', () => {
  const seen: string[] = [];
  const fake: ChunkingTokenizer = {
    encode: (text) => { seen.push(text); return text.split(/\s+/).filter(Boolean).map(() => 7); },
    bosId: 1, eosId: 2, padId: 0,
  };
  const result = chunkWeightedPrompt('a b embedding:foo c d, (embedding:bar,:1.2) embedding:', fake);
  assert.deepEqual(seen, ['a b', 'c d,', ', ', 'embedding:']); // Python ' '.join(str.split())
  assert.deepEqual(result.ignoredEmbeddings, ['foo', 'bar,']);
  assert.deepEqual(result.chunks[0].ids.slice(0, 9), [1, 7, 7, 7, 7, 7, 7, 2, 0]); // pad id comes from the tokenizer
  assert.deepEqual(result.chunks[0].weights.slice(0, 7), [1, 1, 1, 1, 1, 1.2, 1]);
});

test('applyTokenWeights: z ← (z − z_empty)·w + z_empty per token, w = 1 untouched', () => {
  const dims = { tokens: 3, channels: 2 };
  const empty = new Float32Array([1, 2, 3, 4, 5, 6]);
  const hidden = new Float32Array([0.1, 0.2, 3.5, 4.5, 7, 8, 10, 20, 30, 40, 50, 60]);
  const out = applyTokenWeights(hidden, empty, [1, 2, 0.5, 1.1, 1, 0], dims);
  const lerp = (z: number, e: number, w: number) => Math.fround(Math.fround(Math.fround(z - e) * Math.fround(w)) + e);
  const expected = [0.1, 0.2, lerp(3.5, 3, 2), lerp(4.5, 4, 2), lerp(7, 5, 0.5), lerp(8, 6, 0.5),
    lerp(10, 1, 1.1), lerp(20, 2, 1.1), 30, 40, 5, 6].map(Math.fround);
  assert.deepEqual([...out], expected);
  assert.deepEqual([...hidden.slice(0, 2)], [Math.fround(0.1), Math.fround(0.2)]); // input unchanged
  assert.throws(() => applyTokenWeights(hidden, empty, [1, 1, 1], dims), /shapes disagree/);
});
