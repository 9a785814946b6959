// GLIGEN nodes (ComfyUI nodes.py GLIGENLoader, GLIGENTextBoxApply): load a GLIGEN "textbox" model from
// models/gligen, and attach boxes of text to a conditioning; the UNet grounds them when sampling (engine/sd/gligen/).
import { defineNode } from '../engine/graph/index.ts';
import type { DefinitionEnv } from '../engine/graph/index.ts';
import { openGligen, encodePooled, WEIGHT_FILE, GLIGEN_MAX_OBJECTS } from '../engine/sd/index.ts';
import type { Conditioning, SdGligen } from '../engine/sd/index.ts';
import { listModels, resolveModel } from './model-files.ts';
import { sdRuntime } from './sd-services.ts';
import { embeddingLookup } from './embeddings.ts';

const MAX_RESOLUTION = 16384;

/** GLIGEN files in models/gligen. */
export function listGligens(env: DefinitionEnv): string[] {
  return listModels(env.folders, 'gligen', { file: WEIGHT_FILE });
}

export const GLIGENLoader = defineNode({
  name: 'GLIGENLoader',
  displayName: 'GLIGENLoader',
  category: 'loaders',
  description: 'Loads a GLIGEN textbox model (.safetensors / .pth, ComfyUI\'s layout, e.g. gligen_sd14_textbox_pruned.safetensors) from models/gligen.',
  inputs: {
    required: {
      gligen_name: { kind: 'COMBO', options: listGligens, tooltip: 'The GLIGEN model in models/gligen.' },
    },
  },
  outputs: [{ type: 'GLIGEN' }],
  run({ gligen_name }, ctx) {
    const gligen = openGligen(resolveModel(ctx.folders, 'gligen', gligen_name));
    ctx.log(`${gligen_name}: ${gligen.fusers.length} gated attention blocks, ${gligen.keyDim}-wide grounding tokens`);
    const value: SdGligen = { gligen };
    return { outputs: [value] };
  },
});

export const GLIGENTextBoxApply = defineNode({
  name: 'GLIGENTextBoxApply',
  displayName: 'GLIGENTextBoxApply',
  category: 'conditioning/gligen',
  description: 'Places the text in a box of the image (pixels; x, y the top-left corner): the UNet\'s GLIGEN attention grounds it there when sampling. Chain it to add boxes (at most 30 per conditioning).',
  inputs: {
    required: {
      conditioning_to: { kind: 'LINK', type: 'CONDITIONING' },
      clip: { kind: 'LINK', type: 'CLIP' },
      gligen_textbox_model: { kind: 'LINK', type: 'GLIGEN' },
      text: { kind: 'STRING', multiline: true, dynamicPrompts: true, maxLength: 100_000 },
      width: { kind: 'INT', default: 64, min: 8, max: MAX_RESOLUTION, step: 8 },
      height: { kind: 'INT', default: 64, min: 8, max: MAX_RESOLUTION, step: 8 },
      x: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 8 },
      y: { kind: 'INT', default: 0, min: 0, max: MAX_RESOLUTION, step: 8 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  async run({ conditioning_to, clip, gligen_textbox_model, text, width, height, x, y }, ctx) {
    const textDim = clip.checkpoint.config.clip.hiddenSize;
    if (gligen_textbox_model.gligen.textDim !== textDim) {
      throw new Error(`the GLIGEN model ${gligen_textbox_model.gligen.path} takes ${gligen_textbox_model.gligen.textDim}-wide text features, this CLIP gives ${textDim}; it is for another base model`);
    }
    const pooled = await encodePooled(sdRuntime(ctx), clip, text, (m) => ctx.log(m), embeddingLookup(ctx.folders, textDim));
    // ComfyUI's position params: (pooled, height // 8, width // 8, y // 8, x // 8), appended to the entry's
    // earlier boxes; the newest GLIGEN model is the one used.
    const box = { text: pooled, height: Math.floor(height / 8), width: Math.floor(width / 8), y: Math.floor(y / 8), x: Math.floor(x / 8) };
    const out: Conditioning = conditioning_to.map((entry) => {
      const boxes = [...(entry.gligen?.boxes ?? []), box];
      if (boxes.length > GLIGEN_MAX_OBJECTS) throw new Error(`a conditioning can hold at most ${GLIGEN_MAX_OBJECTS} GLIGEN boxes; this would be box ${boxes.length}`);
      return { ...entry, gligen: { model: gligen_textbox_model, boxes } };
    });
    return { outputs: [out] };
  },
});

export const gligenNodes = [GLIGENLoader, GLIGENTextBoxApply];
