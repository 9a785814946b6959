// CLIP byte-level BPE tokenizer, following openai/CLIP clip/simple_tokenizer.py (sd15-reference.md §4.2),
// plus SD1.5's 77-token rule and ComfyUI's weighted, chunked prompts (prompt-weighting.ts, §4.3).
// ComfyUI itself tokenizes with transformers' CLIPTokenizer, which without ftfy installed falls back to a
// BERT-style cleaner and skips html.unescape; ordinary prompts give the same ids either way.
import { cleanClipText } from './tokenizer-clean.ts';
import { byteSymbols, END_TOKEN, loadClipVocabulary, START_TOKEN } from './tokenizer-vocab.ts';
import type { ClipVocabulary, VocabularyOptions } from './tokenizer-vocab.ts';
import { chunkWeightedPrompt } from './prompt-weighting.ts';
import type { WeightedChunks } from './prompt-weighting.ts';

export const CONTEXT_LENGTH = 77;
/** Content tokens per 77-token row: BOS + 75 + EOS. */
export const MAX_CONTENT_TOKENS = CONTEXT_LENGTH - 2;

export interface ClipTokenizer {
  /** Raw BPE ids of the cleaned text, without BOS/EOS. */
  encode(text: string): number[];
  /** SD1.5 / diffusers input_ids: `[BOS] + ids[:75] + [EOS]`, padded with EOS to 77. */
  tokenizeSd15(text: string): number[];
  /** ComfyUI weighting syntax and >75-token prompts: one or more 77-token rows with per-token weights. */
  tokenizeWeighted(text: string, embedding?: (name: string) => number[] | null): WeightedChunks;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  /** Where the vocabulary came from. */
  readonly source: string;
}

/** simple_tokenizer's pre-tokenising regex; `\s` there is Python `regex`'s, i.e. Unicode White_Space. */
const PIECE = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/giu;
const BPE_CACHE_LIMIT = 100_000;

/** Loads the vocabulary (see tokenizer-vocab.ts for the sources) and returns a tokenizer over it. */
export async function loadTokenizer(options: VocabularyOptions = {}): Promise<ClipTokenizer> {
  const vocabulary = await loadClipVocabulary(options);
  let tokenizer = tokenizers.get(vocabulary);
  if (!tokenizer) {
    tokenizer = createTokenizer(vocabulary);
    tokenizers.set(vocabulary, tokenizer);
  }
  return tokenizer;
}

/** One tokenizer (and so one BPE cache) per loaded vocabulary. */
const tokenizers = new WeakMap<ClipVocabulary, ClipTokenizer>();

export function createTokenizer(vocabulary: ClipVocabulary): ClipTokenizer {
  const bpe = bytePairEncoder(vocabulary);
  const bosId = tokenId(vocabulary, START_TOKEN);
  const eosId = tokenId(vocabulary, END_TOKEN);
  const encode = (text: string): number[] => encodeCleaned(cleanClipText(text), bpe);
  return {
    encode,
    tokenizeSd15: (text) => padSd15(encode(text), bosId, eosId),
    tokenizeWeighted: (text, embedding) => chunkWeightedPrompt(text, { encode, bosId, eosId, padId: eosId, embedding }),
    bosId,
    eosId,
    padId: eosId,
    source: vocabulary.source,
  };
}

function tokenId(vocabulary: ClipVocabulary, token: string): number {
  const id = vocabulary.encoder.get(token);
  if (id === undefined) throw new Error(`CLIP vocabulary from '${vocabulary.source}' has no token '${token}'`);
  return id;
}

/** `[BOS] + ids[:75] + [EOS]`, padded with EOS (SD1.5's pad token) to 77. */
export function padSd15(ids: number[], bosId: number, eosId: number): number[] {
  const row = [bosId, ...ids.slice(0, MAX_CONTENT_TOKENS), eosId];
  while (row.length < CONTEXT_LENGTH) row.push(eosId);
  return row;
}

const utf8 = new TextEncoder();
const { symbolOfByte } = byteSymbols();

/** Splits cleaned text into pieces, spells each piece's UTF-8 bytes as byte symbols, and BPE-encodes it. */
function encodeCleaned(cleaned: string, bpe: (piece: string) => number[]): number[] {
  const ids: number[] = [];
  for (const match of cleaned.matchAll(PIECE)) {
    let symbols = '';
    for (const byte of utf8.encode(match[0])) symbols += symbolOfByte[byte];
    for (const id of bpe(symbols)) ids.push(id);
  }
  return ids;
}

/** BPE over one piece with a cache, like simple_tokenizer.bpe (special tokens map to themselves). */
function bytePairEncoder(vocabulary: ClipVocabulary): (piece: string) => number[] {
  const cache = new Map<string, number[]>();
  return (piece) => {
    let ids = cache.get(piece);
    if (ids) return ids;
    const tokens = piece === START_TOKEN || piece === END_TOKEN ? [piece] : mergePiece(piece, vocabulary.mergeRanks);
    ids = tokens.map((token) => {
      const id = vocabulary.encoder.get(token);
      if (id === undefined) throw new Error(`CLIP vocabulary from '${vocabulary.source}' has no token '${token}'`);
      return id;
    });
    if (cache.size >= BPE_CACHE_LIMIT) cache.clear();
    cache.set(piece, ids);
    return ids;
  };
}

/** Splits into symbols (last one + `</w>`), then repeatedly merges the lowest-ranked adjacent pair everywhere. */
export function mergePiece(piece: string, ranks: Map<string, number>): string[] {
  let word = [...piece];
  word[word.length - 1] += '</w>';
  while (word.length > 1) {
    let best: string | undefined;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < word.length; i++) {
      const rank = ranks.get(`${word[i]} ${word[i + 1]}`);
      if (rank !== undefined && rank < bestRank) { bestRank = rank; best = `${word[i]} ${word[i + 1]}`; }
    }
    if (best === undefined) break;
    word = mergePair(word, best);
  }
  return word;
}

function mergePair(word: string[], pair: string): string[] {
  const merged: string[] = [];
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && `${word[i]} ${word[i + 1]}` === pair) {
      merged.push(word[i] + word[i + 1]);
      i++;
    } else {
      merged.push(word[i]);
    }
  }
  return merged;
}
