// ComfyUI prompt weighting and long-prompt chunking (comfy/sd1_clip.py; sd15-reference.md §4.3):
// `(text)` ×1.1 per level, `(text:1.3)` sets an absolute weight, `\(` `\)` are literal; rows of 77 tokens.
export interface WeightedChunk {
  /** 77 token ids: BOS, up to 75 tokens, EOS, then pad. */
  ids: number[];
  /** 77 weights, 1 for BOS/EOS/pad. */
  weights: number[];
}

export interface WeightedChunks {
  chunks: WeightedChunk[];
  /** `embedding:NAME` references with no such embedding, dropped (ComfyUI warns and drops them). */
  ignoredEmbeddings: string[];
}

export interface ChunkingTokenizer {
  /** Raw BPE ids of a piece of text (no BOS/EOS). */
  encode(text: string): number[];
  bosId: number;
  eosId: number;
  padId: number;
  /** Token ids standing for a textual-inversion embedding's vectors (one per vector); null when there is none. */
  embedding?(name: string): number[] | null;
}

export interface WeightedSegment {
  text: string;
  weight: number;
}

const ROW_LENGTH = 77;
/** A segment with at least this many tokens may be split across rows; shorter ones move whole. */
const MAX_WORD_LENGTH = 8;
const EMBEDDING_MARKER = 'embedding:';
// `\)` and `\(` are hidden behind control characters while parsing, as ComfyUI does.
const ESCAPED_CLOSE = '\0\u0001';
const ESCAPED_OPEN = '\0\u0002';

/** Splits a prompt into (text, weight) segments exactly as ComfyUI's token_weights does. */
export function parsePromptWeights(prompt: string): WeightedSegment[] {
  const escaped = prompt.replaceAll('\\)', ESCAPED_CLOSE).replaceAll('\\(', ESCAPED_OPEN);
  return tokenWeights(escaped, 1.0).map(({ text, weight }) => ({
    text: text.replaceAll(ESCAPED_CLOSE, ')').replaceAll(ESCAPED_OPEN, '('),
    weight,
  }));
}

function tokenWeights(text: string, currentWeight: number): WeightedSegment[] {
  const out: WeightedSegment[] = [];
  for (const item of splitParentheses(text)) {
    if (item.length >= 2 && item.startsWith('(') && item.endsWith(')')) {
      let inner = item.slice(1, -1);
      let weight = currentWeight * 1.1;
      const colon = inner.lastIndexOf(':');
      if (colon > 0) {
        const explicit = parsePythonFloat(inner.slice(colon + 1));
        if (explicit !== undefined) {
          if (!Number.isFinite(explicit)) {
            throw new Error(`prompt weight '${inner.slice(colon + 1).trim()}' in '${item}' is not a finite number; `
              + 'use a number such as (word:1.2)');
          }
          weight = explicit;
          inner = inner.slice(0, colon);
        }
      }
      out.push(...tokenWeights(inner, weight));
    } else {
      out.push({ text: item, weight: currentWeight });
    }
  }
  return out;
}

/**
 * ComfyUI's parse_parentheses: top-level `( … )` groups become their own items. Unbalanced parentheses are not
 * an error there: a stray `)` drives the depth negative and the rest of the text stays literal, as here.
 */
function splitParentheses(text: string): string[] {
  const result: string[] = [];
  let current = '';
  let depth = 0;
  for (const char of text) {
    if (char === '(') {
      if (depth === 0) {
        if (current) result.push(current);
        current = '(';
      } else {
        current += char;
      }
      depth++;
    } else if (char === ')') {
      depth--;
      if (depth === 0) {
        result.push(`${current})`);
        current = '';
      } else {
        current += char;
      }
    } else {
      current += char;
    }
  }
  if (current) result.push(current);
  return result;
}

/** Python float(): surrounding whitespace, sign, `_` between digits, exponent, inf/nan; undefined if invalid. */
export function parsePythonFloat(text: string): number | undefined {
  const trimmed = text.replace(/^[\p{White_Space}\x1c-\x1f]+|[\p{White_Space}\x1c-\x1f]+$/gu, '');
  const digits = '\\d+(?:_\\d+)*';
  const numeric = new RegExp(`^[+-]?(?:${digits}(?:\\.(?:${digits})?)?|\\.${digits})(?:[eE][+-]?${digits})?$`);
  if (numeric.test(trimmed)) return Number(trimmed.replaceAll('_', ''));
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(trimmed);
  if (!special) return undefined;
  if (special[2].toLowerCase() === 'nan') return NaN;
  return special[1] === '-' ? -Infinity : Infinity;
}

interface TokenGroup {
  ids: number[];
  weight: number;
}

/**
 * Tokenizes each weighted segment; ComfyUI first splits it at ` embedding:` / `\nembedding:`. `embedding:NAME`
 * becomes the embedding's ids (tokenizer.embedding) as one group; with no such embedding NAME is dropped (and
 * reported), as in ComfyUI; the words after it are kept.
 */
function tokenGroups(segments: WeightedSegment[], tokenizer: ChunkingTokenizer, ignored: string[]): TokenGroup[] {
  const groups: TokenGroup[] = [];
  for (const { text, weight } of segments) {
    const parts = text.split(/ embedding:|\nembedding:/);
    const words = [parts[0], ...parts.slice(1).map((part) => EMBEDDING_MARKER + part)].filter((word) => word !== '');
    for (const word of words) {
      const rest = word.startsWith(EMBEDDING_MARKER) ? embeddingWord(word, tokenizer, ignored, (ids) => groups.push({ ids, weight })) : word;
      if (rest !== '') groups.push({ ids: tokenizer.encode(rest), weight });
    }
  }
  return groups;
}

/**
 * ComfyUI's _try_get_embedding: the embedding NAME (then NAME without surrounding commas) as one group via `found`;
 * returns the text left after the name.
 */
function embeddingWord(word: string, tokenizer: ChunkingTokenizer, ignored: string[], found: (ids: number[]) => void): string {
  const fields = word.slice(EMBEDDING_MARKER.length).replace(/^\n+|\n+$/g, '').split(/[\p{White_Space}\x1c-\x1f]+/u)
    .filter((field) => field !== '');
  if (fields.length === 0) return word; // ComfyUI fails on a bare "embedding:"; keep it as text instead
  const [name, ...after] = fields;
  const leftover = after.join(' ');
  const direct = tokenizer.embedding?.(name);
  if (direct) { found(direct); return leftover; }
  const stripped = name.replace(/^,+|,+$/g, '');
  const retry = stripped.length < name.length && stripped !== '' ? tokenizer.embedding?.(stripped) : null;
  if (retry) { found(retry); return `${name.slice(stripped.length)} ${leftover}`.trim(); }
  ignored.push(name);
  return stripped.length < name.length ? `${name.slice(stripped.length)} ${leftover}` : leftover;
}

/** ComfyUI's tokenize_with_weights for SD1.5: rows of BOS + ≤75 tokens + EOS, padded. */
export function chunkWeightedPrompt(prompt: string, tokenizer: ChunkingTokenizer): WeightedChunks {
  const rows: Array<Array<[number, number]>> = [];
  let row: Array<[number, number]> = [[tokenizer.bosId, 1]];
  rows.push(row);
  const ignoredEmbeddings: string[] = [];
  for (const group of tokenGroups(parsePromptWeights(prompt), tokenizer, ignoredEmbeddings)) {
    const isLarge = group.ids.length >= MAX_WORD_LENGTH;
    let rest = group.ids.map((id): [number, number] => [id, group.weight]);
    while (rest.length > 0) {
      if (rest.length + row.length <= ROW_LENGTH - 1) {
        row.push(...rest);
        rest = [];
        continue;
      }
      const room = ROW_LENGTH - 1 - row.length;
      if (isLarge) {
        row.push(...rest.slice(0, room), [tokenizer.eosId, 1]);
        rest = rest.slice(room);
      } else {
        row.push([tokenizer.eosId, 1], ...Array.from({ length: room }, (): [number, number] => [tokenizer.padId, 1]));
      }
      row = [[tokenizer.bosId, 1]];
      rows.push(row);
    }
  }
  row.push([tokenizer.eosId, 1]);
  while (row.length < ROW_LENGTH) row.push([tokenizer.padId, 1]);
  const chunks = rows.map((r) => ({ ids: r.map(([id]) => id), weights: r.map(([, weight]) => weight) }));
  return { chunks, ignoredEmbeddings };
}

export interface HiddenDims {
  /** Tokens per row (77). */
  tokens: number;
  /** Channels per token (768 for SD1.5). */
  channels: number;
}

/**
 * ComfyUI's weighting of encoded rows (sd1_clip encode_token_weights): for each token j of row k with weight
 * w ≠ 1, z[k][j] ← (z[k][j] − z_empty[j]) · w + z_empty[j], where z_empty is the encoding of the empty prompt
 * `[BOS, EOS, pad…]`. `hidden` is [rows, tokens, channels] (rows concatenated), `emptyHidden` is [tokens, channels],
 * `weights` has rows·tokens entries. Computed in float32 like torch. Returns a new array.
 */
export function applyTokenWeights(hidden: Float32Array, emptyHidden: Float32Array,
  weights: ArrayLike<number>, dims: HiddenDims): Float32Array {
  const rowSize = dims.tokens * dims.channels;
  if (emptyHidden.length !== rowSize || hidden.length % rowSize !== 0 || weights.length * dims.channels !== hidden.length) {
    throw new Error(`applyTokenWeights: shapes disagree: hidden ${hidden.length} values, empty ${emptyHidden.length}, `
      + `${weights.length} weights, expected [rows, ${dims.tokens}, ${dims.channels}] with one weight per token`);
  }
  const out = Float32Array.from(hidden);
  for (let t = 0; t < weights.length; t++) {
    const weight = Math.fround(weights[t]);
    if (weights[t] === 1) continue; // ComfyUI leaves weight-1 tokens untouched (no rounding through the lerp)
    const base = t * dims.channels;
    const emptyBase = (t % dims.tokens) * dims.channels;
    for (let c = 0; c < dims.channels; c++) {
      const empty = emptyHidden[emptyBase + c];
      out[base + c] = Math.fround(Math.fround(out[base + c] - empty) * weight) + empty;
    }
  }
  return out;
}
