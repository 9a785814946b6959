// The LoRA contracts the checkpoint names (Checkpoint.loras), kept apart from lora.ts's code so that
// checkpoint/ can name them without importing it back.
import type { WeightRef } from '../../onnx/index.ts';

/** One low-rank module of a LoRA file, matched to a weight of the model. */
export interface LoraModule {
  key: string;
  down: WeightRef;
  up: WeightRef;
  /** alpha / rank, or 1 without alpha (as ComfyUI). */
  scale: number;
}

/** A LoRA file opened against one base checkpoint: its modules by diffusers weight name, per network. */
export interface LoraFile {
  path: string;
  fingerprint: string;
  unet: Map<string, LoraModule>;
  textEncoder: Map<string, LoraModule>;
  /** LoRA keys that match no weight of the model (ComfyUI logs "lora key not loaded"). */
  unmatched: string[];
}

/** A LoRA applied to a model (the stack is kept in order; the graph's strength slot is its index). */
export interface AppliedLora {
  lora: LoraFile;
  strength: number;
}
