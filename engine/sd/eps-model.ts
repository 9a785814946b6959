// The UNet as the samplers' ε model (engine/sampling model.ts contract): builds encoder_hidden_states for
// the batched uncond/cond rows and makes exactly one UNet session run per model evaluation.
import { callChunks, type CondChunk, type EpsModel, type ModelCall } from '../sampling/index.ts';
import type { Tensor } from '../tensor/index.ts';
import type { ModelSession } from '../onnx/index.ts';
import type { Conditioning } from './wire-types.ts';
import { unetFeeds, UNET_OUTPUT } from './unet/unet-io.ts';
import type { Feeds } from './unet/unet-io.ts';

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The single text embedding a conditioning carries ([1, 77·k, C]). */
export function conditioningEmbeds(conditioning: Conditioning, label: string): Tensor {
  if (conditioning.length !== 1) {
    throw new Error(`${label}: expected one text conditioning, got ${conditioning.length} (combining conditionings is not supported)`);
  }
  return conditioning[0].embeds;
}

/** Row `r` of a [n, S, C] embedding repeated along tokens to `tokens` (ComfyUI pads unequal prompt
 *  lengths to their LCM by repetition). */
function repeatTokens(embeds: Tensor, r: number, tokens: number): Float32Array {
  const [, length, channels] = embeds.dims;
  const source = embeds.data.subarray(r * length * channels, (r + 1) * length * channels);
  const out = new Float32Array(tokens * channels);
  for (let offset = 0; offset < tokens; offset += length) out.set(source, offset * channels);
  return out;
}

/** encoder_hidden_states for `batch` latents per embedding, embeddings in order: an embedding with one
 *  row serves every latent, one with `batch` rows gives each latent its own text. */
export function stackEmbeddings(embeds: Tensor[], batch: number): Tensor {
  const channels = embeds[0].dims[2];
  for (const e of embeds) {
    if (e.dims[2] !== channels) throw new Error(`conditionings have different widths (${e.dims[2]} vs ${channels}): they come from different text encoders`);
    if (e.dims[0] !== 1 && e.dims[0] !== batch) throw new Error(`a conditioning has ${e.dims[0]} rows for a batch of ${batch} latents; use 1 or ${batch}`);
  }
  const tokens = embeds.map((e) => e.dims[1]).reduce((a, b) => (a * b) / gcd(a, b));
  const rowSize = tokens * channels;
  const out = new Float32Array(embeds.length * batch * rowSize);
  embeds.forEach((e, i) => {
    for (let r = 0; r < batch; r++) out.set(repeatTokens(e, e.dims[0] === 1 ? 0 : r, tokens), (i * batch + r) * rowSize);
  });
  return { dims: [embeds.length * batch, tokens, channels], data: out };
}

export interface GuidedUnet {
  session: ModelSession;
  positive: Tensor;
  negative: Tensor;
  /** Area composition: the embeddings of every entry per branch (ModelCall chunks index them); absent: the
   *  positive and negative above are entry 0. */
  entries?: { cond: readonly Tensor[]; uncond: readonly Tensor[] };
  /** Extra feeds per call (adapter features, σ gates, ControlNet hints), keyed by graph input name. */
  extraFeeds?: (call: ModelCall, rows: number) => Feeds;
}

function chunkEmbeds(unet: GuidedUnet, chunk: CondChunk): Tensor {
  const list = unet.entries?.[chunk.branch];
  const embeds = list ? list[chunk.entry] : chunk.entry === 0 ? (chunk.branch === 'cond' ? unet.positive : unet.negative) : undefined;
  if (!embeds) throw new Error(`the sampler asked for ${chunk.branch} entry ${chunk.entry}, which this conditioning does not have`);
  return embeds;
}

/** One UNet run per evaluation; rows are one group of B per chunk ([uncond…, cond…] or [cond…] without areas). */
export function createEpsModel(unet: GuidedUnet): EpsModel {
  const hiddenFor = new Map<string, Tensor>();
  return async (call) => {
    const rows = call.dims[0];
    const chunks = callChunks(call);
    const key = `${chunks.map((c) => `${c.branch}${c.entry}`).join(',')}:${rows}`;
    let hidden = hiddenFor.get(key);
    if (!hidden) {
      hidden = stackEmbeddings(chunks.map((c) => chunkEmbeds(unet, c)), rows / chunks.length);
      hiddenFor.set(key, hidden);
    }
    const timestep = new Float32Array(rows).fill(call.timestep);
    const result = await unet.session.run(
      {
        ...unetFeeds({ sample: { dims: call.dims, data: call.sample }, timestep: { dims: [rows], data: timestep }, encoderHiddenStates: hidden }),
        ...unet.extraFeeds?.(call, rows),
      },
      [UNET_OUTPUT],
    );
    return result[UNET_OUTPUT].data;
  };
}
