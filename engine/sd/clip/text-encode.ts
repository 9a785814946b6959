// Prompt text → CLIP hidden states the way ComfyUI's CLIPTextEncode does it (sd15-reference.md §4.3):
// weighted 77-token chunks, one batched encoder call, token weights applied against the empty prompt,
// chunks concatenated along the token axis.
import type { Tensor } from '../../tensor/index.ts';
import type { SdRuntime, RuntimeLog } from '../runtime.ts';
import type { SdClip } from '../wire-types.ts';
import type { Checkpoint } from '../checkpoint/checkpoint.ts';
import { applyTokenWeights } from './prompt-weighting.ts';

/** CLIP hidden states [rows, 77, C] of token id rows, at layer `stopAtLayer` (-1 = last, final LN applied). */
export async function encodeTextIds(runtime: SdRuntime, checkpoint: Checkpoint, rows: number[][], stopAtLayer = -1, log?: RuntimeLog): Promise<Tensor> {
  const useLast = stopAtLayer === -1;
  const session = await runtime.networkSession(checkpoint, { kind: 'clip-text', options: useLast ? {} : { stopAtLayer } }, log);
  const ids = BigInt64Array.from(rows.flat(), (id) => BigInt(id));
  const result = await session.run({ input_ids: { dims: [rows.length, rows[0].length], data: ids, type: 'int64' } });
  return result[useLast ? 'last_hidden_state' : 'hidden_state'];
}

/** Encodes `text` into conditioning embeddings [1, 77·k, C]. */
export async function encodeText(runtime: SdRuntime, clip: SdClip, text: string, log?: RuntimeLog): Promise<Tensor> {
  const { chunks } = clip.tokenizer.tokenizeWeighted(text);
  const hidden = await encodeTextIds(runtime, clip.checkpoint, chunks.map((c) => c.ids), clip.stopAtLayer, log);
  const [rows, tokens, channels] = hidden.dims;
  const weights = chunks.flatMap((c) => c.weights);
  if (weights.some((w) => w !== 1)) {
    const empty = await encodeTextIds(runtime, clip.checkpoint, [clip.tokenizer.tokenizeSd15('')], clip.stopAtLayer, log);
    const weighted = applyTokenWeights(hidden.data, empty.data, weights, { tokens, channels });
    return { dims: [1, rows * tokens, channels], data: weighted };
  }
  return { dims: [1, rows * tokens, channels], data: hidden.data };
}
