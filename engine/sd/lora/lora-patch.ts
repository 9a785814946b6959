// The UNet side of a LoRA stack as a model patch (../model-patch.ts): the branches are already in the checkpoint's
// weight source (lora.ts loraCheckpoint, so they are part of the graph and of its cache key through the checkpoint
// fingerprint); the patch adds no graph part and feeds the strengths, one per stacked LoRA (graph input
// LORA_STRENGTHS_INPUT), so a new strength reuses the built graph.
import { LORA_STRENGTHS_INPUT } from '../../onnx/index.ts';
import type { Checkpoint } from '../checkpoint/checkpoint.ts';
import type { ModelPatch } from '../model-patch.ts';
import { loraStrengths } from './lora.ts';

/** The LoRA patch of a checkpoint's UNet; undefined without UNet LoRAs (the graph then has no strengths input). */
export function loraPatch(checkpoint: Checkpoint): ModelPatch | undefined {
  // LoraLoader stacks only LoRAs with UNet layers, so a non-empty stack gives a graph with the input.
  const strengths = loraStrengths(checkpoint, 'unet');
  if (!strengths) return undefined;
  const feed = { dims: [strengths.length], data: strengths };
  return { kind: 'lora', prepare: () => ({ variant: {}, extraFeeds: () => ({ [LORA_STRENGTHS_INPUT]: feed }) }) };
}
