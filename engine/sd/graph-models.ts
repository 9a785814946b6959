// Built SD graphs through the on-disk graph cache: one call gives the model path for a checkpoint and
// options (building it on first use), ready for a SessionCache.
import { cachedModel } from '../onnx/index.ts';
import type { GraphBuilder } from '../onnx/index.ts';
import type { Checkpoint, VaeModel } from './checkpoint/checkpoint.ts';
import { buildClipTextGraph, CLIP_TEXT_GRAPH_VERSION } from './clip/clip-text.ts';
import type { ClipTextOptions } from './clip/clip-text.ts';
import { buildVaeEncoderGraph, buildVaeDecoderGraph, VAE_GRAPH_VERSION } from './vae/vae.ts';
import type { VaeOptions } from './vae/vae.ts';

export type SdGraph =
  | { kind: 'clip-text'; options?: ClipTextOptions }
  | { kind: 'vae-encoder'; options?: VaeOptions }
  | { kind: 'vae-decoder'; options?: VaeOptions };

function builderFor(checkpoint: Checkpoint | VaeModel, graph: SdGraph): { version: string; build: () => GraphBuilder } {
  switch (graph.kind) {
    case 'clip-text':
      if (!('textEncoder' in checkpoint)) throw new Error(`${checkpoint.path} is a VAE file: it has no text encoder`);
      return { version: CLIP_TEXT_GRAPH_VERSION, build: () => buildClipTextGraph(checkpoint, graph.options) };
    case 'vae-encoder': return { version: VAE_GRAPH_VERSION, build: () => buildVaeEncoderGraph(checkpoint, graph.options) };
    case 'vae-decoder': return { version: VAE_GRAPH_VERSION, build: () => buildVaeDecoderGraph(checkpoint, graph.options) };
  }
}

/** Path of the built model for this checkpoint + graph + options; `built` says whether it was built now. */
export function sdModelPath(cacheDir: string, checkpoint: Checkpoint | VaeModel, graph: SdGraph): { path: string; built: boolean } {
  const { version, build } = builderFor(checkpoint, graph);
  return cachedModel(cacheDir, {
    name: graph.kind,
    checkpoints: [checkpoint.fingerprint],
    variant: { version, options: graph.options ?? {}, config: checkpoint.config },
  }, build);
}
