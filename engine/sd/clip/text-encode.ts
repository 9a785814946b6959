// Prompt text → CLIP hidden states the way ComfyUI's CLIPTextEncode does it (sd15-reference.md §4.3):
// weighted 77-token chunks, one batched encoder call, token weights applied against the empty prompt,
// chunks concatenated along the token axis.
import type { Tensor } from '../../tensor/index.ts';
import type { SdRuntime, RuntimeLog } from '../runtime.ts';
import type { SdClip } from '../wire-types.ts';
import type { Checkpoint } from '../checkpoint/checkpoint.ts';
import { applyTokenWeights } from './prompt-weighting.ts';

/** CLIP hidden states [rows, 77, C] of token id rows, at layer `stopAtLayer` (-1 = last, final LN applied). */
export async function encodeTextIds(runtime: SdRuntime, checkpoint: Checkpoint, rows: number[][], stopAtLayer = -1, log?: RuntimeLog,
  extra: Float32Array[] = []): Promise<Tensor> {
  const useLast = stopAtLayer === -1;
  // Ids ≥ the vocabulary size pick rows of `extra` (textual inversion); its row count is rounded up to a multiple
  // of 8 so that a handful of graph variants serve every prompt.
  const extraRows = extra.length ? Math.ceil(extra.length / 8) * 8 : 0;
  const options = { ...(useLast ? {} : { stopAtLayer }), ...(extraRows ? { extraEmbeddings: extraRows } : {}) };
  const session = await runtime.networkSession(checkpoint, { kind: 'clip-text', options }, log);
  const ids = BigInt64Array.from(rows.flat(), (id) => BigInt(id));
  const feeds: Parameters<typeof session.run>[0] = { input_ids: { dims: [rows.length, rows[0].length], data: ids, type: 'int64' } };
  if (extraRows) {
    const width = checkpoint.config.clip.hiddenSize;
    const table = new Float32Array(extraRows * width);
    extra.forEach((v, i) => table.set(v, i * width));
    feeds.extra_embeddings = { dims: [extraRows, width], data: table };
  }
  const result = await session.run(feeds);
  return result[useLast ? 'last_hidden_state' : 'hidden_state'];
}

type EmbeddingLookup = (name: string) => Float32Array[] | null;

/** The prompt's weighted 77-token chunks; `embedding:NAME` vectors become ids from the vocabulary size on,
 *  whose rows are `extra`. */
function tokenizeWithEmbeddings(clip: SdClip, text: string, log?: RuntimeLog, embeddings?: EmbeddingLookup) {
  const vocab = clip.checkpoint.config.clip.vocabSize;
  const extra: Float32Array[] = [];
  const known = new Map<string, number[]>();
  const embeddingIds = embeddings && ((name: string): number[] | null => {
    if (!known.has(name)) {
      const vectors = embeddings(name);
      if (!vectors) return null;
      known.set(name, vectors.map((v) => vocab + extra.push(v) - 1));
    }
    return known.get(name)!;
  });
  const { chunks, ignoredEmbeddings } = clip.tokenizer.tokenizeWeighted(text, embeddingIds);
  for (const name of ignoredEmbeddings) log?.(`warning, embedding:${name} does not exist, ignoring`);
  return { chunks, extra };
}

/** Encodes `text` into conditioning embeddings [1, 77·k, C]; `embeddings` resolves `embedding:NAME` (embeddings.ts). */
export async function encodeText(runtime: SdRuntime, clip: SdClip, text: string, log?: RuntimeLog, embeddings?: EmbeddingLookup): Promise<Tensor> {
  const { chunks, extra } = tokenizeWithEmbeddings(clip, text, log, embeddings);
  const hidden = await encodeTextIds(runtime, clip.checkpoint, chunks.map((c) => c.ids), clip.stopAtLayer, log, extra);
  const [rows, tokens, channels] = hidden.dims;
  const weights = chunks.flatMap((c) => c.weights);
  if (weights.some((w) => w !== 1)) {
    const empty = await encodeTextIds(runtime, clip.checkpoint, [clip.tokenizer.tokenizeSd15('')], clip.stopAtLayer, log);
    const weighted = applyTokenWeights(hidden.data, empty.data, weights, { tokens, channels });
    return { dims: [1, rows * tokens, channels], data: weighted };
  }
  return { dims: [1, rows * tokens, channels], data: hidden.data };
}

/** CLIP's pooled output of `text` (ComfyUI encode_from_tokens(…, return_pooled="unprojected") for SD1.x): the last
 *  layer's hidden state, final LayerNorm applied, at the first end-of-text token of the first 77-token chunk,
 *  whatever the clip-skip setting; [C]. Prompt weights do not change it (they act on the hidden states). */
export async function encodePooled(runtime: SdRuntime, clip: SdClip, text: string, log?: RuntimeLog, embeddings?: EmbeddingLookup): Promise<Float32Array> {
  const { chunks, extra } = tokenizeWithEmbeddings(clip, text, log, embeddings);
  const ids = chunks[0].ids;
  const end = ids.indexOf(clip.tokenizer.eosId);
  if (end < 0) throw new Error('a tokenized prompt chunk has no end-of-text token');
  // Read off the last layer's states (the graph CLIPTextEncode uses); ids past the vocabulary (embeddings) would
  // defeat the pooled output's argmax-of-ids lookup of the end token.
  const hidden = await encodeTextIds(runtime, clip.checkpoint, [ids], -1, log, extra);
  const width = hidden.dims[2];
  return hidden.data.slice(end * width, (end + 1) * width);
}
