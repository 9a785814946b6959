// LoraLoader and LoraLoaderModelOnly (ComfyUI nodes.py): a LoRA from models/loras applied to MODEL (and CLIP)
// at a strength. The LoRA becomes low-rank branches of the graphs (engine/sd/lora.ts) and the strength a graph
// input, so a new strength reuses the built graph and loaded session; several loaders stack in order.
import { defineNode } from '../engine/graph/index.ts';
import type { DefinitionEnv, NodeContext } from '../engine/graph/index.ts';
import { openLora, loraCheckpoint, WEIGHT_FILE } from '../engine/sd/index.ts';
import type { Checkpoint, LoraFile, LoraStack } from '../engine/sd/index.ts';
import { listModels, resolveModel } from './model-files.ts';

/** LoRA files in models/loras (one level of subfolders, as ComfyUI). */
export function listLoras(env: DefinitionEnv): string[] {
  return listModels(env.folders, 'loras', { file: WEIGHT_FILE });
}

/** ComfyUI's strength inputs. */
const strength = (tooltip: string) => ({ kind: 'FLOAT' as const, default: 1.0, min: -100.0, max: 100.0, step: 0.01, tooltip });

function loadLora(ctx: NodeContext, name: string, base: Checkpoint): LoraFile {
  const lora = openLora(resolveModel(ctx.folders, 'loras', name), base);
  // As ComfyUI, keys that match no weight are reported, not fatal.
  const shown = lora.unmatched.slice(0, 8);
  for (const key of shown) ctx.log(`lora key not loaded: ${key}`);
  if (lora.unmatched.length > shown.length) ctx.log(`... and ${lora.unmatched.length - shown.length} more LoRA keys not loaded`);
  ctx.log(`${name}: ${lora.unet.size} UNet and ${lora.textEncoder.size} text encoder layers`);
  return lora;
}

/** Adds one LoRA to a checkpoint's stack for one network (the other network's stack stays empty). */
function stacked(checkpoint: Checkpoint, net: 'unet' | 'textEncoder', lora: LoraFile, value: number): Checkpoint {
  const previous: LoraStack = checkpoint.loras ?? { base: checkpoint, unet: [], textEncoder: [] };
  const stack: LoraStack = { base: previous.base, unet: [], textEncoder: [] };
  stack[net] = [...previous[net], { lora, strength: value }];
  return loraCheckpoint(stack);
}

export const LoraLoader = defineNode({
  name: 'LoraLoader',
  displayName: 'Load LoRA',
  category: 'loaders',
  description: 'Applies a LoRA (kohya/A1111, LoCon or diffusers/PEFT keys; .safetensors or .pt) from models/loras to the diffusion and CLIP models. Strengths are graph inputs: changing one rebuilds nothing.',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL', tooltip: 'The diffusion model the LoRA will be applied to.' },
      clip: { kind: 'LINK', type: 'CLIP', tooltip: 'The CLIP model the LoRA will be applied to.' },
      lora_name: { kind: 'COMBO', options: listLoras, tooltip: 'The name of the LoRA.' },
      strength_model: strength('How strongly to modify the diffusion model. This value can be negative.'),
      strength_clip: strength('How strongly to modify the CLIP model. This value can be negative.'),
    },
  },
  outputs: [
    { type: 'MODEL', tooltip: 'The modified diffusion model.' },
    { type: 'CLIP', tooltip: 'The modified CLIP model.' },
  ],
  run({ model, clip, lora_name, strength_model, strength_clip }, ctx) {
    if (strength_model === 0 && strength_clip === 0) return { outputs: [model, clip] };
    const lora = loadLora(ctx, lora_name, (model.checkpoint.loras?.base ?? model.checkpoint));
    // A LoRA with no layer for one of the networks leaves that one as it is.
    const newModel = strength_model === 0 || lora.unet.size === 0 ? model : { ...model, checkpoint: stacked(model.checkpoint, 'unet', lora, strength_model) };
    const newClip = strength_clip === 0 || lora.textEncoder.size === 0 ? clip : { ...clip, checkpoint: stacked(clip.checkpoint, 'textEncoder', lora, strength_clip) };
    return { outputs: [newModel, newClip] };
  },
});

export const LoraLoaderModelOnly = defineNode({
  name: 'LoraLoaderModelOnly',
  displayName: 'LoraLoaderModelOnly',
  category: 'loaders',
  description: 'Applies a LoRA from models/loras to the diffusion model only.',
  inputs: {
    required: {
      model: { kind: 'LINK', type: 'MODEL' },
      lora_name: { kind: 'COMBO', options: listLoras },
      strength_model: { kind: 'FLOAT', default: 1.0, min: -100.0, max: 100.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run({ model, lora_name, strength_model }, ctx) {
    if (strength_model === 0) return { outputs: [model] };
    const lora = loadLora(ctx, lora_name, model.checkpoint.loras?.base ?? model.checkpoint);
    if (lora.unet.size === 0) return { outputs: [model] };
    return { outputs: [{ ...model, checkpoint: stacked(model.checkpoint, 'unet', lora, strength_model) }] };
  },
});

export const loraNodes = [LoraLoader, LoraLoaderModelOnly];
