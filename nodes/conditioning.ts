// Text conditioning nodes (comfyui-api.md §7.1): CLIPTextEncode and CLIPSetLastLayer ("clip skip").
import { defineNode } from '../engine/graph/index.ts';
import { encodeText } from '../engine/sd/index.ts';
import { sdRuntime } from './sd-services.ts';
import { embeddingLookup } from './embeddings.ts';

export const CLIPTextEncode = defineNode({
  name: 'CLIPTextEncode',
  displayName: 'CLIP Text Encode (Prompt)',
  category: 'conditioning',
  description: 'Encodes a text prompt with a CLIP model into conditioning that guides the diffusion model. Supports (word:1.2) weights, prompts longer than 75 tokens and embedding:NAME (textual inversion from models/embeddings).',
  inputs: {
    required: {
      text: { kind: 'STRING', multiline: true, dynamicPrompts: true, maxLength: 100_000, tooltip: 'The text to be encoded.' },
      clip: { kind: 'LINK', type: 'CLIP', tooltip: 'The CLIP model used for encoding the text.' },
    },
  },
  outputs: [{ type: 'CONDITIONING', tooltip: 'A conditioning containing the embedded text used to guide the diffusion model.' }],
  async run({ text, clip }, ctx) {
    const embeddings = embeddingLookup(ctx.folders, clip.checkpoint.config.clip.hiddenSize);
    const embeds = await encodeText(sdRuntime(ctx), clip, text, (m) => ctx.log(m), embeddings);
    return { outputs: [[{ embeds }]] };
  },
});

export const CLIPSetLastLayer = defineNode({
  name: 'CLIPSetLastLayer',
  displayName: 'CLIP Set Last Layer',
  category: 'conditioning',
  description: 'Uses the output of an earlier CLIP layer (-2 = "clip skip 2"), with the final layer norm applied as ComfyUI does.',
  inputs: {
    required: {
      clip: { kind: 'LINK', type: 'CLIP' },
      stop_at_clip_layer: { kind: 'INT', default: -1, min: -24, max: -1, step: 1 },
    },
  },
  outputs: [{ type: 'CLIP' }],
  run({ clip, stop_at_clip_layer }) {
    const layers = clip.checkpoint.config.clip.layers;
    if (-stop_at_clip_layer > layers) {
      throw new Error(`stop_at_clip_layer ${stop_at_clip_layer} is deeper than this text encoder's ${layers} layers; use -1 … -${layers}`);
    }
    return { outputs: [{ ...clip, stopAtLayer: stop_at_clip_layer }] };
  },
});

export const conditioningNodes = [CLIPTextEncode, CLIPSetLastLayer];
